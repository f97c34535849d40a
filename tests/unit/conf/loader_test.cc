// Loading whole files: the SPEC.md example, defaults, environment
// substitution, secrets and their redaction in toJson.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "conf/loader.h"
#include "conf_test_util.h"

namespace edge::conf {
namespace {

using namespace std::chrono_literals;
using testing::allErrors;
using testing::envFrom;
using testing::hasError;
using testing::kMinimal;
using testing::kSpecExample;
using testing::loadYaml;

const std::map<std::string, std::string> kSpecEnv{{"EDGEGATE_ADMIN_TOKEN", "admin-tok-123"}};

TEST(LoadSpecExample, LoadsEverySection) {
  const LoadResult r = loadYaml(kSpecExample, envFrom(kSpecEnv));
  ASSERT_TRUE(r.ok()) << allErrors(r);
  ASSERT_TRUE(r.config);
  const Config& c = *r.config;
  EXPECT_EQ(c.source_path, "test.yaml");

  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  EXPECT_EQ(c.server.workers, cpus);
  EXPECT_EQ(c.server.drain_timeout, 10s);
  EXPECT_EQ(c.server.admin.bind.str(), "127.0.0.1:9901");
  EXPECT_EQ(c.server.admin.token_env, "EDGEGATE_ADMIN_TOKEN");
  EXPECT_EQ(c.server.admin.token, "admin-tok-123");
  EXPECT_EQ(c.server.limits.max_connections, 100000u);
  EXPECT_EQ(c.server.limits.max_connections_per_ip, 512u);
  EXPECT_EQ(c.server.limits.header_timeout, 10s);
  EXPECT_EQ(c.server.limits.idle_timeout, 60s);
  EXPECT_EQ(c.server.limits.max_header_bytes, 32u * 1024);
  EXPECT_EQ(c.server.limits.max_body_bytes, 10u * 1024 * 1024);
  ASSERT_EQ(c.server.trusted_proxies.size(), 2u);
  EXPECT_EQ(c.server.trusted_proxies[1].text, "10.0.0.0/8");
  EXPECT_EQ(c.server.trusted_proxies[1].prefix, 8);
  EXPECT_EQ(c.server.access_log.path, "stdout");
  EXPECT_EQ(c.server.access_log.redact_query_params.size(), 6u);

  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[0].name, "http");
  EXPECT_EQ(c.listeners[0].bind.str(), "0.0.0.0:8080");
  EXPECT_FALSE(c.listeners[0].tls);
  EXPECT_FALSE(c.listeners[0].http2);
  ASSERT_TRUE(c.listeners[1].tls);
  const TlsConfig& tls = *c.listeners[1].tls;
  ASSERT_EQ(tls.certificates.size(), 1u);
  EXPECT_EQ(tls.certificates[0].cert, "/etc/edgegate/tls/example.com.pem");
  EXPECT_EQ(tls.certificates[0].key, "/etc/edgegate/tls/example.com.key");
  EXPECT_EQ(tls.min_version, "TLSv1.2");
  EXPECT_EQ(tls.alpn, (std::vector<std::string>{"h2", "http/1.1"}));

  ASSERT_EQ(c.sites.size(), 1u);
  const Site& s = c.sites[0];
  EXPECT_EQ(s.name, "example");
  EXPECT_EQ(s.hosts,
            (std::vector<std::string>{"example.com", "www.example.com", "app.example.com"}));
  EXPECT_EQ(s.canonical_host, "example.com");
  EXPECT_EQ(s.aliases, (std::vector<std::string>{"www.example.com"}));
  EXPECT_TRUE(s.https_redirect);
  EXPECT_EQ(s.https_port, 443);
  EXPECT_EQ(s.redirect_status, 301);
  EXPECT_EQ(s.hsts, "max-age=31536000; includeSubDomains");
  ASSERT_EQ(s.response_headers_set.size(), 3u);
  EXPECT_EQ(s.response_headers_set[0].first, "X-Content-Type-Options");
  EXPECT_EQ(s.response_headers_set[0].second, "nosniff");
  EXPECT_EQ(s.response_headers_set[2].first, "Referrer-Policy");
  EXPECT_EQ(s.response_headers_remove, (std::vector<std::string>{"Server", "X-Powered-By"}));
  ASSERT_EQ(s.redirects.size(), 2u);
  EXPECT_EQ(s.redirects[0].from, "/spring-sale");
  EXPECT_EQ(s.redirects[0].to, "/pricing");
  EXPECT_EQ(s.redirects[1].from_prefix, "/blog/");
  EXPECT_EQ(s.redirects[1].to, "https://blog.example.com/");
  EXPECT_EQ(s.redirects[1].status, 301);
  ASSERT_EQ(s.routes.size(), 5u);
  EXPECT_EQ(s.routes[0].name, "login");
  EXPECT_EQ(s.routes[0].match.path, "/login");
  EXPECT_EQ(s.routes[0].match.methods, (std::vector<std::string>{"POST"}));
  EXPECT_EQ(s.routes[0].upstream, "app");
  EXPECT_EQ(s.routes[0].rate_limit, (std::vector<std::string>{"auth"}));
  EXPECT_EQ(s.routes[0].slo_p95, 300ms);
  EXPECT_EQ(s.routes[2].match.path_prefix, "/api/invites");
  EXPECT_TRUE(s.routes[2].match.methods.empty());
  EXPECT_EQ(s.routes[3].cache, "static");
  EXPECT_EQ(s.routes[4].match.path_prefix, "/");
  EXPECT_EQ(s.routes[4].cache, "pages");

