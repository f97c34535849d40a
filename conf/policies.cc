// The upstreams, cache and rate_limits sections: the named things that routes
// refer to. A name is registered even when its body has errors, so a route
// naming it is not reported a second time as a missing reference.
#include <algorithm>

#include "conf/loader.h"
#include "conf/reader.h"
#include "conf/sections.h"
#include "conf/values.h"

namespace edge::conf::detail {
namespace {

bool validName(Ctx& ctx, const MapEntry& e, std::string_view what) {
  if (e.key.empty()) {
    ctx.error(e, std::string(what) + " name is empty");
    return false;
  }
  return true;
}

std::optional<HealthCheck> parseHealthCheck(Ctx& ctx, const Node& node, const std::string& where) {
  Fields f(ctx, node, where, {"path", "interval", "timeout", "unhealthy_after", "healthy_after"});
  if (!f.isMap() && !node.isNull()) return std::nullopt;
  HealthCheck h;
  if (const Node* n = f.get("path")) {
    if (auto v = readString(ctx, *n, "health_check.path")) {
      if (v->empty() || (*v)[0] != '/') {
        ctx.error(*n, "health_check.path must start with '/', got '" + *v + "'");
      } else {
        h.path = *v;
      }
    }
  }
  f.duration("interval", h.interval, false);
  f.duration("timeout", h.timeout, false);
  f.uint("unhealthy_after", h.unhealthy_after, 1, 1000);
  f.uint("healthy_after", h.healthy_after, 1, 1000);
  return h;
}

std::optional<OutlierDetection> parseOutlierDetection(Ctx& ctx, const Node& node,
                                                      const std::string& where) {
  Fields f(ctx, node, where, {"consecutive_failures", "consecutive_5xx", "eject_for"});
  if (!f.isMap() && !node.isNull()) return std::nullopt;
  OutlierDetection o;
  f.uint("consecutive_failures", o.consecutive_failures, 0, 1000);
  f.uint("consecutive_5xx", o.consecutive_5xx, 0, 1000);
  f.duration("eject_for", o.eject_for, false);
  return o;
}

void parseUpstream(Ctx& ctx, const MapEntry& e, Upstream& u) {
  const std::string where = "upstream '" + e.key + "'";
  Fields f(ctx, e.value, where,
           {"servers", "balance", "keepalive", "connect_timeout", "response_timeout", "retries",
            "host_header", "health_check", "outlier_detection"});
  if (!f.isMap()) {
    if (e.value.isNull()) ctx.error(e, where + " has no settings: it needs at least servers");
    return;
  }
  if (f.require("servers")) {
    const Node& list = *f.get("servers");
    if (const std::vector<Node>* items = readList(ctx, list, "servers")) {
      if (items->empty())
        ctx.error(list, where + ": servers is empty: list at least one HOST:PORT");
      for (const Node& item : *items) {
        if (auto hp = readHostPort(ctx, item, "servers", false)) u.servers.push_back(*hp);
      }
    }
  }
  if (const Node* n = f.get("balance")) {
    if (auto v = readChoice(ctx, *n, "balance", {"round_robin", "least_conn", "random"})) {
      u.balance = *v == "least_conn" ? Balance::kLeastConn
                  : *v == "random"   ? Balance::kRandom
                                     : Balance::kRoundRobin;
    }
  }
  f.uint("keepalive", u.keepalive, 0, 100000);
  f.duration("connect_timeout", u.connect_timeout, false);
  f.duration("response_timeout", u.response_timeout, false);
  f.uint("retries", u.retries, 0, 10);
  if (const Node* n = f.get("host_header")) {
    if (auto v = readString(ctx, *n, "host_header")) {
      const bool bad = v->empty() || std::any_of(v->begin(), v->end(), [](char c) {
                         return static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == '/';
                       });
      if (bad) {
        ctx.error(*n, "host_header: '" + *v + "' is not a host name: write e.g. app.internal");
      } else {
        u.host_header = *v;
      }
    }
  }
  if (const Node* n = f.get("health_check"))
    u.health_check = parseHealthCheck(ctx, *n, where + " health_check");
  if (const Node* n = f.get("outlier_detection"))
    u.outlier_detection = parseOutlierDetection(ctx, *n, where + " outlier_detection");
}

void parseCachePolicy(Ctx& ctx, const MapEntry& e, CachePolicy& p) {
  const std::string where = "cache policy '" + e.key + "'";
  Fields f(ctx, e.value, where,
           {"default_ttl", "max_ttl", "ignore_query_params", "stale_while_revalidate",
            "stale_if_error"});
  f.duration("default_ttl", p.default_ttl);
  f.duration("max_ttl", p.max_ttl);
  f.strList("ignore_query_params", p.ignore_query_params);
  f.duration("stale_while_revalidate", p.stale_while_revalidate);
  f.duration("stale_if_error", p.stale_if_error);
  if (p.default_ttl > p.max_ttl) {
    const Node* at = f.get("default_ttl");
    ctx.error(at ? *at : e.value, where + ": default_ttl (" + formatDuration(p.default_ttl) +
                                      ") is longer than max_ttl (" + formatDuration(p.max_ttl) +
                                      ")");
  }
}

// client_ip | header:NAME | cookie:NAME
bool validRateKey(const std::string& k) {
  if (k == "client_ip") return true;
  for (std::string_view prefix : {"header:", "cookie:"}) {
    if (k.rfind(prefix, 0) == 0) return isToken(std::string_view(k).substr(prefix.size()));
  }
  return false;
}

void parseRateLimitPolicy(Ctx& ctx, const MapEntry& e, RateLimitPolicy& p) {
  const std::string where = "rate-limit policy '" + e.key + "'";
  Fields f(ctx, e.value, where, {"rate", "burst", "key", "mode", "ipv6_prefix"});
  if (!f.isMap()) {
    if (e.value.isNull()) ctx.error(e, where + " has no settings: it needs at least rate");
    return;
  }
  if (f.require("rate")) {
    const Node& n = *f.get("rate");
    if (auto text = readString(ctx, n, "rate")) {
      if (auto r = parseRate(*text)) {
        p.rate = r->tokens;
        p.window = r->window;
      } else {
        ctx.error(n, "rate: '" + *text +
                         "' is not a rate: write REQUESTS/WINDOW with REQUESTS at least 1, e.g. "
                         "10/1m, 100/1s, 30/1h");
      }
    }
  }
  f.uint("burst", p.burst);
  if (const Node* n = f.get("key")) {
    if (auto keys = readStringList(ctx, *n, "key", true)) {
      bool ok = true;
      if (keys->empty()) {
        ctx.error(*n, "key is empty: use client_ip, header:NAME or cookie:NAME");
        ok = false;
      }
      for (size_t i = 0; i < keys->size(); ++i) {
        if (!validRateKey((*keys)[i])) {
          const Node& at = n->isSequence() ? n->items[i] : *n;
          ctx.error(at, "key: '" + (*keys)[i] +
                            "' is not a rate-limit key: use client_ip, header:NAME or cookie:NAME");
          ok = false;
        }
      }
      if (ok) p.key = *keys;
    }
  }
  if (const Node* n = f.get("mode")) {
    if (auto v = readChoice(ctx, *n, "mode", {"enforce", "shadow"})) {
      p.mode = *v == "shadow" ? RateLimitMode::kShadow : RateLimitMode::kEnforce;
    }
  }
  f.uint("ipv6_prefix", p.ipv6_prefix, 1, 128);
}

}  // namespace

void parseUpstreams(Ctx& ctx, const Node& node, std::map<std::string, Upstream>& out) {
  for (const MapEntry* e : readNamedMap(ctx, node, "upstreams")) {
    if (!validName(ctx, *e, "upstream")) continue;
    Upstream& u = out[e->key];
    u.name = e->key;
    parseUpstream(ctx, *e, u);
  }
}

void parseCache(Ctx& ctx, const Node& node, CacheConfig& out) {
  Fields f(ctx, node, "cache", {"memory", "max_object", "session_cookies", "policies"});
  f.size("memory", out.memory);
  f.size("max_object", out.max_object);
  if (out.max_object > out.memory) {
    const Node* at = f.get("max_object");
    ctx.error(at ? *at : node, "cache.max_object (" + formatSize(out.max_object) +
                                   ") is larger than cache.memory (" + formatSize(out.memory) +
                                   ")");
  }
  if (const Node* n = f.get("session_cookies")) {
    if (auto names = readStringList(ctx, *n, "session_cookies")) {
      bool ok = true;
      for (size_t i = 0; i < names->size(); ++i) {
        if (!isToken((*names)[i])) {
          ctx.error(n->items[i], "session_cookies: '" + (*names)[i] + "' is not a cookie name");
          ok = false;
        }
      }
      if (ok) out.session_cookies = *names;
    }
  }
  if (const Node* n = f.get("policies")) {
    for (const MapEntry* e : readNamedMap(ctx, *n, "cache.policies")) {
      if (!validName(ctx, *e, "cache policy")) continue;
      CachePolicy& p = out.policies[e->key];
      p.name = e->key;
      parseCachePolicy(ctx, *e, p);
    }
  }
}

void parseRateLimits(Ctx& ctx, const Node& node, RateLimitConfig& out) {
  Fields f(ctx, node, "rate_limits", {"store", "max_keys", "redis", "policies"});
  if (const Node* n = f.get("store")) {
    if (auto v = readChoice(ctx, *n, "store", {"local", "redis"})) out.store = *v;
  }
  f.uint("max_keys", out.max_keys, 1);
  if (const Node* n = f.get("redis")) {
    Fields r(ctx, *n, "rate_limits.redis", {"address", "password_env", "timeout", "on_error"});
    if (const Node* a = r.get("address")) {
      if (auto hp = readHostPort(ctx, *a, "redis.address", false)) out.redis.address = *hp;
    }
    if (const Node* p = r.get("password_env")) {
      if (auto name = readString(ctx, *p, "password_env")) {
        out.redis.password_env = *name;
        // The password is only needed when Redis is in use: a local store must
        // not fail because a Redis secret is missing from this environment.
        if (out.store == "redis") {
          if (auto value = ctx.resolveEnv(*p, "rate_limits.redis.password_env", *name)) {
            out.redis.password = *value;
          }
        } else if (!isEnvName(*name)) {
          ctx.resolveEnv(*p, "rate_limits.redis.password_env", *name);
        }
      }
    }
    r.duration("timeout", out.redis.timeout, false);
    if (const Node* o = r.get("on_error")) {
      if (auto v = readChoice(ctx, *o, "on_error", {"allow", "deny"})) {
        out.redis.on_error = *v == "deny" ? OnError::kDeny : OnError::kAllow;
      }
    }
  }
  if (const Node* n = f.get("policies")) {
    for (const MapEntry* e : readNamedMap(ctx, *n, "rate_limits.policies")) {
      if (!validName(ctx, *e, "rate-limit policy")) continue;
      RateLimitPolicy& p = out.policies[e->key];
      p.name = e->key;
      parseRateLimitPolicy(ctx, *e, p);
    }
  }
}

}  // namespace edge::conf::detail
