// The sites section: hosts, canonical redirects, the redirect map and routes,
// with the cross-checks that need the whole file (a host in two sites, routes
// naming missing upstreams or policies, redirect rules that would loop).
#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "conf/loader.h"
#include "conf/reader.h"
#include "conf/redirect_map.h"
#include "conf/sections.h"
#include "conf/values.h"

namespace edge::conf::detail {
namespace {

std::string quote(std::string_view s) {
  return "'" + std::string(s) + "'";
}

// The gateway ignores one trailing dot of a Host, so "a.com." and "a.com" are
// the same site.
std::string hostKey(std::string_view host) {
  std::string h = toLower(host);
  if (!h.empty() && h.back() == '.') h.pop_back();
  return h;
}

// Host names, IPv4 literals and IPv6 literals (with or without brackets).
// A port is refused: hosts are matched with the port stripped.
std::string hostProblem(const std::string& host) {
  if (host.empty()) return "a host is empty";
  if (host.find('*') != std::string::npos) {
    return quote(host) + ": wildcard hosts are not supported: list each host";
  }
  const size_t colons = std::count(host.begin(), host.end(), ':');
  if (colons == 1) {
    return quote(host) + ": hosts are matched without the port: write " +
           quote(host.substr(0, host.find(':')));
  }
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                    c == '_' || (colons > 1 && (c == ':' || c == '[' || c == ']'));
    if (!ok) return quote(host) + " is not a valid host name";
  }
  return "";
}

// The registered names of a section, for "did you mean".
template <class Map>
std::vector<std::string> namesOf(const Map& m) {
  std::vector<std::string> out;
  for (const auto& kv : m) out.push_back(kv.first);
  return out;
}

void checkReference(Ctx& ctx, const Node& at, const std::string& name, std::string_view what,
                    std::string_view section, const std::vector<std::string>& known) {
  std::string message =
      std::string(what) + " " + quote(name) + " is not defined in " + std::string(section);
  const std::string near = closestMatch(name, known);
  if (!near.empty()) message += "; did you mean " + quote(near) + "?";
  ctx.error(at, message);
}

bool checkPath(Ctx& ctx, const Node& at, std::string_view what, const std::string& path) {
  if (path.empty() || path[0] != '/') {
    ctx.error(at, std::string(what) + " must start with '/', got " + quote(path));
    return false;
  }
  if (std::any_of(path.begin(), path.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; })) {
    ctx.error(at, std::string(what) + " must not contain spaces or control characters");
    return false;
  }
  return true;
}