  ASSERT_EQ(c.upstreams.count("app"), 1u);
  const Upstream& u = c.upstreams.at("app");
  EXPECT_EQ(u.name, "app");
  ASSERT_EQ(u.servers.size(), 2u);
  EXPECT_EQ(u.servers[1].str(), "127.0.0.1:3001");
  EXPECT_EQ(u.balance, Balance::kRoundRobin);
  EXPECT_EQ(u.keepalive, 64u);
  EXPECT_EQ(u.connect_timeout, 2s);
  EXPECT_EQ(u.response_timeout, 30s);
  EXPECT_EQ(u.retries, 1u);
  ASSERT_TRUE(u.health_check);
  EXPECT_EQ(u.health_check->path, "/healthz");
  EXPECT_EQ(u.health_check->interval, 5s);
  EXPECT_EQ(u.health_check->timeout, 1s);
  EXPECT_EQ(u.health_check->unhealthy_after, 3u);
  EXPECT_EQ(u.health_check->healthy_after, 2u);

  EXPECT_EQ(c.cache.memory, 256u * 1024 * 1024);
  EXPECT_EQ(c.cache.max_object, 8u * 1024 * 1024);
  EXPECT_EQ(c.cache.session_cookies, (std::vector<std::string>{"session", "sid"}));
  ASSERT_EQ(c.cache.policies.size(), 2u);
  const CachePolicy& st = c.cache.policies.at("static");
  EXPECT_EQ(st.name, "static");
  EXPECT_EQ(st.default_ttl, 1h);
  EXPECT_EQ(st.max_ttl, 24h);
  EXPECT_EQ(st.ignore_query_params.size(), 5u);
  EXPECT_EQ(st.stale_while_revalidate, 30s);
  EXPECT_EQ(st.stale_if_error, 10min);
  EXPECT_EQ(c.cache.policies.at("pages").default_ttl, 0s);

  EXPECT_EQ(c.rate_limits.store, "local");
  EXPECT_EQ(c.rate_limits.redis.address.str(), "127.0.0.1:6379");
  EXPECT_EQ(c.rate_limits.redis.password_env, "REDIS_PASSWORD");
  EXPECT_EQ(c.rate_limits.redis.timeout, 50ms);
  EXPECT_EQ(c.rate_limits.redis.on_error, OnError::kAllow);
  ASSERT_EQ(c.rate_limits.policies.size(), 3u);
  const RateLimitPolicy& auth = c.rate_limits.policies.at("auth");
  EXPECT_EQ(auth.name, "auth");
  EXPECT_EQ(auth.rate, 10u);
  EXPECT_EQ(auth.window, 1min);
  EXPECT_EQ(auth.burst, 5u);
  EXPECT_EQ(auth.key, (std::vector<std::string>{"client_ip"}));
  EXPECT_EQ(auth.mode, RateLimitMode::kEnforce);
  EXPECT_EQ(c.rate_limits.policies.at("invite").window, 1h);
  EXPECT_EQ(c.rate_limits.policies.at("invite").key, (std::vector<std::string>{"cookie:session"}));
}

TEST(LoadSpecExample, MissingAdminTokenVariableIsReportedAtTokenEnv) {
  const LoadResult r = loadYaml(kSpecExample, envFrom({}));
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.config);
  // "    token_env: EDGEGATE_ADMIN_TOKEN" on line 6, the value at column 16.
  EXPECT_TRUE(hasError(r, 6, 16, "EDGEGATE_ADMIN_TOKEN"));
  EXPECT_TRUE(hasError(r, 6, 16, "not set"));
  EXPECT_EQ(r.errors.size(), 1u) << allErrors(r);
}

