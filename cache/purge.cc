#include "cache/purge.h"

#include <nlohmann/json.hpp>

#include "cache/key.h"
#include "cache/store.h"
#include "gateway/snapshot.h"

namespace edge::cache {
namespace {

// The ignore_query_params of the cache policy that serves url, so that a purge URL with
// tracking parameters names the same key its requests were stored under.
const std::vector<std::string>& ignoredFor(const Snapshot& snap, std::string_view url) {
  static const std::vector<std::string> kNone;
  size_t scheme = url.find("://");
  if (scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  size_t slash = url.find_first_of("/?");
  std::string_view host = url.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "/" : url.substr(slash);
  path = path.substr(0, path.find('?'));
  if (path.empty()) path = "/";
  const conf::Site* site = snap.findSite(host);
  if (!site) return kNone;
  const conf::Route* route = Snapshot::findRoute(*site, "GET", path);
  if (!route || route->cache.empty()) return kNone;
  auto it = snap.config().cache.policies.find(route->cache);
  return it == snap.config().cache.policies.end() ? kNone : it->second.ignore_query_params;
}

}  // namespace

PurgeResult purge(const Snapshot& snapshot, std::string_view body) {
  PurgeResult r;
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.size() != 1) {
    r.error = "the body must be one of {\"url\": ...}, {\"prefix\": ...}, {\"tag\": ...}";
    return r;
  }
  auto [name, value] = *j.items().begin();
  if (!value.is_string() || value.get<std::string>().empty()) {
    r.error = "\"" + name + "\" must be a non-empty string";
    return r;
  }
  std::string v = value.get<std::string>();
  auto store = Store::current();
  std::string key;
  if (name == "url") {
    if (!keyFromUrl(v, ignoredFor(snapshot, v), key)) {
      r.error = "the url has no host";
      return r;
    }
    r.purged = store ? store->purgeKey(key) : 0;
  } else if (name == "prefix") {
    if (!keyFromUrl(v, {}, key)) {
      r.error = "the prefix has no host";
      return r;
    }
    // keyFromUrl writes "/" for an empty path; a bare-host prefix means the whole host.
    if (v.find('/', v.find("://") == std::string::npos ? 0 : v.find("://") + 3) ==
        std::string::npos)
      key.pop_back();
    r.purged = store ? store->purgePrefix(key) : 0;
  } else if (name == "tag") {
    r.purged = store ? store->purgeTag(v) : 0;
  } else {
    r.error = "unknown key \"" + name + "\" (url, prefix or tag)";
    return r;
  }
  r.ok = true;
  return r;
}

}  // namespace edge::cache
