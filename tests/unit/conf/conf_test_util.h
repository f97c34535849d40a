#pragma once
// Shared helpers for the conf tests: an injected environment, the SPEC.md
// example, and a matcher for "an error at LINE:COL containing TEXT".
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "conf/loader.h"

namespace edge::conf::testing {

inline EnvLookup envFrom(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

inline EnvLookup noEnv() {
  return envFrom({});
}

inline std::string allErrors(const LoadResult& r) {
  std::string out;
  for (const ConfigError& e : r.errors) out += "  " + e.str() + "\n";
  return out.empty() ? "  (no errors)\n" : out;
}

// Passes when some error sits at line:column and contains `text`.
inline ::testing::AssertionResult hasError(const LoadResult& r, int line, int column,
                                           const std::string& text) {
  for (const ConfigError& e : r.errors) {
    if (e.line == line && e.column == column && e.message.find(text) != std::string::npos) {
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure()
         << "no error at " << line << ":" << column << " containing \"" << text << "\"; got:\n"
         << allErrors(r);
}

inline LoadResult loadYaml(const std::string& yaml, const EnvLookup& env = noEnv()) {
  return loadConfigString(yaml, "test.yaml", env);
}

// The smallest valid file; tests append or splice sections into it.
// Line numbers below are relied on by the tests.
inline const char* kMinimal =
    "listeners:\n"                         // 1
    "  - name: http\n"                     // 2
    "    bind: 127.0.0.1:8080\n"           // 3
    "sites:\n"                             // 4
    "  - name: s\n"                        // 5
    "    hosts: [a.com]\n"                 // 6
    "    routes:\n"                        // 7
    "      - name: r\n"                    // 8
    "        match: { path_prefix: / }\n"  // 9
    "        upstream: app\n"              // 10
    "upstreams:\n"                         // 11
    "  app:\n"                             // 12
    "    servers: [127.0.0.1:3000]\n";     // 13

// SPEC.md's example configuration, verbatim.
inline const char* kSpecExample = R"(server:
  workers: auto                 # worker threads; auto = number of CPUs
  drain_timeout: 10s
  admin:
    bind: 127.0.0.1:9901
    token_env: EDGEGATE_ADMIN_TOKEN   # Bearer token for POST admin calls
  limits:
    max_connections: 100000
    max_connections_per_ip: 512
    header_timeout: 10s         # the whole request head must arrive within this
    idle_timeout: 60s           # keep-alive idle, client side
    max_header_bytes: 32KiB     # request line + headers; more -> 431 (414 for the URI alone)
    max_body_bytes: 10MiB       # more -> 413
  trusted_proxies: [127.0.0.1/32, 10.0.0.0/8]   # only these may set X-Forwarded-For
  access_log:
    path: stdout                # stdout | off | a file path
    redact_query_params: [token, password, code, secret, key, signature]

listeners:
  - name: http
    bind: 0.0.0.0:8080
  - name: https
    bind: 0.0.0.0:8443
    tls:
      certificates:             # chosen by SNI; the first is the default
        - cert: /etc/edgegate/tls/example.com.pem
          key: /etc/edgegate/tls/example.com.key   # or key_env: VAR holding the PEM
      min_version: TLSv1.2
      alpn: [h2, http/1.1]

sites:
  - name: example
    hosts: [example.com, www.example.com, app.example.com]
    canonical_host: example.com     # the other hosts of a site may list it in `aliases`
    aliases: [www.example.com]      # these redirect to canonical_host, path and query kept
    https_redirect: true            # plain-HTTP requests redirect to https://
    https_port: 443                 # the public HTTPS port written into redirects
    redirect_status: 301            # for GET/HEAD; other methods always get 308
    hsts: "max-age=31536000; includeSubDomains"   # sent on HTTPS responses only
    response_headers:
      set:
        X-Content-Type-Options: nosniff
        X-Frame-Options: DENY
        Referrer-Policy: strict-origin-when-cross-origin
      remove: [Server, X-Powered-By]
    redirects:                      # old links and campaign URLs
      - from: /spring-sale          # exact path
        to: /pricing
        status: 301
      - from_prefix: /blog/         # the rest of the path is appended to `to`
        to: https://blog.example.com/
        status: 301
    routes:                         # first match wins
      - name: login
        match: { path: /login, methods: [POST] }
        upstream: app
        rate_limit: auth
      - name: signup
        match: { path: /signup }
        upstream: app
        rate_limit: signup
      - name: invites
        match: { path_prefix: /api/invites }
        upstream: app
        rate_limit: invite
      - name: assets
        match: { path_prefix: /assets/ }
        upstream: app
        cache: static
      - name: default
        match: { path_prefix: / }
        upstream: app
        cache: pages

upstreams:
  app:
    servers: [127.0.0.1:3000, 127.0.0.1:3001]
    balance: round_robin            # round_robin | least_conn | random
    keepalive: 64                   # idle pooled connections kept per server per worker
    connect_timeout: 2s
    response_timeout: 30s           # until the response head arrives
    retries: 1                      # only for idempotent requests, only before any byte was sent to the client
    health_check: { path: /healthz, interval: 5s, timeout: 1s, unhealthy_after: 3, healthy_after: 2 }

cache:
  memory: 256MiB
  max_object: 8MiB
  session_cookies: [session, sid]   # a request carrying one is authenticated, like one with Authorization
  policies:
    static:
      default_ttl: 1h               # when the origin gives no freshness information
      max_ttl: 1d
      ignore_query_params: [utm_source, utm_medium, utm_campaign, gclid, fbclid]
      stale_while_revalidate: 30s
      stale_if_error: 10m
    pages:
      default_ttl: 0s               # cache only what the origin marks cacheable

rate_limits:
  store: local                      # local | redis
  redis:
    address: 127.0.0.1:6379
    password_env: REDIS_PASSWORD
    timeout: 50ms
    on_error: allow                 # allow | deny, when Redis can't answer in time
  policies:
    auth:   { rate: 10/1m, burst: 5,  key: client_ip }
    signup: { rate: 5/1m,  burst: 5,  key: client_ip }
    invite: { rate: 30/1h, burst: 10, key: "cookie:session" }   # client_ip | header:NAME | cookie:NAME
)";

}  // namespace edge::conf::testing

namespace edge::conf::testing {

// The 1-based column where `needle` starts on 1-based `line` of `yaml`: lets a
// test state a position as "where this text is" rather than a counted number.
inline int colOf(const std::string& yaml, int line, const std::string& needle) {
  size_t start = 0;
  for (int i = 1; i < line; ++i) start = yaml.find('\n', start) + 1;
  const std::string text = yaml.substr(start, yaml.find('\n', start) - start);
  const size_t pos = text.find(needle);
  EXPECT_NE(pos, std::string::npos) << "'" << needle << "' not on line " << line << ": " << text;
  return static_cast<int>(pos) + 1;
}

// kMinimal with line `line` (1-based) replaced by `replacement` (which may
// hold several lines).
inline std::string replaceLine(const std::string& yaml, int line, const std::string& replacement) {
  size_t start = 0;
  for (int i = 1; i < line; ++i) start = yaml.find('\n', start) + 1;
  const size_t end = yaml.find('\n', start);
  return yaml.substr(0, start) + replacement + yaml.substr(end);
}

}  // namespace edge::conf::testing