TEST(LoadSpecExample, RedisPasswordIsResolvedOnlyForTheRedisStore) {
  std::string yaml = kSpecExample;
  const std::string from = "store: local";
  yaml.replace(yaml.find(from), from.size(), "store: redis");
  LoadResult r = loadYaml(yaml, envFrom(kSpecEnv));
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(hasError(r, 103, 19, "REDIS_PASSWORD"));

  auto env = kSpecEnv;
  env["REDIS_PASSWORD"] = "hunter2";
  r = loadYaml(yaml, envFrom(env));
  ASSERT_TRUE(r.ok()) << allErrors(r);
  EXPECT_EQ(r.config->rate_limits.store, "redis");
  EXPECT_EQ(r.config->rate_limits.redis.password, "hunter2");
}

TEST(LoadMinimal, OptionalSectionsTakeTheirDefaults) {
  const LoadResult r = loadYaml(kMinimal);
  ASSERT_TRUE(r.ok()) << allErrors(r);
  const Config& c = *r.config;
  EXPECT_GE(c.server.workers, 1u);
  EXPECT_EQ(c.server.admin.bind.str(), "127.0.0.1:9901");
  EXPECT_TRUE(c.server.admin.token.empty());
  EXPECT_EQ(c.server.limits.max_header_bytes, 32u * 1024);
  EXPECT_EQ(c.server.access_log.path, "stdout");
  EXPECT_TRUE(c.server.request_metrics);
  EXPECT_EQ(c.cache.memory, 256u * 1024 * 1024);
  EXPECT_TRUE(c.cache.policies.empty());
  EXPECT_EQ(c.rate_limits.store, "local");
  EXPECT_EQ(c.rate_limits.max_keys, 1000000u);
  const Upstream& u = c.upstreams.at("app");
  EXPECT_EQ(u.name, "app");
  EXPECT_EQ(u.keepalive, 64u);
  EXPECT_FALSE(u.health_check);
  EXPECT_FALSE(u.outlier_detection);
  EXPECT_EQ(c.sites[0].redirect_status, 301);
  EXPECT_EQ(c.sites[0].https_port, 443);
  EXPECT_FALSE(c.sites[0].https_redirect);
}

TEST(LoadMinimal, OutlierDetectionTakesItsKeysAndDefaults) {
  const LoadResult r = loadYaml(std::string(kMinimal) +
                                "    outlier_detection: {consecutive_5xx: 3, eject_for: 250ms}\n");
  ASSERT_TRUE(r.ok()) << allErrors(r);
  const Upstream& u = r.config->upstreams.at("app");
  ASSERT_TRUE(u.outlier_detection);
  EXPECT_EQ(u.outlier_detection->consecutive_failures, 5u);
  EXPECT_EQ(u.outlier_detection->consecutive_5xx, 3u);
  EXPECT_EQ(u.outlier_detection->eject_for, 250ms);
  EXPECT_EQ(r.config->toJson()["upstreams"]["app"]["outlier_detection"]["eject_for"], "250ms");
}

TEST(LoadMinimal, WorkersTakesANumber) {
  const LoadResult r = loadYaml(std::string("server: {workers: 3}\n") + kMinimal);
  ASSERT_TRUE(r.ok()) << allErrors(r);
  EXPECT_EQ(r.config->server.workers, 3u);
}

TEST(LoadMinimal, RequestMetricsCanBeTurnedOff) {
  const LoadResult r = loadYaml(std::string("server: {request_metrics: false}\n") + kMinimal);
  ASSERT_TRUE(r.ok()) << allErrors(r);
  EXPECT_FALSE(r.config->server.request_metrics);
}

TEST(LoadMinimal, HostsAreLowerCased) {
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("[a.com]"), 7, "[Example.COM, WWW.example.com]");
  yaml.insert(yaml.find("    routes:"), "    canonical_host: EXAMPLE.com\n");
  const LoadResult r = loadYaml(yaml);
  ASSERT_TRUE(r.ok()) << allErrors(r);
  EXPECT_EQ(r.config->sites[0].hosts, (std::vector<std::string>{"example.com", "www.example.com"}));
  EXPECT_EQ(r.config->sites[0].canonical_host, "example.com");
}