void parseRoute(Ctx& ctx, const Node& node, const std::string& siteWhere, const Config& config,
                Route& r) {
  Fields f(ctx, node, siteWhere + " route",
           {"name", "match", "upstream", "rate_limit", "cache", "slo_p95"});
  if (!f.isMap() && !node.isNull()) return;
  if (f.require("name")) {
    f.str("name", r.name);
    if (r.name.empty() && f.get("name")->isScalar())
      ctx.error(*f.get("name"), "route name is empty");
  }
  const std::string where = "route " + quote(r.name);
  if (f.require("match")) {
    const Node& m = *f.get("match");
    Fields mf(ctx, m, where + " match", {"path", "path_prefix", "methods"});
    if (mf.isMap() || m.isNull()) {
      const bool hasPath = mf.has("path");
      const bool hasPrefix = mf.has("path_prefix");
      if (hasPath && hasPrefix) {
        ctx.error(*mf.entry("path_prefix"),
                  where + ": match takes path (exact) or path_prefix, not both");
      } else if (!hasPath && !hasPrefix) {
        ctx.error(m, where + ": match needs path (exact) or path_prefix, e.g. path_prefix: /");
      }
      for (const char* key : {"path", "path_prefix"}) {
        std::string value;
        mf.str(key, value);
        if (const Node* n = mf.get(key); n && n->isScalar() && checkPath(ctx, *n, key, value)) {
          (std::string_view(key) == "path" ? r.match.path : r.match.path_prefix) = value;
        }
      }
      if (const Node* n = mf.get("methods")) {
        if (auto methods = readStringList(ctx, *n, "methods", true)) {
          for (size_t i = 0; i < methods->size(); ++i) {
            const std::string upper = [&] {
              std::string s = (*methods)[i];
              for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
              return s;
            }();
            if (!isToken(upper)) {
              ctx.error(n->isSequence() ? n->items[i] : *n,
                        "methods: " + quote((*methods)[i]) +
                            " is not an HTTP method: write e.g. GET, POST");
              continue;
            }
            if (std::find(r.match.methods.begin(), r.match.methods.end(), upper) ==
                r.match.methods.end()) {
              r.match.methods.push_back(upper);
            }
          }
        }
      }
    }
  }
  if (f.require("upstream")) {
    const Node& n = *f.get("upstream");
    if (auto v = readString(ctx, n, "upstream")) {
      r.upstream = *v;
      if (config.upstreams.count(*v) == 0) {
        checkReference(ctx, n, *v, where + ": upstream", "upstreams", namesOf(config.upstreams));
      }
    }
  }
  if (const Node* n = f.get("rate_limit")) {
    if (auto names = readStringList(ctx, *n, "rate_limit", true)) {
      r.rate_limit = *names;
      for (size_t i = 0; i < names->size(); ++i) {
        if (config.rate_limits.policies.count((*names)[i]) == 0) {
          checkReference(ctx, n->isSequence() ? n->items[i] : *n, (*names)[i],
                         where + ": rate_limit policy", "rate_limits.policies",
                         namesOf(config.rate_limits.policies));
        }
      }
    }
  }
  if (const Node* n = f.get("cache")) {
    if (auto v = readString(ctx, *n, "cache")) {
      r.cache = *v;
      if (config.cache.policies.count(*v) == 0) {
        checkReference(ctx, *n, *v, where + ": cache policy", "cache.policies",
                       namesOf(config.cache.policies));
      }
    }
  }
  f.duration("slo_p95", r.slo_p95, false);
}

void parseRedirect(Ctx& ctx, const Node& node, RedirectRule& r) {
  Fields f(ctx, node, "redirect", {"from", "from_prefix", "to", "status"});
  if (!f.isMap() && !node.isNull()) return;
  const bool hasFrom = f.has("from");
  const bool hasPrefix = f.has("from_prefix");
  if (hasFrom && hasPrefix) {
    ctx.error(*f.entry("from_prefix"),
              "a redirect takes from (exact path) or from_prefix, not both");
  } else if (!hasFrom && !hasPrefix) {
    ctx.error(node, "a redirect needs from (exact path) or from_prefix");
  }
  for (const char* key : {"from", "from_prefix"}) {
    std::string value;
    f.str(key, value);
    if (const Node* n = f.get(key); n && n->isScalar() && checkPath(ctx, *n, key, value)) {
      (std::string_view(key) == "from" ? r.from : r.from_prefix) = value;
    }
  }
  if (f.require("to")) {
    const Node& n = *f.get("to");
    if (auto v = readString(ctx, n, "to")) {
      const bool ok = (!v->empty() && (*v)[0] == '/' && v->rfind("//", 0) != 0) ||
                      v->rfind("http://", 0) == 0 || v->rfind("https://", 0) == 0;
      if (!ok) {
        ctx.error(n, "to: " + quote(*v) +
                         " must be a path starting with '/' or an http:// or https:// URL");
      } else {
        r.to = *v;
      }
    }
  }
  if (const Node* n = f.get("status")) {
    if (auto v = readUint(ctx, *n, "status")) {
      if (*v == 301 || *v == 302 || *v == 303 || *v == 307 || *v == 308) {
        r.status = static_cast<int>(*v);
      } else {
        ctx.error(*n, "status: " + n->scalar +
                          " is not a redirect status: use 301, 302, 303, "
                          "307 or 308");
      }
    }
  }
}

