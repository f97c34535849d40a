#include "cache/key.h"

#include <algorithm>

#include "cache/http_fields.h"
#include "gateway/http1/parser.h"

namespace edge::cache {
namespace {

void appendHost(std::string_view host, std::string& out) {
  // Strip a port (not inside an IPv6 literal) and one trailing dot.
  size_t colon = host.rfind(':');
  if (colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos)
    host = host.substr(0, colon);
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  for (char c : host) out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c);
}

bool ignored(std::string_view param, const std::vector<std::string>& ignore) {
  std::string_view name = param.substr(0, param.find('='));
  for (const auto& i : ignore)
    if (name == i) return true;
  return false;
}

}  // namespace

void buildKey(std::string_view host, std::string_view path, std::string_view query, bool has_query,
              const std::vector<std::string>& ignore, std::string& out) {
  out.clear();
  appendHost(host, out);
  out.append(path.empty() ? std::string_view("/") : path);
  if (!has_query) return;
  if (ignore.empty()) {
    out.push_back('?');
    out.append(query);
    return;
  }
  bool first = true;
  while (true) {
    size_t amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    if (!param.empty() && !ignored(param, ignore)) {
      out.push_back(first ? '?' : '&');
      out.append(param);
      first = false;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
}

bool keyFromUrl(std::string_view url, const std::vector<std::string>& ignore, std::string& out) {
  size_t scheme = url.find("://");
  if (scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  size_t slash = url.find_first_of("/?");
  std::string_view host = url.substr(0, slash);
  if (host.empty()) return false;
  std::string_view rest = slash == std::string_view::npos ? std::string_view() : url.substr(slash);
  size_t q = rest.find('?');
  std::string_view path = rest.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : rest.substr(q + 1);
  buildKey(host, path, query, q != std::string_view::npos, ignore, out);
  return true;
}

std::string normalizeVaryValue(std::string_view name, std::string_view value) {
  if (!http1::iequals(name, "accept-encoding")) return std::string(value);
  // Only the codings that matter, sorted: everything else is one variant.
  static const char* const kCodings[] = {"br", "gzip", "zstd", "deflate"};
  std::string out;
  for (const char* c : kCodings) {
    for (auto item : splitList(value)) {
      std::string_view coding = item.substr(0, item.find(';'));
      while (!coding.empty() && coding.back() == ' ') coding.remove_suffix(1);
      if (!http1::iequals(coding, c)) continue;
      // "gzip;q=0" refuses the coding.
      size_t q = item.find("q=");
      if (q != std::string_view::npos &&
          item.substr(q + 2).find_first_not_of("0.") == std::string_view::npos)
        continue;
      if (!out.empty()) out.push_back(',');
      out.append(c);
      break;
    }
  }
  return out;
}

}  // namespace edge::cache