TEST(LoadMinimal, MethodsAreUpperCased) {
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("{ path_prefix: / }"), 18, "{ path_prefix: /, methods: [get, Post] }");
  const LoadResult r = loadYaml(yaml);
  ASSERT_TRUE(r.ok()) << allErrors(r);
  EXPECT_EQ(r.config->sites[0].routes[0].match.methods, (std::vector<std::string>{"GET", "POST"}));
}

TEST(LoadMinimal, RateLimitAndKeyTakeAListToo) {
  const std::string yaml = std::string(kMinimal) +
                           "rate_limits:\n"
                           "  policies:\n"
                           "    a: { rate: 10/1m, key: [client_ip, \"header:X-Api-Client\"] }\n"
                           "    b: { rate: 1/1s, mode: shadow }\n";
  std::string withRoute = yaml;
  withRoute.insert(withRoute.find("upstreams:"), "        rate_limit: [a, b]\n");
  const LoadResult r = loadYaml(withRoute);
  ASSERT_TRUE(r.ok()) << allErrors(r);
  EXPECT_EQ(r.config->sites[0].routes[0].rate_limit, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.config->rate_limits.policies.at("a").key,
            (std::vector<std::string>{"client_ip", "header:X-Api-Client"}));
  EXPECT_EQ(r.config->rate_limits.policies.at("b").mode, RateLimitMode::kShadow);
  EXPECT_EQ(r.config->rate_limits.policies.at("b").key, (std::vector<std::string>{"client_ip"}));
}

TEST(EnvSubstitution, ReplacesReferencesInAnyString) {
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("127.0.0.1:8080"), 14, "${HOST}:${PORT}");
  yaml.replace(yaml.find("[a.com]"), 7, "[\"${DOMAIN}\", \"www.${DOMAIN}\"]");
  yaml = "server: { workers: \"${WORKERS}\" }\n" + yaml;
  const LoadResult r = loadYaml(
      yaml,
      envFrom({{"HOST", "0.0.0.0"}, {"PORT", "9000"}, {"DOMAIN", "shop.test"}, {"WORKERS", "2"}}));
  ASSERT_TRUE(r.ok()) << allErrors(r);
  EXPECT_EQ(r.config->listeners[0].bind.str(), "0.0.0.0:9000");
  EXPECT_EQ(r.config->sites[0].hosts, (std::vector<std::string>{"shop.test", "www.shop.test"}));
  EXPECT_EQ(r.config->server.workers, 2u);
}

TEST(EnvSubstitution, UnsetVariableIsAnErrorAtTheScalar) {
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("127.0.0.1:8080"), 14, "127.0.0.1:${PORT}");
  const LoadResult r = loadYaml(yaml, envFrom({}));
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(hasError(r, 3, 11, "environment variable PORT is not set"));
}

TEST(EnvSubstitution, DollarDollarIsALiteralAndBareDollarIsKept) {
  std::string yaml = kMinimal;
  yaml.insert(yaml.find("    routes:"),
              "    response_headers: { set: { X-A: \"$${NOT_A_VAR}\", X-B: \"costs $5\" } }\n");
  const LoadResult r = loadYaml(yaml, envFrom({}));
  ASSERT_TRUE(r.ok()) << allErrors(r);
  const auto& set = r.config->sites[0].response_headers_set;
  ASSERT_EQ(set.size(), 2u);
  EXPECT_EQ(set[0].second, "${NOT_A_VAR}");
  EXPECT_EQ(set[1].second, "costs $5");
}

TEST(EnvSubstitution, MalformedReferencesAreErrors) {
  std::string yaml = kMinimal;
  yaml.insert(yaml.find("    routes:"), "    hsts: \"max-age=${AGE\"\n");  // line 7
  LoadResult r = loadYaml(yaml, envFrom({{"AGE", "1"}}));
  EXPECT_TRUE(hasError(r, 7, 11, "unterminated '${'"));
  yaml = kMinimal;
  yaml.insert(yaml.find("    routes:"), "    hsts: \"max-age=${1AGE}\"\n");
  r = loadYaml(yaml, envFrom({{"1AGE", "1"}}));
  EXPECT_TRUE(hasError(r, 7, 11, "not a valid environment variable reference"));
}

