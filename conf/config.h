#pragma once
// The validated, immutable configuration snapshot. Built once by the loader
// (conf/loader.h), then shared read-only by every worker through
// std::shared_ptr<const Config>; a reload builds a new one. Plain data only:
// lookup structures derived from it (host tables, route indices) are built by
// their users so this header stays free of gateway concerns.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace edge::conf {

using Duration = std::chrono::milliseconds;

// host:port as written ("127.0.0.1:3000", "[::1]:8080", "0.0.0.0:8080").
struct HostPort {
  std::string host;  // without brackets for IPv6
  uint16_t port = 0;
  std::string str() const;  // back to the written form
};

// An address block for trusted_proxies ("10.0.0.0/8", "::1/128", "127.0.0.1").
struct Cidr {
  bool v6 = false;
  uint8_t bytes[16] = {};  // network order; the first 4 for IPv4
  uint8_t prefix = 0;
  std::string text;  // as written, for messages and /config
  // addr points at 4 (IPv4) or 16 (IPv6) network-order bytes.
  bool contains(bool addr_v6, const uint8_t* addr) const;
};

struct AdminConfig {
  HostPort bind{"127.0.0.1", 9901};
  std::string token_env;  // name of the variable
  std::string token;      // its value, resolved at load; empty = no token required
};

struct Limits {
  uint64_t max_connections = 100000;
  uint64_t max_connections_per_ip = 512;
  Duration header_timeout{std::chrono::seconds(10)};
  Duration idle_timeout{std::chrono::seconds(60)};
  uint64_t max_header_bytes = 32 * 1024;
  uint64_t max_body_bytes = 10ull * 1024 * 1024;
};

struct AccessLogConfig {
  std::string path = "stdout";  // stdout | off | a file path
  std::vector<std::string> redact_query_params{"token", "password", "code",
                                               "secret", "key",   "signature"};
};

struct ServerConfig {
  unsigned workers = 0;  // 0 in the file is invalid; "auto" resolves to the CPU count at load
  Duration drain_timeout{std::chrono::seconds(10)};
  AdminConfig admin;
  Limits limits;
  std::vector<Cidr> trusted_proxies;
  AccessLogConfig access_log;
  // Count and time every request (requests_total, the duration histogram, the
  // latency summary, upstream / cache / rate-limit counters). Off leaves
  // /metrics with the process-wide families only; it exists to measure what
  // the per-request metrics cost (bench/run.sh's edgegate-bare).
  bool request_metrics = true;
};

struct TlsCertificate {
  std::string cert;     // PEM file path
  std::string key;      // PEM file path, or empty when key_env is used
  std::string key_env;  // variable name holding the PEM
  std::string key_pem;  // resolved from key_env at load (never printed)
};

struct TlsConfig {
  std::vector<TlsCertificate> certificates;
  std::string min_version = "TLSv1.2";  // TLSv1.2 | TLSv1.3
  std::vector<std::string> alpn{"h2", "http/1.1"};
};

struct Listener {
  std::string name;
  HostPort bind;
  std::optional<TlsConfig> tls;
  bool http2 = false;  // h2c with prior knowledge on a plain listener
  // HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS sent to clients.
  unsigned http2_max_concurrent_streams = 128;
};

struct RouteMatch {
  std::string path;         // exact path, or empty
  std::string path_prefix;  // prefix, or empty; exactly one of path / path_prefix is set
  std::vector<std::string> methods;  // upper case; empty = any
};

struct Route {
  std::string name;
  RouteMatch match;
  std::string upstream;                 // a key of Config::upstreams
  std::vector<std::string> rate_limit;  // policy names; a single name or a list in YAML
  std::string cache;                    // cache policy name, or empty
  Duration slo_p95{300};
};

struct RedirectRule {
  std::string from;         // exact path, or empty
  std::string from_prefix;  // prefix, or empty; exactly one is set
  std::string to;           // relative ("/pricing") or absolute URL
  int status = 301;         // 301 | 302 | 303 | 307 | 308
};

