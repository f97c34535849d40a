// Each class of configuration error: its position (file:line:col), its
// reason and, where there is one, its fix. Positions are 1-based.
#include <gtest/gtest.h>

#include "conf/loader.h"
#include "conf_test_util.h"

namespace edge::conf {
namespace {

using testing::allErrors;
using testing::colOf;
using testing::envFrom;
using testing::hasError;
using testing::kMinimal;
using testing::loadYaml;
using testing::replaceLine;

// kMinimal's last line is inside upstream "app"; these append to it.
std::string withUpstreamLine(const std::string& line) {
  return std::string(kMinimal) + line + "\n";
}
// Prepends a server section; the first prepended line is line 1.
std::string withServer(const std::string& lines) {
  return "server:\n" + lines + kMinimal;
}

TEST(UnknownKey, SuggestsTheClosestValidKey) {
  const std::string yaml = replaceLine(kMinimal, 10, "        upstrem: app");
  const LoadResult r = loadYaml(yaml);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.config);
  EXPECT_TRUE(hasError(r, 10, 9, "unknown key 'upstrem'"));
  EXPECT_TRUE(hasError(r, 10, 9, "did you mean 'upstream'?"));
  // The route map starts at "name" on line 8, column 9.
  EXPECT_TRUE(hasError(r, 8, 9, "missing required key 'upstream'"));
  EXPECT_EQ(r.errors.size(), 2u) << allErrors(r);
}

TEST(UnknownKey, TopLevelTypoSuggestsTheSection) {
  const std::string yaml = replaceLine(kMinimal, 11, "upstream:");
  const LoadResult r = loadYaml(yaml);
  EXPECT_TRUE(hasError(r, 11, 1, "did you mean 'upstreams'?"));
  EXPECT_TRUE(hasError(r, 1, 1, "missing required key 'upstreams'"));
}

TEST(UnknownKey, WithoutANearMatchListsTheValidKeys) {
  const LoadResult r = loadYaml(withUpstreamLine("    colour: red"));
  EXPECT_TRUE(hasError(r, 14, 5, "unknown key 'colour' in upstream 'app'"));
  EXPECT_TRUE(hasError(r, 14, 5, "valid keys: servers, balance"));
}

TEST(WrongType, MapWhereAListIsExpected) {
  const LoadResult r = loadYaml(replaceLine(kMinimal, 6, "    hosts: {a.com: x}"));
  EXPECT_TRUE(hasError(r, 6, 12, "hosts: expected a list, got a map"));
}

TEST(WrongType, ScalarWhereAListIsExpectedShowsTheFix) {
  const LoadResult r = loadYaml(replaceLine(kMinimal, 13, "    servers: 127.0.0.1:3000"));
  EXPECT_TRUE(hasError(r, 13, 14, "expected a list, got a single value: write [127.0.0.1:3000]"));
}

TEST(WrongType, MapWhereAListOfItemsIsExpected) {
  const LoadResult r =
      loadYaml(replaceLine(replaceLine(kMinimal, 2, "  name: http"), 3, "  bind: 127.0.0.1:8080"));
  EXPECT_TRUE(
      hasError(r, 2, 3, "listeners: expected a list, got a map: start each item with '- '"));
}

TEST(WrongType, ListWhereAMapIsExpected) {
  const LoadResult r = loadYaml(withServer("  limits: [1, 2]\n"));
  EXPECT_TRUE(hasError(r, 2, 11, "server.limits: expected a map of settings, got a list"));
}

TEST(WrongType, TextWhereANumberIsExpected) {
  LoadResult r = loadYaml(withUpstreamLine("    keepalive: abc"));
  EXPECT_TRUE(hasError(r, 14, 16, "keepalive: expected a whole number, got 'abc'"));
  r = loadYaml(withUpstreamLine("    retries: -1"));
  EXPECT_TRUE(hasError(r, 14, 14, "(not negative)"));
  r = loadYaml(withUpstreamLine("    retries: 11"));
  EXPECT_TRUE(hasError(r, 14, 14, "retries must be between 0 and 10, got 11"));
}

TEST(WrongType, TextWhereABooleanIsExpected) {
  const LoadResult r =
      loadYaml(replaceLine(kMinimal, 3, "    bind: 127.0.0.1:8080\n    http2: maybe"));
  EXPECT_TRUE(hasError(r, 4, 12, "http2: expected true or false, got 'maybe'"));
}

TEST(WrongType, EmptyValueIsReportedAtItsKey) {
  const LoadResult r = loadYaml(withServer("  drain_timeout:\n"));
  EXPECT_TRUE(hasError(r, 2, 3, "drain_timeout has no value"));
}

struct BadValue {
  std::string yaml;
  int line;
  std::string at;  // the text the error points at, on `line`
  std::string message;
};

std::ostream& operator<<(std::ostream& os, const BadValue& c) {
  return os << c.message;
}

class BadValues : public ::testing::TestWithParam<BadValue> {};

TEST_P(BadValues, AreReportedAtTheValue) {
  const BadValue& c = GetParam();
  const LoadResult r = loadYaml(c.yaml, envFrom({{"TOKEN", "t"}}));
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(hasError(r, c.line, colOf(c.yaml, c.line, c.at), c.message));
}

const std::string kRoute9 = "        match: { path_prefix: / }";

INSTANTIATE_TEST_SUITE_P(
    Grammars, BadValues,
    ::testing::Values(
        BadValue{withServer("  drain_timeout: 10x\n"), 2, "10x", "'10x' is not a duration"},
        BadValue{withServer("  drain_timeout: 10\n"), 2, "10", "has no unit: write 10s or 10ms"},
        BadValue{withServer("  limits: {header_timeout: 0s}\n"), 2, "0s", "greater than zero"},
        BadValue{withServer("  limits: {max_body_bytes: 10XB}\n"), 2, "10XB", "is not a size"},
        BadValue{withServer("  limits: {max_header_bytes: 100}\n"), 2, "100", "at least 256"},
        BadValue{withServer("  workers: 0\n"), 2, "0", "workers: 0 is not allowed"},
        BadValue{withServer("  workers: many\n"), 2, "many", "expected auto or a whole number"},
        BadValue{withServer("  admin: {bind: 127.0.0.1}\n"), 2, "127", "the port is missing"},
        BadValue{withServer("  admin: {bind: \"::1:80\"}\n"), 2, "\"::1", "[::1]:8080"},
        BadValue{withServer("  trusted_proxies: [10.0.0.0/33]\n"), 2, "10.",
                 "'10.0.0.0/33' is not an address block"},
        BadValue{withServer("  access_log: {path: \"\"}\n"), 2, "\"\"", "access_log.path is empty"},
        BadValue{withServer("  request_metrics: maybe\n"), 2, "maybe",
                 "request_metrics: expected true or false"},
        BadValue{withUpstreamLine("    balance: least_con"), 14, "least_con",
                 "'least_con' is not one of round_robin | least_conn | random; did you mean "
                 "'least_conn'?"},
        BadValue{withUpstreamLine("    connect_timeout: 2 s"), 14, "2 s", "is not a duration"},
        BadValue{withUpstreamLine("    host_header: \"a b\""), 14, "\"a b", "is not a host name"},
        BadValue{withUpstreamLine("    health_check: {path: healthz}"), 14, "healthz",
                 "must start with '/'"},
        BadValue{withUpstreamLine("    health_check: {healthy_after: 0}"), 14, "0}",
                 "healthy_after must be between 1 and 1000"},
        BadValue{withUpstreamLine("    outlier_detection: {eject_for: 0s}"), 14, "0s", "eject_for"},
        BadValue{withUpstreamLine("    outlier_detection: {consecutive_fails: 2}"), 14,
                 "consecutive_fails", "consecutive_failures"},
        BadValue{replaceLine(kMinimal, 13, "    servers: [localhost]"), 13, "localhost",
                 "the port is missing"},
        BadValue{replaceLine(kMinimal, 13, "    servers: [127.0.0.1:0]"), 13, "127",
                 "port 0 is not a valid destination port"},
        BadValue{replaceLine(kMinimal, 13, "    servers: []"), 13, "[]", "servers is empty"},
        BadValue{std::string(kMinimal) + "rate_limits:\n  redis: {on_error: maybe}\n", 15, "maybe",
                 "'maybe' is not one of allow | deny"},
        BadValue{std::string(kMinimal) + "rate_limits:\n  store: memcached\n", 15, "memcached",
                 "is not one of local | redis"},
        BadValue{std::string(kMinimal) + "rate_limits:\n  redis: {timeout: 0ms}\n", 15, "0ms",
                 "greater than zero"},
        BadValue{
            std::string(kMinimal) + "rate_limits:\n  policies:\n    p: {rate: 10 per minute}\n", 16,
            "10 per", "'10 per minute' is not a rate"},
        BadValue{std::string(kMinimal) + "rate_limits:\n  policies:\n    p: {rate: 0/1m}\n", 16,
                 "0/1m", "is not a rate"},
        BadValue{
            std::string(kMinimal) + "rate_limits:\n  policies:\n    p: {rate: 1/1s, key: ip}\n", 16,
            "ip}", "'ip' is not a rate-limit key"},
        BadValue{
            std::string(kMinimal) +
                "rate_limits:\n  policies:\n    p: {rate: 1/1s, key: [client_ip, \"header:\"]}\n",
            16, "\"header:\"", "'header:' is not a rate-limit key"},
        BadValue{
            std::string(kMinimal) + "rate_limits:\n  policies:\n    p: {rate: 1/1s, mode: dry}\n",
            16, "dry", "is not one of enforce | shadow"},
        BadValue{std::string(kMinimal) +
                     "rate_limits:\n  policies:\n    p: {rate: 1/1s, ipv6_prefix: 129}\n",
                 16, "129", "ipv6_prefix must be between 1 and 128"},
        BadValue{std::string(kMinimal) + "rate_limits:\n  policies:\n    p: {burst: 1}\n", 16, "{",
                 "missing required key 'rate'"},
        BadValue{replaceLine(kMinimal, 6, "    hosts: [a.com]\n    redirect_status: 303"), 7, "303",
                 "redirect_status: 303 is not allowed"},
        BadValue{replaceLine(kMinimal, 6, "    hosts: [a.com]\n    https_port: 0"), 7, "0",
                 "https_port must be between 1 and 65535"},
        BadValue{replaceLine(kMinimal, 6, "    hosts: [a.com]\n    hsts: \"1 year\""), 7, "\"1",
                 "has no max-age"},
        BadValue{replaceLine(kMinimal, 6, "    hosts: [a.com:8443]"), 6, "a.com",
                 "hosts are matched without the port: write 'a.com'"},
        BadValue{replaceLine(kMinimal, 6, "    hosts: [\"*.a.com\"]"), 6, "\"*",
                 "wildcard hosts are not supported"},
        BadValue{replaceLine(kMinimal, 6, "    hosts: []"), 6, "[]", "hosts is empty"},
        BadValue{
            replaceLine(kMinimal, 6,
                        "    hosts: [a.com]\n    redirects: [{from: /a, to: /b, status: 304}]"),
            7, "304", "304 is not a redirect status"},
        BadValue{replaceLine(kMinimal, 6, "    hosts: [a.com]\n    redirects: [{from: a, to: /b}]"),
                 7, "a,", "from must start with '/'"},
        BadValue{replaceLine(kMinimal, 6, "    hosts: [a.com]\n    redirects: [{from: /a, to: b}]"),
                 7, "b}", "must be a path starting with '/' or an http:// or https:// URL"},
        BadValue{
            replaceLine(kMinimal, 6,
                        "    hosts: [a.com]\n    redirects: [{from: /a, from_prefix: /b, to: /c}]"),
            7, "from_prefix", "from (exact path) or from_prefix, not both"},
        BadValue{replaceLine(kMinimal, 6, "    hosts: [a.com]\n    redirects: [{to: /c}]"), 7,
                 "{to", "needs from (exact path) or from_prefix"},
        BadValue{
            replaceLine(kMinimal, 9, "        match: { path_prefix: /, methods: [GET, \"GE T\"] }"),
            9, "\"GE T\"", "'GE T' is not an HTTP method"},
        BadValue{replaceLine(kMinimal, 9, "        match: { path: /a, path_prefix: /a }"), 9,
                 "path_prefix", "match takes path (exact) or path_prefix, not both"},
        BadValue{replaceLine(kMinimal, 9, "        match: { methods: [GET] }"), 9, "{",
                 "match needs path (exact) or path_prefix"},
        BadValue{replaceLine(kMinimal, 9, "        match: { path: login }"), 9, "login",
                 "path must start with '/', got 'login'"},
        BadValue{replaceLine(kMinimal, 9, kRoute9 + "\n        slo_p95: fast"), 10, "fast",
                 "is not a duration"},
        BadValue{
            replaceLine(kMinimal, 3,
                        "    bind: 127.0.0.1:8080\n    tls: {certificates: [{cert: /c, key: /k}], "
                        "min_version: TLSv1.1}"),
            4, "TLSv1.1", "'TLSv1.1' is not one of TLSv1.2 | TLSv1.3"},
        BadValue{
            replaceLine(kMinimal, 3,
                        "    bind: 127.0.0.1:8080\n    tls: {certificates: [{cert: /c, key: /k}], "
                        "alpn: [h2, h3]}"),
            4, "h3", "'h3' is not supported"},
        BadValue{replaceLine(kMinimal, 3, "    bind: 127.0.0.1:8080\n    tls: {certificates: []}"),
                 4, "[]", "certificates is empty"},
        BadValue{replaceLine(kMinimal, 3,
                             "    bind: 127.0.0.1:8080\n    tls: {certificates: [{cert: /c}]}"),
                 4, "{cert: ", "has no private key: add key: FILE or key_env: VARIABLE"},
        BadValue{
            replaceLine(kMinimal, 3,
                        "    bind: 127.0.0.1:8080\n    tls: {certificates: [{cert: /c, key: /k, "
                        "key_env: K}]}"),
            4, "key_env", "key (a file) or key_env, not both"},
        BadValue{std::string(kMinimal) + "cache:\n  memory: 1MiB\n  max_object: 2MiB\n", 16, "2MiB",
                 "cache.max_object (2MiB) is larger than cache.memory (1MiB)"},
        BadValue{
            std::string(kMinimal) + "cache:\n  policies:\n    p: {default_ttl: 2h, max_ttl: 1h}\n",
            16, "2h", "default_ttl (2h) is longer than max_ttl (1h)"},
        BadValue{replaceLine(kMinimal, 6,
                             "    hosts: [a.com]\n    response_headers: {set: {X-A: 1, x-a: 2}}"),
                 7, "x-a", "'x-a' is set twice"},
        BadValue{replaceLine(kMinimal, 6, "    hosts: [a.com]\n    hsts: \"max-age=1\\r\\nX: y\""),
                 7, "\"max", "must not contain line breaks"},
        BadValue{std::string(kMinimal) + "cache:\n  session_cookies: [sid, \"a b\"]\n", 15, "\"a b",
                 "'a b' is not a cookie name"},
        BadValue{withServer("  admin: {token_env: \"my secret\"}\n"), 2, "\"my",
                 "token_env names an environment variable"}));

TEST(Duplicates, ListenerNames) {
  const std::string yaml = replaceLine(
      kMinimal, 3, "    bind: 127.0.0.1:8080\n  - name: http\n    bind: 127.0.0.1:8081");
  const LoadResult r = loadYaml(yaml);
  EXPECT_TRUE(hasError(r, 4, 11, "duplicate listener name 'http' (first defined at line 2)"));
}

TEST(Duplicates, ListenerBindAddresses) {
  const std::string yaml =
      replaceLine(kMinimal, 3, "    bind: 127.0.0.1:8080\n  - name: b\n    bind: 127.0.0.1:8080");
  const LoadResult r = loadYaml(yaml);
  EXPECT_TRUE(hasError(r, 5, 11, "bind 127.0.0.1:8080 is already used by the listener at line 3"));
}

TEST(Duplicates, SiteNamesAndHostsAcrossSites) {
  const std::string yaml = replaceLine(kMinimal, 10,
                                       "        upstream: app\n"
                                       "  - name: s\n"
                                       "    hosts: [b.com, A.com]");
  const LoadResult r = loadYaml(yaml);
  EXPECT_TRUE(hasError(r, 11, 11, "duplicate site name 's' (first defined at line 5)"));
  EXPECT_TRUE(hasError(r, 12, colOf(yaml, 12, "A.com"),
                       "host 'a.com' is already served by site 's' (line 6)"));
}

TEST(Duplicates, HostTwiceInOneSite) {
  const LoadResult r = loadYaml(replaceLine(kMinimal, 6, "    hosts: [a.com, a.com.]"));
  EXPECT_TRUE(hasError(r, 6, 20, "host 'a.com.' is listed twice"));
}

TEST(Duplicates, RouteNamesWithinASite) {
  const std::string yaml = replaceLine(kMinimal, 10,
                                       "        upstream: app\n"
                                       "      - name: r\n"
                                       "        match: { path: /x }\n"
                                       "        upstream: app");
  const LoadResult r = loadYaml(yaml);
  EXPECT_TRUE(hasError(r, 11, 15, "duplicate route name 'r' (first defined at line 8)"));
}

TEST(Duplicates, YamlKeysInAUserNamedMap) {
  const std::string yaml = std::string(kMinimal) + "  app:\n    servers: [127.0.0.1:4000]\n";
  const LoadResult r = loadYaml(yaml);
  EXPECT_TRUE(hasError(r, 14, 3, "duplicate upstreams entry 'app' (first defined at line 12)"));
}

TEST(Duplicates, YamlKeysInASettingsMap) {
  const LoadResult r =
      loadYaml(replaceLine(kMinimal, 3, "    bind: 127.0.0.1:8080\n    bind: x:1"));
  EXPECT_TRUE(hasError(r, 4, 5, "duplicate key 'bind' in listener (first defined at line 3)"));
}

TEST(References, MissingUpstreamSuggestsTheClosest) {
  const LoadResult r = loadYaml(replaceLine(kMinimal, 10, "        upstream: ap"));
  EXPECT_TRUE(hasError(
      r, 10, 19, "route 'r': upstream 'ap' is not defined in upstreams; did you mean 'app'?"));
}

TEST(References, MissingCacheAndRateLimitPolicies) {
  const std::string yaml = replaceLine(kMinimal, 10,
                                       "        upstream: app\n"
                                       "        cache: statik\n"
                                       "        rate_limit: [auth, nope]") +
                           "cache:\n  policies:\n    static: {}\n" +
                           "rate_limits:\n  policies:\n    auth: {rate: 1/1s}\n";
  const LoadResult r = loadYaml(yaml);
  EXPECT_TRUE(hasError(r, 11, 16,
                       "cache policy 'statik' is not defined in cache.policies; did you mean "
                       "'static'?"));
  EXPECT_TRUE(
      hasError(r, 12, 28, "rate_limit policy 'nope' is not defined in rate_limits.policies"));
  EXPECT_EQ(r.errors.size(), 2u) << allErrors(r);
}

TEST(References, RateLimitWithoutAnyRateLimitsSection) {
  const LoadResult r =
      loadYaml(replaceLine(kMinimal, 10, "        upstream: app\n        rate_limit: auth"));
  EXPECT_TRUE(hasError(r, 11, 21, "rate_limit policy 'auth' is not defined"));
}

TEST(References, CanonicalHostAndAliasesMustBeSiteHosts) {
  const std::string yaml = replaceLine(kMinimal, 6,
                                       "    hosts: [a.com, www.a.com]\n"
                                       "    canonical_host: a.con\n"
                                       "    aliases: [www.a.com, b.com]");
  const LoadResult r = loadYaml(yaml);
  EXPECT_TRUE(hasError(r, 7, 21,
                       "canonical_host 'a.con' is not one of the site's hosts; did you mean "
                       "'a.com'?"));
  EXPECT_TRUE(hasError(r, 8, 26, "alias 'b.com' is not one of the site's hosts"));
  EXPECT_TRUE(hasError(r, 8, 26, "add it to hosts"));
}

TEST(References, AliasesNeedACanonicalHostThatIsNotAnAlias) {
  LoadResult r =
      loadYaml(replaceLine(kMinimal, 6, "    hosts: [a.com, b.com]\n    aliases: [b.com]"));
  EXPECT_TRUE(hasError(r, 7, 14, "aliases redirect to canonical_host, which is not set"));
  r = loadYaml(replaceLine(kMinimal, 6,
                           "    hosts: [a.com]\n    canonical_host: a.com\n    aliases: [a.com]"));
  EXPECT_TRUE(hasError(r, 8, 15, "would redirect to itself"));
}

TEST(RedirectLoops, TwoRulesPointingAtEachOther) {
  const std::string yaml = replaceLine(kMinimal, 6,
                                       "    hosts: [a.com]\n"
                                       "    redirects:\n"
                                       "      - { from: /a, to: /b }\n"
                                       "      - { from: /b, to: \"https://A.com/a?x=1\" }");
  const LoadResult r = loadYaml(yaml);
  EXPECT_TRUE(hasError(r, 8, 9, "redirect loop: /a -> /b -> /a"));
  EXPECT_EQ(r.errors.size(), 1u) << allErrors(r);
}

TEST(RedirectLoops, PrefixRuleLandingInsideItself) {
  const std::string yaml = replaceLine(kMinimal, 6,
                                       "    hosts: [a.com]\n"
                                       "    redirects:\n"
                                       "      - { from_prefix: /blog/, to: /blog/new/ }");
  const LoadResult r = loadYaml(yaml);
  EXPECT_TRUE(hasError(r, 8, 9, "redirect loop"));
}

TEST(RedirectLoops, ChainsThatEndAndOtherHostsAreFine) {
  const std::string yaml =
      replaceLine(kMinimal, 6,
                  "    hosts: [a.com]\n"
                  "    redirects:\n"
                  "      - { from: /a, to: /b }\n"
                  "      - { from: /b, to: /c }\n"
                  "      - { from_prefix: /blog/, to: \"https://blog.a.com/blog/\" }\n"
                  "      - { from_prefix: /old/, to: /new/ }");
  const LoadResult r = loadYaml(yaml);
  EXPECT_TRUE(r.ok()) << allErrors(r);
}

TEST(Secrets, LiteralAdminTokenIsRefused) {
  const LoadResult r = loadYaml(withServer("  admin:\n    token: abc123\n"));
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(hasError(r, 3, 5, "'token' in server.admin: secrets must not be written"));
  EXPECT_TRUE(hasError(r, 3, 5, "use token_env: VARIABLE_NAME"));
  for (const ConfigError& e : r.errors) EXPECT_EQ(e.message.find("abc123"), std::string::npos);
}

TEST(Secrets, LiteralRedisPasswordIsRefused) {
  const LoadResult r =
      loadYaml(std::string(kMinimal) + "rate_limits:\n  redis:\n    password: hunter2\n");
  EXPECT_TRUE(hasError(r, 16, 5, "use password_env"));
}

TEST(Secrets, InlinePrivateKeyIsRefused) {
  const std::string yaml = replaceLine(kMinimal, 3,
                                       "    bind: 127.0.0.1:8080\n"
                                       "    tls:\n"
                                       "      certificates:\n"
                                       "        - cert: /c.pem\n"
                                       "          key: \"-----BEGIN PRIVATE "
                                       "KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\"");
  const LoadResult r = loadYaml(yaml);
  EXPECT_TRUE(hasError(r, 7, 16, "private keys come from files or key_env"));
}

TEST(Secrets, KeyPemUnderACertificateIsRefused) {
  const std::string yaml = replaceLine(
      kMinimal, 3, "    bind: 127.0.0.1:8080\n    tls: {certificates: [{cert: /c, key_pem: x}]}");
  const LoadResult r = loadYaml(yaml);
  EXPECT_TRUE(hasError(r, 4, colOf(yaml, 4, "key_pem"), "use key: FILE or key_env: VARIABLE"));
}

TEST(Secrets, SecretLikeKeyWhereNoneBelongs) {
  const LoadResult r = loadYaml(withUpstreamLine("    api_token: xyz"));
  EXPECT_TRUE(hasError(r, 14, 5, "secrets must not be written in the config file"));
  EXPECT_TRUE(hasError(r, 14, 5, "remove it"));
}

TEST(Secrets, RateLimitKeyAndPolicyNamedTokenAreNotSecrets) {
  const std::string yaml = std::string(kMinimal) +
                           "rate_limits:\n  policies:\n    token: {rate: 1/1s, key: client_ip}\n";
  const LoadResult r = loadYaml(yaml);
  EXPECT_TRUE(r.ok()) << allErrors(r);
}

TEST(Secrets, EmptySecretVariableIsRefused) {
  const LoadResult r =
      loadYaml(withServer("  admin:\n    token_env: TOKEN\n"), envFrom({{"TOKEN", ""}}));
  EXPECT_TRUE(
      hasError(r, 3, 16, "environment variable TOKEN (named by server.admin.token_env) is empty"));
}

TEST(Syntax, YamlErrorsCarryTheirPosition) {
  const LoadResult r = loadYaml(replaceLine(kMinimal, 3, "    bind: x: 8080"));
  ASSERT_EQ(r.errors.size(), 1u) << allErrors(r);
  EXPECT_EQ(r.errors[0].line, 3);
  // yaml-cpp points at the second ':'.
  EXPECT_EQ(r.errors[0].column, 12);
  EXPECT_NE(r.errors[0].message.find("YAML syntax error"), std::string::npos);
  EXPECT_EQ(r.errors[0].str().rfind("test.yaml:3:12: YAML syntax error", 0), 0u);
}

TEST(Syntax, OnlyOneDocument) {
  const LoadResult r = loadYaml(std::string(kMinimal) + "---\nlisteners: []\n");
  EXPECT_TRUE(hasError(r, 15, 1, "only one YAML document"));
}

TEST(Structure, EmptyFileAndMissingSections) {
  LoadResult r = loadYaml("");
  EXPECT_TRUE(hasError(r, 1, 1, "the configuration is empty"));
  r = loadYaml("# nothing but a comment\n");
  EXPECT_TRUE(hasError(r, 1, 1, "the configuration is empty"));
  r = loadYaml("server: {workers: 2}\n");
  EXPECT_TRUE(hasError(r, 1, 1, "missing required key 'listeners'"));
  EXPECT_TRUE(hasError(r, 1, 1, "missing required key 'sites'"));
  EXPECT_TRUE(hasError(r, 1, 1, "missing required key 'upstreams'"));
  r = loadYaml("- a\n- b\n");
  EXPECT_TRUE(hasError(r, 1, 1, "expected a map of settings, got a list"));
}

TEST(Structure, EmptyListenersAndSites) {
  const LoadResult r = loadYaml("listeners: []\nsites: []\nupstreams: {}\n");
  EXPECT_TRUE(hasError(r, 1, 12, "listeners is empty"));
  EXPECT_TRUE(hasError(r, 2, 8, "sites is empty"));
}

TEST(Collect, EveryErrorIsReportedInFileOrder) {
  std::string yaml = withServer("  workers: 0\n  drain_timeout: soon\n");
  // kMinimal's lines move down by the 3 server lines.
  yaml = replaceLine(yaml, 16, "    servers: [nowhere]");
  yaml = replaceLine(yaml, 13, "        upstream: nope");
  const LoadResult r = loadYaml(yaml);
  ASSERT_EQ(r.errors.size(), 4u) << allErrors(r);
  EXPECT_TRUE(hasError(r, 2, 12, "workers"));
  EXPECT_TRUE(hasError(r, 3, 18, "not a duration"));
  EXPECT_TRUE(hasError(r, 13, 19, "upstream 'nope' is not defined"));
  EXPECT_TRUE(hasError(r, 16, 15, "not a valid address"));
  for (size_t i = 1; i < r.errors.size(); ++i) {
    EXPECT_LE(r.errors[i - 1].line, r.errors[i].line);
  }
  for (const ConfigError& e : r.errors) EXPECT_EQ(e.file, "test.yaml");
}

}  // namespace
}  // namespace edge::conf
