#include "conf/redirect_map.h"

namespace edge::conf {

RedirectMap::RedirectMap(const std::vector<RedirectRule>& rules) {
  for (size_t i = 0; i < rules.size(); ++i) {
    const RedirectRule& r = rules[i];
    const bool exact = !r.from.empty();
    const std::string& path = exact ? r.from : r.from_prefix;
    if (path.empty()) continue;  // an invalid rule the loader already reported
    Node& n = nodes_[addPath(path)];
    int32_t& slot = exact ? n.exact : n.prefix;
    if (slot < 0) slot = static_cast<int32_t>(i);
  }
}

uint32_t RedirectMap::child(uint32_t node, unsigned char c) const {
  for (const auto& [byte, index] : nodes_[node].next)
    if (byte == c) return index;
  return 0;
}

uint32_t RedirectMap::addPath(std::string_view path) {
  uint32_t node = 0;
  for (char ch : path) {
    const auto c = static_cast<unsigned char>(ch);
    uint32_t next = child(node, c);
    if (next == 0) {
      next = static_cast<uint32_t>(nodes_.size());
      nodes_[node].next.emplace_back(c, next);
      nodes_.emplace_back();
    }
    node = next;
  }
  return node;
}

RedirectMatch RedirectMap::match(std::string_view path) const {
  RedirectMatch best;
  uint32_t node = 0;
  size_t depth = 0;
  while (true) {
    const Node& n = nodes_[node];
    if (n.prefix >= 0) best = RedirectMatch{n.prefix, depth};
    if (depth == path.size()) {
      if (n.exact >= 0) return RedirectMatch{n.exact, depth};
      return best;
    }
    node = child(node, static_cast<unsigned char>(path[depth]));
    if (node == 0) return best;
    ++depth;
  }
}

bool isAbsoluteUrl(std::string_view s) {
  return s.starts_with("http://") || s.starts_with("https://");
}

std::string redirectTarget(const RedirectRule& rule, std::string_view rest, bool has_query,
                           std::string_view query) {
  std::string out = rule.to;
  if (!rule.from_prefix.empty()) {
    // "/blog/" -> "https://blog.example.com/" with rest "a/b": no doubled or
    // missing slash when exactly one side has it.
    if (!out.empty() && out.back() == '/' && !rest.empty() && rest.front() == '/') {
      rest.remove_prefix(1);
    }
    out.append(rest);
  }
  if (has_query && !query.empty()) {
    out.push_back(out.find('?') == std::string::npos ? '?' : '&');
    out.append(query);
  }
  return out;
}

std::string absoluteTarget(std::string_view origin, std::string_view target) {
  if (isAbsoluteUrl(target)) return std::string(target);
  std::string out(origin);
  out.append(target);
  return out;
}

}  // namespace edge::conf
