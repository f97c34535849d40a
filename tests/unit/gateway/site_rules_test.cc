// The host and redirect decisions (gateway/site_rules.h) and `edgegate
// explain` on top of them, from a real YAML config: canonical host, HTTPS,
// both in one hop, the redirect map, ACME, host spellings, header policy.
#include "gateway/site_rules.h"

#include <gtest/gtest.h>

#include "conf/loader.h"
#include "gateway/exchange.h"
#include "gateway/explain.h"

namespace edge {
namespace {

const char* kYaml = R"(listeners:
  - name: http
    bind: 127.0.0.1:8080
sites:
  - name: apex
    hosts: [example.com, www.example.com, app.example.com]
    canonical_host: example.com
    aliases: [www.example.com]
    https_redirect: true
    hsts: "max-age=31536000; includeSubDomains"
    response_headers:
      set: { X-Frame-Options: DENY, X-Content-Type-Options: nosniff }
      remove: [Server, X-Powered-By]
    redirects:
      - { from: /spring-sale, to: /pricing }
      - { from: /old-form, to: /form, status: 302 }
      - { from_prefix: /blog/, to: "https://blog.example.org/", status: 301 }
    routes:
      - { name: login, match: { path: /login, methods: [POST] }, upstream: app, rate_limit: auth }
      - { name: default, match: { path_prefix: / }, upstream: app, cache: pages }
  - name: www-first
    hosts: [shop.test, www.shop.test, "::1"]
    canonical_host: www.shop.test
    aliases: [shop.test, "::1"]
    https_port: 8443
    redirect_status: 302
    routes:
      - { name: only, match: { path: /only }, upstream: app }
upstreams:
  app: { servers: ["127.0.0.1:3000", "127.0.0.1:3001"] }
cache:
  policies:
    pages: { default_ttl: 0s }
rate_limits:
  policies:
    auth: { rate: 10/1m, burst: 5, key: client_ip }
)";

class SiteRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const conf::LoadResult r = conf::loadConfigString(kYaml, "test.yaml");
    ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].str());
    snap_ = Snapshot::build(r.config, 1);
  }

  // The redirect HostPolicy, then RedirectPolicy, would answer; none = status 0.
  Redirect decide(std::string_view host, std::string_view path, bool tls,
                  std::string_view method = "GET", std::string_view query = {},
                  bool has_query = false) {
    RequestFacts f;
    f.method = method;
    f.host = host;
    f.path = path;
    f.query = query;
    f.has_query = has_query;
    f.tls = tls;
    const HostMatch m = snap_->matchHost(host);
    EXPECT_NE(m.site, nullptr) << host;
    if (!m.site) return {};
    if (Redirect r = canonicalRedirect(*snap_, m, f)) return r;
    return mapRedirect(*snap_, *m.site, f);
  }

  SnapshotPtr snap_;
};

TEST_F(SiteRulesTest, AliasToApexAndHttpToHttpsInOneHop) {
  Redirect r = decide("www.example.com", "/a/b", false, "GET", "x=1&y=%20", true);
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(r.location, "https://example.com/a/b?x=1&y=%20");
  EXPECT_STREQ(r.reason, "alias+https");
  r = decide("www.example.com", "/a", true);
  EXPECT_EQ(r.location, "https://example.com/a");
  EXPECT_STREQ(r.reason, "alias");
  r = decide("example.com", "/a", false);
  EXPECT_EQ(r.location, "https://example.com/a");
  EXPECT_STREQ(r.reason, "https");
  // A host of the site that is no alias keeps its name on the way to HTTPS.
  EXPECT_EQ(decide("app.example.com", "/x", false).location, "https://app.example.com/x");
  EXPECT_FALSE(decide("example.com", "/a", true));
  EXPECT_FALSE(decide("app.example.com", "/a", true));
}

TEST_F(SiteRulesTest, ApexToWwwWithConfiguredPortAndStatus) {
  Redirect r = decide("shop.test", "/p", false);
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(r.location, "http://www.shop.test/p");
  r = decide("shop.test", "/p", true);
  EXPECT_EQ(r.location, "https://www.shop.test:8443/p");
  EXPECT_FALSE(decide("www.shop.test", "/p", false));
}

TEST_F(SiteRulesTest, OtherMethodsGet308) {
  EXPECT_EQ(decide("www.example.com", "/a", false, "POST").status, 308);
  EXPECT_EQ(decide("www.example.com", "/a", false, "HEAD").status, 301);
  EXPECT_EQ(decide("shop.test", "/a", false, "DELETE").status, 308);
  EXPECT_EQ(decide("example.com", "/spring-sale", true, "PUT").status, 308);
  EXPECT_EQ(redirectStatus(302, "GET"), 302);
  EXPECT_EQ(redirectStatus(302, "OPTIONS"), 308);
}

TEST_F(SiteRulesTest, HostSpellingsNeverReachTheLocation) {
  for (const char* host :
       {"WWW.Example.COM", "www.example.com.", "www.example.com:8080", "www.example.com.:80"}) {
    const Redirect r = decide(host, "/", false);
    EXPECT_EQ(r.location, "https://example.com/") << host;
  }
  // An IPv6 literal alias goes to the configured canonical host.
  EXPECT_EQ(decide("[::1]:8080", "/v6", true).location, "https://www.shop.test:8443/v6");
  EXPECT_EQ(snap_->matchHost("evil.example.com").site, nullptr);
  EXPECT_EQ(snap_->matchHost("example.com@evil.com").site, nullptr);
}

TEST_F(SiteRulesTest, AcmeChallengesStayOnTheirHostAndScheme) {
  EXPECT_FALSE(decide("www.example.com", "/.well-known/acme-challenge/tok3n", false));
  EXPECT_FALSE(decide("example.com", "/.well-known/acme-challenge/tok3n", false));
  EXPECT_TRUE(decide("example.com", "/.well-known/acme-challenge", false));
  EXPECT_TRUE(decide("example.com", "/.well-known/other", false));
}