TEST(Secrets, KeyEnvIsResolvedIntoKeyPem) {
  std::string yaml = kMinimal;
  yaml.insert(yaml.find("sites:"),
              "    tls:\n"
              "      certificates:\n"
              "        - { cert: /c.pem, key_env: TLS_KEY }\n");
  const std::string pem =
      "-----BEGIN PRIVATE "
      "KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";
  LoadResult r = loadYaml(yaml, envFrom({{"TLS_KEY", pem}}));
  ASSERT_TRUE(r.ok()) << allErrors(r);
  const TlsCertificate& cert = r.config->listeners[0].tls->certificates[0];
  EXPECT_EQ(cert.key_env, "TLS_KEY");
  EXPECT_EQ(cert.key_pem, pem);
  EXPECT_TRUE(cert.key.empty());

  r = loadYaml(yaml, envFrom({}));
  // "        - { cert: /c.pem, key_env: TLS_KEY }" on line 6: the value at column 36.
  EXPECT_TRUE(hasError(r, 6, 36, "environment variable TLS_KEY"));
}

TEST(ToJson, RedactsEverySecretAndShowsTheirVariables) {
  std::string yaml = kSpecExample;
  yaml.replace(yaml.find("store: local"), 12, "store: redis");
  const std::string keyLine = "          key: /etc/edgegate/tls/example.com.key";
  yaml.replace(yaml.find(keyLine), keyLine.size(), "          key_env: TLS_KEY_PEM");
  const std::string token = "tok-SECRET-1";
  const std::string password = "pw-SECRET-2";
  const std::string pem =
      "-----BEGIN PRIVATE "
      "KEY-----\nSECRET-3\n-----END PRIVATE KEY-----\n";
  const LoadResult r = loadYaml(yaml, envFrom({{"EDGEGATE_ADMIN_TOKEN", token},
                                               {"REDIS_PASSWORD", password},
                                               {"TLS_KEY_PEM", pem}}));
  ASSERT_TRUE(r.ok()) << allErrors(r);
  ASSERT_EQ(r.config->server.admin.token, token);
  const nlohmann::json j = r.config->toJson();
  const std::string dump = j.dump();
  EXPECT_EQ(dump.find("SECRET"), std::string::npos) << dump;
  EXPECT_EQ(j["server"]["admin"]["token"], "<redacted>");
  EXPECT_EQ(j["server"]["admin"]["token_env"], "EDGEGATE_ADMIN_TOKEN");
  EXPECT_EQ(j["rate_limits"]["redis"]["password"], "<redacted>");
  EXPECT_EQ(j["rate_limits"]["redis"]["password_env"], "REDIS_PASSWORD");
  const auto& cert = j["listeners"][1]["tls"]["certificates"][0];
  EXPECT_EQ(cert["key_pem"], "<redacted>");
  EXPECT_EQ(cert["key_env"], "TLS_KEY_PEM");
}

TEST(ToJson, ShowsTheEffectiveValuesInTheFileGrammar) {
  const LoadResult r = loadYaml(kSpecExample, envFrom(kSpecEnv));
  ASSERT_TRUE(r.ok()) << allErrors(r);
  const nlohmann::json j = r.config->toJson();
  EXPECT_EQ(j["server"]["drain_timeout"], "10s");
  EXPECT_EQ(j["server"]["limits"]["max_header_bytes"], "32KiB");
  EXPECT_EQ(j["server"]["trusted_proxies"][1], "10.0.0.0/8");
  EXPECT_EQ(j["listeners"][1]["bind"], "0.0.0.0:8443");
  EXPECT_EQ(j["listeners"][1]["tls"]["certificates"][0]["key"],
            "/etc/edgegate/tls/example.com.key");
  EXPECT_TRUE(j["listeners"][1]["tls"]["certificates"][0]["key_pem"].is_null());
  EXPECT_EQ(j["sites"][0]["routes"][0]["match"]["path"], "/login");
  EXPECT_EQ(j["sites"][0]["response_headers"]["set"]["X-Frame-Options"], "DENY");
  EXPECT_EQ(j["upstreams"]["app"]["servers"][0], "127.0.0.1:3000");
  EXPECT_EQ(j["upstreams"]["app"]["balance"], "round_robin");
  EXPECT_EQ(j["upstreams"]["app"]["health_check"]["interval"], "5s");
  EXPECT_EQ(j["cache"]["policies"]["static"]["max_ttl"], "1d");
  EXPECT_EQ(j["rate_limits"]["policies"]["auth"]["rate"], "10/1m");
  EXPECT_EQ(j["rate_limits"]["policies"]["invite"]["key"][0], "cookie:session");
  // No token in force prints null, not "<redacted>": the operator can tell.
  const LoadResult minimal = loadYaml(kMinimal);
  ASSERT_TRUE(minimal.ok()) << allErrors(minimal);
  EXPECT_TRUE(minimal.config->toJson()["server"]["admin"]["token"].is_null());
}

