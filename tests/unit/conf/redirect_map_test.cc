// The redirect map: exact and prefix rules in one trie walk, and the target
// built byte for byte from `to`, the rest of the path and the query.
#include "conf/redirect_map.h"

#include <gtest/gtest.h>

namespace edge::conf {
namespace {

RedirectRule rule(bool is_prefix, std::string from, std::string to) {
  RedirectRule r;
  (is_prefix ? r.from_prefix : r.from) = std::move(from);
  r.to = std::move(to);
  return r;
}
RedirectRule exact(std::string from, std::string to) {
  return rule(false, std::move(from), std::move(to));
}
RedirectRule prefix(std::string from, std::string to) {
  return rule(true, std::move(from), std::move(to));
}

TEST(RedirectMap, ExactRulesMatchTheWholePathOnly) {
  const std::vector<RedirectRule> rules{exact("/spring-sale", "/pricing")};
  const RedirectMap map(rules);
  EXPECT_EQ(map.match("/spring-sale").rule, 0);
  EXPECT_FALSE(map.match("/spring-sale/"));
  EXPECT_FALSE(map.match("/spring-sal"));
  EXPECT_FALSE(map.match("/Spring-Sale"));    // paths are case-sensitive
  EXPECT_FALSE(map.match("/spring%2Dsale"));  // and not percent-decoded
  EXPECT_FALSE(map.match(""));
}

TEST(RedirectMap, LongestPrefixWinsAndExactBeatsPrefix) {
  const std::vector<RedirectRule> rules{prefix("/blog/", "https://blog.example.com/"),
                                        prefix("/blog/2019/", "/archive/"),
                                        exact("/blog/", "/news")};
  const RedirectMap map(rules);
  EXPECT_EQ(map.match("/blog/").rule, 2);
  EXPECT_EQ(map.match("/blog/x").rule, 0);
  EXPECT_EQ(map.match("/blog/x").prefix_len, 6u);
  EXPECT_EQ(map.match("/blog/2019/a").rule, 1);
  EXPECT_EQ(map.match("/blog/2019/").rule, 1);
  EXPECT_EQ(map.match("/blog/2019").rule, 0);
  EXPECT_FALSE(map.match("/blo"));
  EXPECT_FALSE(map.match("/other"));
}

TEST(RedirectMap, FirstOfTwoEqualRulesWins) {
  const std::vector<RedirectRule> rules{exact("/a", "/one"), exact("/a", "/two"),
                                        prefix("/p/", "/x/"), prefix("/p/", "/y/")};
  const RedirectMap map(rules);
  EXPECT_EQ(map.match("/a").rule, 0);
  EXPECT_EQ(map.match("/p/q").rule, 2);
}

TEST(RedirectMap, EmptyAndInvalidRules) {
  EXPECT_TRUE(RedirectMap().empty());
  EXPECT_FALSE(RedirectMap().match("/"));
  const std::vector<RedirectRule> rules{RedirectRule{}};  // neither from nor from_prefix
  EXPECT_TRUE(RedirectMap(rules).empty());
}

TEST(RedirectMap, BytesAboveAsciiAreOrdinaryBytes) {
  const std::vector<RedirectRule> rules{prefix("/caf\xc3\xa9/", "/cafe/")};
  const RedirectMap map(rules);
  EXPECT_EQ(map.match("/caf\xc3\xa9/menu").rule, 0);
  EXPECT_FALSE(map.match("/caf\xc3\xa8/menu"));
}

// Thousands of rules: every one is found, and a miss walks only the path.
TEST(RedirectMap, ManyRules) {
  std::vector<RedirectRule> rules;
  for (int i = 0; i < 5000; ++i) {
    rules.push_back(exact("/campaign/" + std::to_string(i), "/landing/" + std::to_string(i)));
    rules.push_back(prefix("/old/" + std::to_string(i) + "/", "/new/" + std::to_string(i) + "/"));
  }
  const RedirectMap map(rules);
  for (int i = 0; i < 5000; i += 7) {
    EXPECT_EQ(map.match("/campaign/" + std::to_string(i)).rule, 2 * i);
    EXPECT_EQ(map.match("/old/" + std::to_string(i) + "/page").rule, 2 * i + 1);
  }
  EXPECT_FALSE(map.match("/campaign/5000"));
  EXPECT_FALSE(map.match("/old/12"));
}

TEST(RedirectTarget, QueryIsKeptAndJoined) {
  EXPECT_EQ(redirectTarget(exact("/a", "/pricing"), "", false, ""), "/pricing");
  EXPECT_EQ(redirectTarget(exact("/a", "/pricing"), "", true, "utm_source=x&b=%20"),
            "/pricing?utm_source=x&b=%20");
  EXPECT_EQ(redirectTarget(exact("/a", "/pricing?ref=spring"), "", true, "b=1"),
            "/pricing?ref=spring&b=1");
  EXPECT_EQ(redirectTarget(exact("/a", "/pricing"), "", true, ""), "/pricing");
}

TEST(RedirectTarget, PrefixRulesAppendTheRestByteForByte) {
  const RedirectRule blog = prefix("/blog/", "https://blog.example.com/");
  EXPECT_EQ(redirectTarget(blog, "2020/a%2Fb%20c", true, "q=%E2%9C%93"),
            "https://blog.example.com/2020/a%2Fb%20c?q=%E2%9C%93");
  EXPECT_EQ(redirectTarget(blog, "", false, ""), "https://blog.example.com/");
  // "/docs" -> "/manual/" with rest "/x": one slash, not two.
  EXPECT_EQ(redirectTarget(prefix("/docs", "/manual/"), "/x", false, ""), "/manual/x");
  EXPECT_EQ(redirectTarget(prefix("/docs", "/manual"), "/x", false, ""), "/manual/x");
  // An exact rule ignores the rest.
  EXPECT_EQ(redirectTarget(exact("/a", "/b"), "ignored", false, ""), "/b");
}

TEST(RedirectTarget, AbsoluteTargets) {
  EXPECT_TRUE(isAbsoluteUrl("https://a.com/"));
  EXPECT_TRUE(isAbsoluteUrl("http://a.com"));
  EXPECT_FALSE(isAbsoluteUrl("/a"));
  EXPECT_FALSE(isAbsoluteUrl("//evil.com/"));
  EXPECT_EQ(absoluteTarget("https://example.com", "/pricing?x=1"),
            "https://example.com/pricing?x=1");
  EXPECT_EQ(absoluteTarget("https://example.com", "https://blog.example.com/a"),
            "https://blog.example.com/a");
}

}  // namespace
}  // namespace edge::conf