void parseHeaders(Ctx& ctx, const Node& node, const std::string& where, Site& s) {
  Fields f(ctx, node, where + " response_headers", {"set", "remove"});
  if (const Node* n = f.get("set")) {
    for (const MapEntry* e : readNamedMap(ctx, *n, "response_headers.set")) {
      if (!isToken(e->key)) {
        ctx.error(*e, "response_headers.set: " + quote(e->key) + " is not a header name");
        continue;
      }
      auto value = readString(ctx, e->value, e->key);
      if (!value) continue;
      if (value->find_first_of("\r\n") != std::string::npos) {
        ctx.error(e->value, e->key + ": a header value must not contain line breaks");
        continue;
      }
      // Header names are case-insensitive: "X-A" and "x-a" would fight.
      const std::string lower = toLower(e->key);
      const auto same = [&](const auto& kv) { return toLower(kv.first) == lower; };
      if (std::any_of(s.response_headers_set.begin(), s.response_headers_set.end(), same)) {
        ctx.error(*e, "response_headers.set: " + quote(e->key) +
                          " is set twice (header names ignore case)");
        continue;
      }
      s.response_headers_set.emplace_back(e->key, *value);
    }
  }
  if (const Node* n = f.get("remove")) {
    if (auto names = readStringList(ctx, *n, "response_headers.remove")) {
      for (size_t i = 0; i < names->size(); ++i) {
        if (!isToken((*names)[i])) {
          ctx.error(n->items[i],
                    "response_headers.remove: " + quote((*names)[i]) + " is not a header name");
        } else {
          s.response_headers_remove.push_back((*names)[i]);
        }
      }
    }
  }
}

// Where a duplicate name is reported: at its `name:` value when there is one.
const Node& namePosition(const Node& item) {
  for (const MapEntry& e : item.entries) {
    if (e.key == "name") return e.value;
  }
  return item;
}

struct HostOwner {
  std::string site;
  int line;
  size_t index;  // into Config::sites
};

