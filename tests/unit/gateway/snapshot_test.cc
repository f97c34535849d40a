// Host normalisation, site lookup and first-match routing.
#include "gateway/snapshot.h"

#include <gtest/gtest.h>

namespace edge {
namespace {

std::shared_ptr<const conf::Config> makeConfig() {
  auto cfg = std::make_shared<conf::Config>();
  conf::Site site;
  site.name = "main";
  site.hosts = {"example.com", "www.example.com", "::1"};
  conf::Route login;
  login.name = "login";
  login.match.path = "/login";
  login.match.methods = {"POST"};
  login.upstream = "app";
  conf::Route assets;
  assets.name = "assets";
  assets.match.path_prefix = "/assets/";
  assets.match.methods = {"GET"};
  assets.upstream = "app";
  conf::Route fallback;
  fallback.name = "default";
  fallback.match.path_prefix = "/";
  fallback.upstream = "app";
  site.routes = {login, assets, fallback};
  cfg->sites.push_back(site);
  conf::Site other;
  other.name = "api";
  other.hosts = {"api.example.com"};
  conf::Route only;
  only.name = "only";
  only.match.path = "/only";
  only.upstream = "app";
  other.routes = {only};
  cfg->sites.push_back(other);
  conf::Upstream up;
  up.name = "app";
  up.servers = {{"127.0.0.1", 3000}};
  cfg->upstreams["app"] = up;
  return cfg;
}

TEST(SnapshotTest, NormalizesHostCasePortAndTrailingDot) {
  char buf[256];
  EXPECT_EQ(Snapshot::normalizeHost("Example.COM", buf, sizeof buf), "example.com");
  EXPECT_EQ(Snapshot::normalizeHost("example.com:8080", buf, sizeof buf), "example.com");
  EXPECT_EQ(Snapshot::normalizeHost("example.com.", buf, sizeof buf), "example.com");
  EXPECT_EQ(Snapshot::normalizeHost("example.com.:443", buf, sizeof buf), "example.com");
  EXPECT_EQ(Snapshot::normalizeHost("[::1]:8080", buf, sizeof buf), "[::1]");
  EXPECT_EQ(Snapshot::normalizeHost("", buf, sizeof buf), "");
  EXPECT_EQ(Snapshot::normalizeHost("a:b:c", buf, sizeof buf), "");
  EXPECT_EQ(Snapshot::normalizeHost("example.com:80x", buf, sizeof buf), "");
  EXPECT_EQ(Snapshot::normalizeHost("[::1", buf, sizeof buf), "");
}

TEST(SnapshotTest, FindsSiteByAnyOfItsHosts) {
  auto snap = Snapshot::build(makeConfig(), 1);
  ASSERT_NE(snap->findSite("WWW.example.com:80"), nullptr);
  EXPECT_EQ(snap->findSite("www.example.com")->name, "main");
  EXPECT_EQ(snap->findSite("api.example.com")->name, "api");
  EXPECT_EQ(snap->findSite("[::1]:8443")->name, "main");
  EXPECT_EQ(snap->findSite("evil.example.com"), nullptr);
  EXPECT_EQ(snap->findSite("example.com.evil"), nullptr);
}

TEST(SnapshotTest, FirstMatchingRouteWinsAndMethodsFilter) {
  auto snap = Snapshot::build(makeConfig(), 1);
  const conf::Site& site = *snap->findSite("example.com");
  EXPECT_EQ(Snapshot::findRoute(site, "POST", "/login")->name, "login");
  // GET /login is not the login route (POST only): it falls through to default.
  EXPECT_EQ(Snapshot::findRoute(site, "GET", "/login")->name, "default");
  // Exact paths do not match as prefixes.
  EXPECT_EQ(Snapshot::findRoute(site, "POST", "/login/x")->name, "default");
  EXPECT_EQ(Snapshot::findRoute(site, "GET", "/assets/app.css")->name, "assets");
  // HEAD is served by GET routes.
  EXPECT_EQ(Snapshot::findRoute(site, "HEAD", "/assets/app.css")->name, "assets");
  EXPECT_EQ(Snapshot::findRoute(site, "POST", "/assets/app.css")->name, "default");
  const conf::Site& api = *snap->findSite("api.example.com");
  EXPECT_EQ(Snapshot::findRoute(api, "GET", "/other"), nullptr);
  EXPECT_EQ(Snapshot::findRoute(api, "GET", "/only")->name, "only");
}

TEST(SnapshotTest, RoutesKnowTheirUpstreamAndServersAreResolved) {
  auto snap = Snapshot::build(makeConfig(), 7);
  EXPECT_EQ(snap->generation(), 7u);
  const conf::Site& site = *snap->findSite("example.com");
  const conf::Upstream* up = snap->upstreamFor(&site.routes[0]);
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(up->name, "app");
  EXPECT_TRUE(snap->resolved(up->servers[0]).ok);
  conf::HostPort stranger{"127.0.0.1", 1};
  EXPECT_FALSE(snap->resolved(stranger).ok);
}

}  // namespace
}  // namespace edge
