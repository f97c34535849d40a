// RFC 9111 storability, freshness and Age over a matrix of headers, with an
// injected clock (Unix seconds): no sleeps.
#include "cache/freshness.h"

#include <gtest/gtest.h>

#include <string>

namespace edge::cache {
namespace {

constexpr int64_t kNow = 1'800'000'000;  // an arbitrary wall-clock second

std::string date(int64_t t) {
  char buf[32];
  return std::string(formatHttpDate(t, buf));
}

PolicyTimes pagesPolicy() {
  return PolicyTimes{0, 86400, 0, 0};
}
PolicyTimes staticPolicy() {
  return PolicyTimes{3600, 86400, 30, 600};
}

RequestFacts get(std::string_view path = "/page") {
  RequestFacts f;
  f.method = "GET";
  f.path = path;
  return f;
}

struct StoreCase {
  const char* name;
  FieldList fields;
  uint16_t status;
  bool authenticated;
  PolicyTimes policy;
  bool store;
  const char* reason;
};

TEST(Storability, Matrix) {
  const StoreCase cases[] = {
      {"max-age", {{"Cache-Control", "max-age=60"}}, 200, false, pagesPolicy(), true, "stored"},
      {"s-maxage", {{"Cache-Control", "s-maxage=60"}}, 200, false, pagesPolicy(), true, "stored"},
      {"no freshness, pages", {}, 200, false, pagesPolicy(), false, "ttl"},
      {"no freshness, static", {}, 200, false, staticPolicy(), true, "stored"},
      {"expires",
       {{"Date", "Thu, 01 Jan 2026 00:00:00 GMT"}, {"Expires", "Thu, 01 Jan 2026 01:00:00 GMT"}},
       200,
       false,
       pagesPolicy(),
       true,
       "stored"},
      {"no-store",
       {{"Cache-Control", "no-store, max-age=60"}},
       200,
       false,
       staticPolicy(),
       false,
       "no-store"},
      {"private",
       {{"Cache-Control", "private, max-age=60"}},
       200,
       false,
       staticPolicy(),
       false,
       "private"},
      {"qualified private",
       {{"Cache-Control", "private=\"x\", max-age=60"}},
       200,
       false,
       staticPolicy(),
       false,
       "private"},
      {"set-cookie",
       {{"Cache-Control", "max-age=60"}, {"Set-Cookie", "a=b"}},
       200,
       false,
       staticPolicy(),
       false,
       "set-cookie"},
      {"vary star",
       {{"Cache-Control", "max-age=60"}, {"Vary", "Accept, *"}},
       200,
       false,
       staticPolicy(),
       false,
       "vary"},
      {"vary accept-encoding",
       {{"Cache-Control", "max-age=60"}, {"Vary", "Accept-Encoding"}},
       200,
       false,
       staticPolicy(),
       true,
       "stored"},
      {"authenticated",
       {{"Cache-Control", "max-age=60"}},
       200,
       true,
       staticPolicy(),
       false,
       "authenticated"},
      {"authenticated public",
       {{"Cache-Control", "public, max-age=60"}},
       200,
       true,
       staticPolicy(),
       true,
       "stored"},
      {"authenticated s-maxage",
       {{"Cache-Control", "s-maxage=60"}},
       200,
       true,
       staticPolicy(),
       true,
       "stored"},
      {"authenticated, policy ttl only", {}, 200, true, staticPolicy(), false, "authenticated"},
      {"500 is not cacheable",
       {{"Cache-Control", "max-age=60"}},
       500,
       false,
       staticPolicy(),
       false,
       "status"},
      {"404 heuristic", {}, 404, false, staticPolicy(), true, "stored"},
      {"302 needs explicit", {}, 302, false, staticPolicy(), false, "status"},
      {"302 explicit",
       {{"Cache-Control", "max-age=5"}},
       302,
       false,
       staticPolicy(),
       true,
       "stored"},
      {"206 never", {{"Cache-Control", "max-age=5"}}, 206, false, staticPolicy(), false, "status"},
      {"max-age=0 without validator",
       {{"Cache-Control", "max-age=0"}},
       200,
       false,
       staticPolicy(),
       false,
       "ttl"},
      {"max-age=0 with etag",
       {{"Cache-Control", "max-age=0"}, {"ETag", "\"v1\""}},
       200,
       false,
       staticPolicy(),
       true,
       "stored"},
  };
  for (const auto& c : cases) {
    RequestFacts f = get();
    f.authenticated = c.authenticated;
    Storability s = decideStorable(f, c.status, c.fields, c.policy);
    EXPECT_EQ(s.store, c.store) << c.name;
    EXPECT_STREQ(s.reason, c.reason) << c.name;
  }
}

TEST(Storability, MethodsAndRequestNoStore) {
  FieldList f{{"Cache-Control", "max-age=60"}};
  RequestFacts post = get();
  post.method = "POST";
  EXPECT_FALSE(decideStorable(post, 200, f, staticPolicy()).store);
  RequestFacts head = get();
  head.method = "HEAD";
  EXPECT_FALSE(decideStorable(head, 200, f, staticPolicy()).store);
  RequestFacts ns = get();
  ns.no_store = true;
  EXPECT_STREQ(decideStorable(ns, 200, f, staticPolicy()).reason, "no-store");
}

TEST(Storability, WebCacheDeception) {
  FieldList html{{"Cache-Control", "max-age=60"}, {"Content-Type", "text/html; charset=utf-8"}};
  EXPECT_STREQ(decideStorable(get("/account.css"), 200, html, staticPolicy()).reason,
               "content-type");
  EXPECT_STREQ(decideStorable(get("/account/x.png"), 200, html, staticPolicy()).reason,
               "content-type");
  EXPECT_TRUE(decideStorable(get("/account"), 200, html, staticPolicy()).store);
  EXPECT_TRUE(decideStorable(get("/index.html"), 200, html, staticPolicy()).store);
  FieldList css{{"Cache-Control", "max-age=60"}, {"Content-Type", "text/css"}};
  EXPECT_TRUE(decideStorable(get("/site.CSS"), 200, css, staticPolicy()).store);
  EXPECT_TRUE(contentTypeContradictsPath("/a.js", "text/html"));
  EXPECT_FALSE(contentTypeContradictsPath("/a.js", "application/javascript; charset=utf-8"));
  EXPECT_FALSE(contentTypeContradictsPath("/v1.2/users", "application/json"));
}

TEST(Freshness, LifetimeOrder) {
  PolicyTimes p = staticPolicy();
  // s-maxage beats max-age beats Expires beats the policy.
  EXPECT_EQ(
      computeFreshness({{"Cache-Control", "max-age=10, s-maxage=20"}}, p, kNow, kNow).lifetime, 20);
  EXPECT_EQ(
      computeFreshness(
          {{"Cache-Control", "max-age=10"}, {"Date", date(kNow)}, {"Expires", date(kNow + 100)}}, p,
          kNow, kNow)
          .lifetime,
      10);
  EXPECT_EQ(computeFreshness({{"Date", date(kNow)}, {"Expires", date(kNow + 100)}}, p, kNow, kNow)
                .lifetime,
            100);
  EXPECT_EQ(computeFreshness({{"Expires", "0"}}, p, kNow, kNow).lifetime, 0);
  EXPECT_EQ(computeFreshness({}, p, kNow, kNow).lifetime, 3600);
  // Capped by max_ttl.
  EXPECT_EQ(computeFreshness({{"Cache-Control", "max-age=999999"}}, p, kNow, kNow).lifetime, 86400);
  // A malformed max-age means stale.
  EXPECT_EQ(computeFreshness({{"Cache-Control", "max-age=abc"}}, p, kNow, kNow).lifetime, 0);
}

TEST(Freshness, AgeCalculation) {
  PolicyTimes p = staticPolicy();
  // The origin's clock is 5 s behind the arrival: apparent age 5.
  Freshness f = computeFreshness({{"Date", date(kNow - 5)}, {"Cache-Control", "max-age=60"}}, p,
                                 kNow - 1, kNow);
  EXPECT_EQ(f.corrected_initial_age, 5);
  EXPECT_EQ(currentAge(f, kNow), 5);
  EXPECT_EQ(currentAge(f, kNow + 10), 15);
  // An upstream cache's Age plus the response delay, larger than the apparent age.
  f = computeFreshness({{"Date", date(kNow)}, {"Age", "30"}}, p, kNow - 2, kNow);
  EXPECT_EQ(f.corrected_initial_age, 32);
  // Garbage Age is ignored.
  f = computeFreshness({{"Date", date(kNow)}, {"Age", "x1"}}, p, kNow, kNow);
  EXPECT_EQ(f.corrected_initial_age, 0);
  // A Date in the future gives no negative age.
  f = computeFreshness({{"Date", date(kNow + 100)}}, p, kNow, kNow);
  EXPECT_EQ(currentAge(f, kNow), 0);
}

TEST(Freshness, RequestDirectives) {
  Freshness f = computeFreshness({{"Cache-Control", "max-age=100"}}, pagesPolicy(), kNow, kNow);
  auto rd = [](const char* cc) { return parseRequestDirectives(cc, ""); };
  EXPECT_EQ(usability(f, rd(""), kNow + 50), Usable::kFresh);
  EXPECT_EQ(usability(f, rd("max-age=10"), kNow + 50), Usable::kMustValidate);
  EXPECT_EQ(usability(f, rd("min-fresh=60"), kNow + 50), Usable::kMustValidate);
  EXPECT_EQ(usability(f, rd("min-fresh=40"), kNow + 50), Usable::kFresh);
  EXPECT_EQ(usability(f, rd("no-cache"), kNow + 1), Usable::kMustValidate);
  EXPECT_EQ(usability(f, parseRequestDirectives("", "no-cache"), kNow + 1), Usable::kMustValidate);
  EXPECT_EQ(usability(f, rd(""), kNow + 150), Usable::kMustValidate);
  EXPECT_EQ(usability(f, rd("max-stale=60"), kNow + 150), Usable::kFresh);
  EXPECT_EQ(usability(f, rd("max-stale=10"), kNow + 150), Usable::kMustValidate);
  EXPECT_EQ(usability(f, rd("max-stale"), kNow + 100000), Usable::kFresh);
  RequestDirectives oic = rd("only-if-cached");
  EXPECT_TRUE(oic.only_if_cached);
}

TEST(Freshness, StaleServing) {
  PolicyTimes p = staticPolicy();  // swr 30 s, sie 600 s when the origin says nothing
  Freshness f = computeFreshness({{"Cache-Control", "max-age=10"}}, p, kNow, kNow);
  RequestDirectives none;
  EXPECT_EQ(usability(f, none, kNow + 20), Usable::kStaleRevalidate);
  EXPECT_EQ(usability(f, none, kNow + 45), Usable::kMustValidate);
  EXPECT_TRUE(usableOnError(f, kNow + 500));
  EXPECT_FALSE(usableOnError(f, kNow + 700));
  // The origin's own values win.
  f = computeFreshness(
      {{"Cache-Control", "max-age=10, stale-while-revalidate=5, stale-if-error=0"}}, p, kNow, kNow);
  EXPECT_EQ(usability(f, none, kNow + 20), Usable::kMustValidate);
  EXPECT_FALSE(usableOnError(f, kNow + 11));
  // must-revalidate forbids both.
  f = computeFreshness({{"Cache-Control", "max-age=10, must-revalidate"}}, p, kNow, kNow);
  EXPECT_EQ(usability(f, none, kNow + 11), Usable::kMustValidate);
  EXPECT_FALSE(usableOnError(f, kNow + 11));
  // no-cache: stored, revalidated before every use.
  f = computeFreshness({{"Cache-Control", "no-cache, max-age=100"}}, p, kNow, kNow);
  EXPECT_EQ(usability(f, none, kNow), Usable::kMustValidate);
}

TEST(HttpFields, Dates) {
  EXPECT_EQ(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
  EXPECT_EQ(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
  EXPECT_EQ(parseHttpDate("Sun Nov  6 08:49:37 1994"), 784111777);
  EXPECT_FALSE(parseHttpDate("yesterday"));
  EXPECT_FALSE(parseHttpDate(""));
  EXPECT_EQ(date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
}

TEST(HttpFields, EtagLists) {
  EXPECT_TRUE(etagListMatches("\"a\", \"b\"", "\"b\""));
  EXPECT_TRUE(etagListMatches("W/\"a\"", "\"a\""));
  EXPECT_TRUE(etagListMatches("*", "\"x\""));
  EXPECT_FALSE(etagListMatches("\"a\"", "\"b\""));
  EXPECT_FALSE(etagListMatches("\"a\"", ""));
}

TEST(HttpFields, QuotedDirectives) {
  ResponseDirectives d = parseResponseDirectives("no-cache=\"Set-Cookie, X\", max-age=5");
  EXPECT_TRUE(d.no_cache);
  EXPECT_EQ(d.max_age, 5);
  d = parseResponseDirectives("PUBLIC, S-MAXAGE=7");
  EXPECT_TRUE(d.public_);
  EXPECT_EQ(d.s_maxage, 7);
}

}  // namespace
}  // namespace edge::cache