TEST(LoadFile, ReadsAFileAndRecordsItsPath) {
  const std::string path = ::testing::TempDir() + "/edgegate_conf_test.yaml";
  {
    std::ofstream out(path);
    out << kMinimal;
  }
  const LoadResult r = loadConfigFile(path, testing::noEnv());
  std::remove(path.c_str());
  ASSERT_TRUE(r.ok()) << allErrors(r);
  EXPECT_EQ(r.config->source_path, path);
}

TEST(LoadFile, UnreadableFileIsAnErrorWithoutPosition) {
  const std::string path = ::testing::TempDir() + "/no/such/edgegate.yaml";
  const LoadResult r = loadConfigFile(path, testing::noEnv());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].file, path);
  EXPECT_EQ(r.errors[0].line, 0);
  EXPECT_NE(r.errors[0].message.find("cannot read"), std::string::npos);
  EXPECT_NE(r.errors[0].message.find("No such file"), std::string::npos);
  EXPECT_FALSE(r.config);

  const LoadResult dir = loadConfigFile(::testing::TempDir(), testing::noEnv());
  ASSERT_EQ(dir.errors.size(), 1u);
  EXPECT_EQ(dir.errors[0].line, 0);
  EXPECT_NE(dir.errors[0].message.find("not a regular file"), std::string::npos);
}

TEST(ConfigErrorStr, IsFileLineColumnMessage) {
  EXPECT_EQ((ConfigError{"a.yaml", 3, 7, "bad"}).str(), "a.yaml:3:7: bad");
  EXPECT_EQ((ConfigError{"a.yaml", 0, 0, "cannot read"}).str(), "a.yaml:0:0: cannot read");
}

TEST(ProcessEnv, ReadsTheRealEnvironment) {
  ::setenv("EDGEGATE_CONF_TEST_VAR", "v1", 1);
  ::unsetenv("EDGEGATE_CONF_TEST_UNSET");
  const EnvLookup env = processEnv();
  EXPECT_EQ(env("EDGEGATE_CONF_TEST_VAR"), "v1");
  EXPECT_EQ(env("EDGEGATE_CONF_TEST_UNSET"), std::nullopt);
}

// Every prefix of a valid file is some kind of broken file: the loader must
// answer each with a result, never an exception or a crash.
TEST(Robustness, EveryPrefixOfTheExampleLoadsOrFailsCleanly) {
  const std::string full = kSpecExample;
  for (size_t n = 0; n <= full.size(); n += 7) {
    LoadResult r;
    EXPECT_NO_THROW(r = loadYaml(full.substr(0, n), envFrom(kSpecEnv))) << n;
    EXPECT_EQ(r.ok(), r.config != nullptr);
    for (const ConfigError& e : r.errors) EXPECT_GE(e.line, 1) << e.str();
  }
}

TEST(Robustness, OddDocumentsAreErrorsNotCrashes) {
  for (const char* doc :
       {"", "~", "[", "- a\n- b\n", "just a string", "a: &x [*x]\n", "listeners: &l\n  - *l\n",
        "\t", "{", "? [a]\n: b\n", "listeners: !!binary AAAA\n"}) {
    LoadResult r;
    EXPECT_NO_THROW(r = loadYaml(doc)) << doc;
    EXPECT_FALSE(r.ok()) << doc;
  }
}

TEST(Robustness, AliasBombIsRefused) {
  std::string yaml = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'i'; ++c) {
    yaml += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) yaml += std::string(i ? ", *" : "*") + prev;
    yaml += "]\n";
    prev = c;
  }
  const LoadResult r = loadYaml(yaml);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(std::any_of(r.errors.begin(), r.errors.end(), [](const ConfigError& e) {
    return e.message.find("too large") != std::string::npos;
  })) << allErrors(r);
}

}  // namespace
}  // namespace edge::conf