struct Site {
  std::string name;
  std::vector<std::string> hosts;  // lower case, as written otherwise
  std::string canonical_host;      // empty = none
  std::vector<std::string> aliases;
  bool https_redirect = false;
  uint16_t https_port = 443;
  int redirect_status = 301;  // 301 | 302 | 307 | 308
  std::string hsts;           // empty = no HSTS header
  std::vector<std::pair<std::string, std::string>> response_headers_set;  // file order
  std::vector<std::string> response_headers_remove;
  std::vector<RedirectRule> redirects;
  std::vector<Route> routes;
};

struct HealthCheck {
  std::string path = "/healthz";
  Duration interval{std::chrono::seconds(5)};
  Duration timeout{std::chrono::seconds(1)};
  unsigned unhealthy_after = 3;
  unsigned healthy_after = 2;
};

// Passive health: a server whose requests fail this many times in a row is
// left out of balancing for eject_for, then tried again (Envoy's outlier
// detection). 0 turns a trigger off.
struct OutlierDetection {
  unsigned consecutive_failures = 5;  // connect errors, resets, timeouts
  unsigned consecutive_5xx = 0;       // responses with a 5xx status
  Duration eject_for{std::chrono::seconds(10)};
};

enum class Balance { kRoundRobin, kLeastConn, kRandom };

struct Upstream {
  std::string name;
  std::vector<HostPort> servers;
  Balance balance = Balance::kRoundRobin;
  unsigned keepalive = 64;
  Duration connect_timeout{std::chrono::seconds(2)};
  Duration response_timeout{std::chrono::seconds(30)};
  unsigned retries = 1;
  std::string host_header;  // empty = forward the client's Host
  std::optional<HealthCheck> health_check;
  std::optional<OutlierDetection> outlier_detection;  // absent: passive ejection off
};

struct CachePolicy {
  std::string name;
  Duration default_ttl{0};
  Duration max_ttl{std::chrono::hours(24)};
  std::vector<std::string> ignore_query_params;
  Duration stale_while_revalidate{0};
  Duration stale_if_error{0};
};

struct CacheConfig {
  uint64_t memory = 256ull * 1024 * 1024;
  uint64_t max_object = 8ull * 1024 * 1024;
  std::vector<std::string> session_cookies{"session", "sid"};
  std::map<std::string, CachePolicy> policies;
};

enum class OnError { kAllow, kDeny };
enum class RateLimitMode { kEnforce, kShadow };

struct RateLimitPolicy {
  std::string name;
  uint64_t rate = 0;  // tokens per window
  Duration window{std::chrono::minutes(1)};
  uint64_t burst = 0;
  std::vector<std::string> key{"client_ip"};  // client_ip | header:NAME | cookie:NAME
  RateLimitMode mode = RateLimitMode::kEnforce;
  // client_ip keys group IPv6 clients by this prefix: one subscriber usually
  // holds a whole /64, so a per-address bucket would be no limit at all.
  unsigned ipv6_prefix = 64;
};

struct RedisConfig {
  HostPort address{"127.0.0.1", 6379};
  std::string password_env;
  std::string password;  // resolved at load
  Duration timeout{50};
  OnError on_error = OnError::kAllow;
};

struct RateLimitConfig {
  std::string store = "local";  // local | redis
  RedisConfig redis;
  uint64_t max_keys = 1000000;
  std::map<std::string, RateLimitPolicy> policies;
};

struct Config {
  std::string source_path;  // the file it was loaded from
  ServerConfig server;
  std::vector<Listener> listeners;
  std::vector<Site> sites;
  std::map<std::string, Upstream> upstreams;
  CacheConfig cache;
  RateLimitConfig rate_limits;

  // The effective configuration for GET /config; every secret (resolved tokens,
  // passwords, key PEMs) is "<redacted>".
  nlohmann::json toJson() const;
};

}  // namespace edge::conf