TEST_F(SiteRulesTest, RedirectMapRelativeAbsoluteAndFoldedIntoTheCanonicalHop) {
  Redirect r = decide("example.com", "/spring-sale", true, "GET", "utm_source=mail", true);
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(r.location, "/pricing?utm_source=mail");
  EXPECT_STREQ(r.reason, "map");
  EXPECT_EQ(decide("example.com", "/old-form", true).status, 302);
  r = decide("example.com", "/blog/2020/a%2Fb", true, "GET", "q=%E2%9C%93", true);
  EXPECT_EQ(r.location, "https://blog.example.org/2020/a%2Fb?q=%E2%9C%93");
  // From the alias over plain HTTP: one hop straight to the map's target.
  r = decide("www.example.com", "/spring-sale", false, "GET", "a=1", true);
  EXPECT_EQ(r.location, "https://example.com/pricing?a=1");
  EXPECT_STREQ(r.reason, "alias+https+map");
  r = decide("www.example.com", "/blog/x", false);
  EXPECT_EQ(r.location, "https://blog.example.org/x");
  EXPECT_FALSE(decide("example.com", "/spring-sale/", true));
}

TEST_F(SiteRulesTest, HeaderPolicyReplacesRemovesAndSendsHstsOnTlsOnly) {
  const conf::Site& site = *snap_->findSite("example.com");
  ResponseOut head;
  head.headers = {{"Server", "gunicorn"},
                  {"x-frame-options", "SAMEORIGIN"},
                  {"X-Powered-By", "PHP/8"},
                  {"Content-Type", "text/html"},
                  {"X-Frame-Options", "ALLOW"}};
  applySiteHeaders(site, false, head);
  std::vector<std::pair<std::string_view, std::string_view>> want = {
      {"Content-Type", "text/html"},
      {"X-Frame-Options", "DENY"},
      {"X-Content-Type-Options", "nosniff"}};
  EXPECT_EQ(head.headers, want);
  applySiteHeaders(site, true, head);
  want.emplace_back("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
  EXPECT_EQ(head.headers, want);
}

std::string explained(const Snapshot& snap, ExplainRequest req) {
  ExplainLines lines;
  std::string error;
  if (!explainRequest(snap, req, lines, error)) return "error: " + error;
  std::string out;
  for (const auto& [k, v] : lines) out += k + ": " + v + "\n";
  return out;
}

TEST_F(SiteRulesTest, ExplainRedirect) {
  const std::string out = explained(*snap_, {"POST", {}, "http://WWW.example.com/a?b=%20#frag"});
  EXPECT_EQ(out,
            "request: POST http://WWW.example.com/a?b=%20\n"
            "scheme: http\n"
            "host: WWW.example.com\n"
            "site: apex\n"
            "decision: redirect\n"
            "status: 308\n"
            "location: https://example.com/a?b=%20\n"
            "redirect_reason: alias+https\n"
            "response_header.X-Frame-Options: DENY\n"
            "response_header.X-Content-Type-Options: nosniff\n"
            "response_headers_removed: Server, X-Powered-By\n");
}

TEST_F(SiteRulesTest, ExplainProxy) {
  const std::string out = explained(*snap_, {"POST", {"Cookie: a=b"}, "https://example.com/login"});
  for (const char* line :
       {"decision: proxy\n", "route: login\n", "upstream: app\n",
        "upstream.servers: 127.0.0.1:3000, 127.0.0.1:3001\n", "upstream.balance: round_robin\n",
        "cache: none\n", "rate_limit: auth\n", "rate_limit.auth.rate: 10/1m\n",
        "rate_limit.auth.burst: 5\n", "rate_limit.auth.key: client_ip\n",
        "response_header.Strict-Transport-Security: max-age=31536000; includeSubDomains\n"}) {
    EXPECT_NE(out.find(line), std::string::npos) << line << " not in:\n" << out;
  }
  const std::string page = explained(*snap_, {"GET", {}, "https://example.com/page"});
  EXPECT_NE(page.find("route: default\nupstream: app\n"), std::string::npos) << page;
  EXPECT_NE(page.find("cache: pages\ncache.default_ttl: 0s\ncache.ignore_query_params: none\n"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("rate_limit: none\n"), std::string::npos) << page;
}

TEST_F(SiteRulesTest, ExplainHostHeaderUnknownHostNoRouteAndBadInput) {
  std::string out = explained(*snap_, {"GET", {"Host: evil.test"}, "http://127.0.0.1/"});
  EXPECT_NE(out.find("host: evil.test\nsite: none\ndecision: misdirected\nstatus: 421\n"),
            std::string::npos)
      << out;
  out = explained(*snap_, {"GET", {}, "https://www.shop.test/nope"});
  EXPECT_NE(out.find("decision: no_route\nstatus: 404\n"), std::string::npos) << out;
  EXPECT_EQ(explained(*snap_, {"GET", {}, "ftp://example.com/"}),
            "error: the URL must start with http:// or https://");
  EXPECT_NE(explained(*snap_, {"GET", {}, "http://user@example.com/"}).find("error: "),
            std::string::npos);
  EXPECT_NE(explained(*snap_, {"GET", {}, "http://example.com/a b"}).find("error: "),
            std::string::npos);
  EXPECT_NE(explained(*snap_, {"G E T", {}, "http://example.com/"}).find("error: "),
            std::string::npos);
  EXPECT_NE(explained(*snap_, {"GET", {"Bad Header"}, "http://example.com/"}).find("error: "),
            std::string::npos);
}

}  // namespace
}  // namespace edge