void parseSite(Ctx& ctx, const Node& node, const Config& config,
               std::map<std::string, HostOwner>& hostOwners, Site& s,
               std::vector<const Node*>& redirectNodes) {
  Fields f(ctx, node, "site",
           {"name", "hosts", "canonical_host", "aliases", "https_redirect", "https_port",
            "redirect_status", "hsts", "response_headers", "redirects", "routes"});
  if (!f.isMap() && !node.isNull()) return;
  if (f.require("name")) {
    f.str("name", s.name);
    if (s.name.empty() && f.get("name")->isScalar())
      ctx.error(*f.get("name"), "site name is empty");
  }
  const std::string where = "site " + quote(s.name);
  std::set<std::string> siteHosts;  // hostKey form
  if (f.require("hosts")) {
    const Node& list = *f.get("hosts");
    if (auto hosts = readStringList(ctx, list, "hosts")) {
      if (hosts->empty())
        ctx.error(list, where + ": hosts is empty: list the Host names it serves");
      for (size_t i = 0; i < hosts->size(); ++i) {
        const Node& at = list.items[i];
        const std::string host = toLower((*hosts)[i]);
        if (std::string problem = hostProblem(host); !problem.empty()) {
          ctx.error(at, "hosts: " + problem);
          continue;
        }
        const std::string key = hostKey(host);
        if (!siteHosts.insert(key).second) {
          ctx.error(at, where + ": host " + quote(host) + " is listed twice");
          continue;
        }
        auto [it, inserted] =
            hostOwners.emplace(key, HostOwner{s.name, at.line, config.sites.size()});
        if (!inserted) {
          ctx.error(at, "host " + quote(host) + " is already served by site " +
                            quote(it->second.site) + " (line " + std::to_string(it->second.line) +
                            "): a host belongs to one site");
        }
        s.hosts.push_back(host);
      }
    }
  }
  const std::vector<std::string> hostList(s.hosts.begin(), s.hosts.end());
  auto checkInHosts = [&](const Node& at, const std::string& host, std::string_view what) {
    if (siteHosts.count(hostKey(host)) != 0) return true;
    std::string message =
        where + ": " + std::string(what) + " " + quote(host) + " is not one of the site's hosts";
    const std::string near = closestMatch(host, hostList);
    if (!near.empty()) message += "; did you mean " + quote(near) + "?";
    message += near.empty() ? "; add it to hosts" : " (or add it to hosts)";
    ctx.error(at, message);
    return false;
  };
  if (const Node* n = f.get("canonical_host")) {
    if (auto v = readString(ctx, *n, "canonical_host")) {
      const std::string host = toLower(*v);
      if (checkInHosts(*n, host, "canonical_host")) s.canonical_host = host;
    }
  }
  if (const Node* n = f.get("aliases")) {
    if (auto aliases = readStringList(ctx, *n, "aliases")) {
      if (!aliases->empty() && !f.has("canonical_host")) {
        ctx.error(*n, where + ": aliases redirect to canonical_host, which is not set");
      }
      for (size_t i = 0; i < aliases->size(); ++i) {
        const std::string host = toLower((*aliases)[i]);
        if (!checkInHosts(n->items[i], host, "alias")) continue;
        if (!s.canonical_host.empty() && hostKey(host) == hostKey(s.canonical_host)) {
          ctx.error(n->items[i], where + ": " + quote(host) +
                                     " is the canonical host; as an alias it would redirect to "
                                     "itself");
          continue;
        }
        s.aliases.push_back(host);
      }
    }
  }
  f.boolean("https_redirect", s.https_redirect);
  if (const Node* n = f.get("https_port")) {
    if (auto v = readUint(ctx, *n, "https_port", 1, 65535))
      s.https_port = static_cast<uint16_t>(*v);
  }
  if (const Node* n = f.get("redirect_status")) {
    if (auto v = readUint(ctx, *n, "redirect_status")) {
      if (*v == 301 || *v == 302 || *v == 307 || *v == 308) {
        s.redirect_status = static_cast<int>(*v);
      } else {
        ctx.error(*n,
                  "redirect_status: " + n->scalar + " is not allowed: use 301, 302, 307 or 308");
      }
    }
  }
  if (const Node* n = f.get("hsts")) {
    if (auto v = readString(ctx, *n, "hsts")) {
      if (v->find_first_of("\r\n") != std::string::npos) {
        ctx.error(*n, "hsts: a header value must not contain line breaks");
      } else if (!v->empty() && toLower(*v).find("max-age=") == std::string::npos) {
        ctx.error(*n, "hsts: " + quote(*v) +
                          " has no max-age: write e.g. \"max-age=31536000; includeSubDomains\"");
      } else {
        s.hsts = *v;
      }
    }
  }
  if (const Node* n = f.get("response_headers")) parseHeaders(ctx, *n, where, s);
  if (const Node* n = f.get("redirects")) {
    if (const std::vector<Node>* items = readList(ctx, *n, "redirects")) {
      std::map<std::string, int> seen;  // "=path" / "^prefix" -> line
      for (const Node& item : *items) {
        RedirectRule r;
        parseRedirect(ctx, item, r);
        const std::string key = r.from.empty() ? "^" + r.from_prefix : "=" + r.from;
        if (key.size() > 1) {
          auto [it, inserted] = seen.emplace(key, item.line);
          if (!inserted) {
            ctx.error(item, where + ": redirect " + (r.from.empty() ? "from_prefix " : "from ") +
                                quote(key.substr(1)) + " is listed twice (first at line " +
                                std::to_string(it->second) + "): only the first would apply");
          }
        }
        s.redirects.push_back(std::move(r));
        redirectNodes.push_back(&item);
      }
    }
  }
  if (const Node* n = f.get("routes")) {
    if (const std::vector<Node>* items = readList(ctx, *n, "routes")) {
      std::map<std::string, int> names;
      for (const Node& item : *items) {
        Route r;
        parseRoute(ctx, item, where, config, r);
        if (!r.name.empty()) {
          auto [it, inserted] = names.emplace(r.name, item.line);
          if (!inserted) {
            ctx.error(namePosition(item), where + ": duplicate route name " + quote(r.name) +
                                              " (first defined at line " +
                                              std::to_string(it->second) + ")");
          }
        }
        s.routes.push_back(std::move(r));
      }
    }
  }
}

// Where following a redirect rule lands: a site of this config and a path,
// or site -1 when it leaves the config (another domain).
struct Landing {
  int site = -1;
  std::string host;  // as written in an absolute `to`, for messages
  std::string path;
};

