// Config::toJson (GET /config), ConfigError::str and the process environment.
#include <cstdlib>

#include "conf/config.h"
#include "conf/loader.h"
#include "conf/values.h"

namespace edge::conf {
namespace {

using detail::formatDuration;
using detail::formatSize;
using nlohmann::json;

constexpr const char* kRedacted = "<redacted>";

// A secret prints as "<redacted>" when it is set and as null when it is not,
// so an operator can still see whether a token is in force.
json secret(const std::string& value) {
  return value.empty() ? json(nullptr) : json(kRedacted);
}

json orNull(const std::string& s) {
  return s.empty() ? json(nullptr) : json(s);
}

const char* balanceName(Balance b) {
  switch (b) {
    case Balance::kRoundRobin:
      return "round_robin";
    case Balance::kLeastConn:
      return "least_conn";
    case Balance::kRandom:
      return "random";
  }
  return "round_robin";
}

json serverJson(const ServerConfig& s) {
  json proxies = json::array();
  for (const Cidr& c : s.trusted_proxies) proxies.push_back(c.text);
  return {
      {"workers", s.workers},
      {"drain_timeout", formatDuration(s.drain_timeout)},
      {"admin",
       {{"bind", s.admin.bind.str()},
        {"token_env", orNull(s.admin.token_env)},
        {"token", secret(s.admin.token)}}},
      {"limits",
       {{"max_connections", s.limits.max_connections},
        {"max_connections_per_ip", s.limits.max_connections_per_ip},
        {"header_timeout", formatDuration(s.limits.header_timeout)},
        {"idle_timeout", formatDuration(s.limits.idle_timeout)},
        {"max_header_bytes", formatSize(s.limits.max_header_bytes)},
        {"max_body_bytes", formatSize(s.limits.max_body_bytes)}}},
      {"trusted_proxies", proxies},
      {"access_log",
       {{"path", s.access_log.path}, {"redact_query_params", s.access_log.redact_query_params}}},
      {"request_metrics", s.request_metrics},
  };
}

json listenerJson(const Listener& l) {
  json out = {{"name", l.name},
              {"bind", l.bind.str()},
              {"http2", l.http2},
              {"http2_max_concurrent_streams", l.http2_max_concurrent_streams}};
  if (l.tls) {
    json certs = json::array();
    for (const TlsCertificate& c : l.tls->certificates) {
      certs.push_back({{"cert", c.cert},
                       {"key", orNull(c.key)},
                       {"key_env", orNull(c.key_env)},
                       {"key_pem", secret(c.key_pem)}});
    }
    out["tls"] = {
        {"certificates", certs}, {"min_version", l.tls->min_version}, {"alpn", l.tls->alpn}};
  }
  return out;
}

json siteJson(const Site& s) {
  json set = json::object();
  for (const auto& [name, value] : s.response_headers_set) set[name] = value;
  json redirects = json::array();
  for (const RedirectRule& r : s.redirects) {
    json rule = {{"to", r.to}, {"status", r.status}};
    if (!r.from.empty()) rule["from"] = r.from;
    if (!r.from_prefix.empty()) rule["from_prefix"] = r.from_prefix;
    redirects.push_back(rule);
  }
  json routes = json::array();
  for (const Route& r : s.routes) {
    json match = {{"methods", r.match.methods}};
    if (!r.match.path.empty()) match["path"] = r.match.path;
    if (!r.match.path_prefix.empty()) match["path_prefix"] = r.match.path_prefix;
    routes.push_back({{"name", r.name},
                      {"match", match},
                      {"upstream", r.upstream},
                      {"rate_limit", r.rate_limit},
                      {"cache", orNull(r.cache)},
                      {"slo_p95", formatDuration(r.slo_p95)}});
  }
  return {
      {"name", s.name},
      {"hosts", s.hosts},
      {"canonical_host", orNull(s.canonical_host)},
      {"aliases", s.aliases},
      {"https_redirect", s.https_redirect},
      {"https_port", s.https_port},
      {"redirect_status", s.redirect_status},
      {"hsts", orNull(s.hsts)},
      {"response_headers", {{"set", set}, {"remove", s.response_headers_remove}}},
      {"redirects", redirects},
      {"routes", routes},
  };
}

json upstreamJson(const Upstream& u) {
  json servers = json::array();
  for (const HostPort& hp : u.servers) servers.push_back(hp.str());
  json out = {
      {"servers", servers},
      {"balance", balanceName(u.balance)},
      {"keepalive", u.keepalive},
      {"connect_timeout", formatDuration(u.connect_timeout)},
      {"response_timeout", formatDuration(u.response_timeout)},
      {"retries", u.retries},
      {"host_header", orNull(u.host_header)},
      {"health_check", nullptr},
      {"outlier_detection", nullptr},
  };
  if (u.health_check) {
    const HealthCheck& h = *u.health_check;
    out["health_check"] = {{"path", h.path},
                           {"interval", formatDuration(h.interval)},
                           {"timeout", formatDuration(h.timeout)},
                           {"unhealthy_after", h.unhealthy_after},
                           {"healthy_after", h.healthy_after}};
  }
  if (u.outlier_detection) {
    const OutlierDetection& o = *u.outlier_detection;
    out["outlier_detection"] = {{"consecutive_failures", o.consecutive_failures},
                                {"consecutive_5xx", o.consecutive_5xx},
                                {"eject_for", formatDuration(o.eject_for)}};
  }
  return out;
}

json cacheJson(const CacheConfig& c) {
  json policies = json::object();
  for (const auto& [name, p] : c.policies) {
    policies[name] = {{"default_ttl", formatDuration(p.default_ttl)},
                      {"max_ttl", formatDuration(p.max_ttl)},
                      {"ignore_query_params", p.ignore_query_params},
                      {"stale_while_revalidate", formatDuration(p.stale_while_revalidate)},
                      {"stale_if_error", formatDuration(p.stale_if_error)}};
  }
  return {{"memory", formatSize(c.memory)},
          {"max_object", formatSize(c.max_object)},
          {"session_cookies", c.session_cookies},
          {"policies", policies}};
}

json rateLimitsJson(const RateLimitConfig& r) {
  json policies = json::object();
  for (const auto& [name, p] : r.policies) {
    policies[name] = {{"rate", detail::formatRate(p.rate, p.window)},
                      {"burst", p.burst},
                      {"key", p.key},
                      {"mode", p.mode == RateLimitMode::kShadow ? "shadow" : "enforce"},
                      {"ipv6_prefix", p.ipv6_prefix}};
  }
  return {{"store", r.store},
          {"max_keys", r.max_keys},
          {"redis",
           {{"address", r.redis.address.str()},
            {"password_env", orNull(r.redis.password_env)},
            {"password", secret(r.redis.password)},
            {"timeout", formatDuration(r.redis.timeout)},
            {"on_error", r.redis.on_error == OnError::kDeny ? "deny" : "allow"}}},
          {"policies", policies}};
}

}  // namespace

nlohmann::json Config::toJson() const {
  json listenersJson = json::array();
  for (const Listener& l : listeners) listenersJson.push_back(listenerJson(l));
  json sitesJson = json::array();
  for (const Site& s : sites) sitesJson.push_back(siteJson(s));
  json upstreamsJson = json::object();
  for (const auto& [name, u] : upstreams) upstreamsJson[name] = upstreamJson(u);
  return {
      {"source_path", source_path},
      {"server", serverJson(server)},
      {"listeners", listenersJson},
      {"sites", sitesJson},
      {"upstreams", upstreamsJson},
      {"cache", cacheJson(cache)},
      {"rate_limits", rateLimitsJson(rate_limits)},
  };
}

std::string ConfigError::str() const {
  // Always the same shape, 0:0 meaning "no position", so one pattern parses every line.
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

EnvLookup processEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

}  // namespace edge::conf