Landing landing(const RedirectRule& r, std::string_view rest, int fromSite,
                const std::map<std::string, HostOwner>& owners) {
  const std::string target = redirectTarget(r, rest, false, {});
  Landing out;
  std::string path = target;
  if (isAbsoluteUrl(target)) {
    const size_t hostStart = target.find("//") + 2;
    const size_t pathStart = target.find_first_of("/?#", hostStart);
    out.host = target.substr(hostStart, pathStart - hostStart);
    std::string host = out.host;
    if (!host.empty() && host[0] == '[') {
      host = host.substr(0, host.find(']') + 1);
    } else if (const size_t colon = host.find(':'); colon != std::string::npos) {
      host.resize(colon);
    }
    auto it = owners.find(hostKey(host));
    if (it == owners.end()) return {};
    out.site = static_cast<int>(it->second.index);
    path = pathStart == std::string::npos ? "/" : target.substr(pathStart);
    if (path[0] != '/') path.insert(0, "/");
  } else {
    out.site = fromSite;
  }
  out.path = path.substr(0, path.find_first_of("?#"));
  return out;
}

// Follows each rule through the redirect maps of every site, matching as
// the gateway does (conf/redirect_map.h); a chain that comes back to its
// first rule would redirect forever. Canonical-host and HTTPS redirects keep
// the path, so a landing on any host of a site continues in that site's map.
// Reported once per cycle, at its first rule in file order. Real maps have
// chains of one or two hops, so this is O(rules x path length).
void checkRedirectLoops(Ctx& ctx, const Config& config,
                        const std::vector<std::vector<const Node*>>& nodes,
                        const std::map<std::string, HostOwner>& owners) {
  std::vector<RedirectMap> maps;
  size_t total = 0;
  for (const Site& site : config.sites) {
    maps.emplace_back(site.redirects);
    total += site.redirects.size();
  }
  using RuleId = std::pair<int, int>;  // site, rule
  constexpr size_t kShownHops = 8;     // of a long cycle, the message shows the start
  for (size_t s = 0; s < config.sites.size(); ++s) {
    const std::vector<RedirectRule>& rules = config.sites[s].redirects;
    for (size_t i = 0; i < rules.size() && i < nodes[s].size(); ++i) {
      if (rules[i].to.empty()) continue;
      const RuleId start{static_cast<int>(s), static_cast<int>(i)};
      std::vector<RuleId> chain{start};
      std::string shown = rules[i].from.empty() ? rules[i].from_prefix + "*" : rules[i].from;
      Landing at = landing(rules[i], "", start.first, owners);
      int shown_site = start.first;  // a hop to another site shows its host
      while (at.site >= 0 && chain.size() <= total) {
        if (chain.size() <= kShownHops) {
          shown += " -> " + (at.site == shown_site ? "" : at.host) + at.path;
          shown_site = at.site;
        } else if (chain.size() == kShownHops + 1) {
          shown += " -> ...";
        }
        const RedirectMatch m = maps[at.site].match(at.path);
        if (!m) break;
        const RuleId next{at.site, m.rule};
        if (next == start) {
          ctx.error(*nodes[s][i], "redirect loop: " + shown + " -> ...; change a 'to'");
          break;
        }
        // A cycle through an earlier rule that comes back here was found
        // (and reported) when that rule was the start.
        if (next < start || std::find(chain.begin(), chain.end(), next) != chain.end()) break;
        chain.push_back(next);
        const RedirectRule& r = config.sites[at.site].redirects[m.rule];
        at = landing(r, std::string_view(at.path).substr(m.prefix_len), at.site, owners);
      }
    }
  }
}

}  // namespace

void parseSites(Ctx& ctx, const Node& node, Config& config) {
  const std::vector<Node>* items = readList(ctx, node, "sites");
  if (items == nullptr) return;
  if (items->empty()) {
    ctx.error(node, "sites is empty: add at least one {name, hosts, routes}");
    return;
  }
  std::map<std::string, int> names;
  std::map<std::string, HostOwner> hostOwners;
  std::vector<std::vector<const Node*>> redirectNodes;
  for (const Node& item : *items) {
    Site s;
    parseSite(ctx, item, config, hostOwners, s, redirectNodes.emplace_back());
    if (!s.name.empty()) {
      auto [it, inserted] = names.emplace(s.name, item.line);
      if (!inserted) {
        ctx.error(namePosition(item), "duplicate site name " + quote(s.name) +
                                          " (first defined at line " + std::to_string(it->second) +
                                          ")");
      }
    }
    config.sites.push_back(std::move(s));
  }
  checkRedirectLoops(ctx, config, redirectNodes, hostOwners);
}

}  // namespace edge::conf::detail
