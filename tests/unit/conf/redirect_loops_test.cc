// `edgegate -t` refuses redirect rules that can loop: a rule onto itself, a
// cycle across rules (also across sites through absolute targets), the
// canonical host listed as an alias, the same `from` twice.
#include <gtest/gtest.h>

#include "conf/loader.h"
#include "conf_test_util.h"

namespace edge::conf {
namespace {

using testing::allErrors;
using testing::hasError;
using testing::kMinimal;
using testing::loadYaml;
using testing::replaceLine;

// kMinimal with line 6 (hosts) replaced; the first added line is line 6.
LoadResult withSiteLines(const std::string& lines) {
  return loadYaml(replaceLine(kMinimal, 6, lines));
}

TEST(RedirectLoops, RuleOntoItself) {
  const LoadResult r = withSiteLines(
      "    hosts: [a.com]\n"
      "    redirects:\n"
      "      - { from: /a, to: /a }\n"
      "      - { from: /b, to: \"/b?x=1\" }");
  EXPECT_TRUE(hasError(r, 8, 9, "redirect loop: /a -> /a -> ..."));
  EXPECT_TRUE(hasError(r, 9, 9, "redirect loop: /b -> /b"));
  EXPECT_EQ(r.errors.size(), 2u) << allErrors(r);
}

TEST(RedirectLoops, ThreeRuleCycleReportedOnceAtItsFirstRule) {
  const LoadResult r = withSiteLines(
      "    hosts: [a.com]\n"
      "    redirects:\n"
      "      - { from: /c, to: /a }\n"
      "      - { from: /a, to: /b }\n"
      "      - { from: /b, to: /c }");
  EXPECT_TRUE(hasError(r, 8, 9, "redirect loop: /c -> /a -> /b -> /c"));
  EXPECT_EQ(r.errors.size(), 1u) << allErrors(r);
}

TEST(RedirectLoops, AbsoluteTargetOnAnotherHostOfTheSite) {
  const LoadResult r = withSiteLines(
      "    hosts: [a.com, www.a.com]\n"
      "    canonical_host: a.com\n"
      "    aliases: [www.a.com]\n"
      "    redirects:\n"
      "      - { from: /a, to: \"https://WWW.a.com:8443/b\" }\n"
      "      - { from_prefix: /b, to: /a }");
  EXPECT_TRUE(hasError(r, 10, 9, "redirect loop: /a -> /b -> /a"));
}

TEST(RedirectLoops, CycleAcrossSites) {
  std::string yaml = replaceLine(kMinimal, 6,
                                 "    hosts: [a.com]\n"
                                 "    redirects:\n"
                                 "      - { from: /x, to: \"https://b.com/y\" }");
  yaml = replaceLine(yaml, 4,
                     "sites:\n"
                     "  - name: b\n"
                     "    hosts: [b.com]\n"
                     "    redirects:\n"
                     "      - { from_prefix: /y, to: \"http://a.com./x\" }\n"
                     "    routes: [{ name: r, match: { path_prefix: / }, upstream: app }]");
  const LoadResult r = loadYaml(yaml);
  EXPECT_TRUE(hasError(r, 8, 9, "redirect loop: /y* -> a.com./x -> b.com/y -> ..."));
  EXPECT_EQ(r.errors.size(), 1u) << allErrors(r);
}

TEST(RedirectLoops, PrefixRuleThatGrowsThePathForever) {
  const LoadResult r = withSiteLines(
      "    hosts: [a.com]\n"
      "    redirects:\n"
      "      - { from_prefix: /a, to: /ab }");
  EXPECT_TRUE(hasError(r, 8, 9, "redirect loop: /a* -> /ab"));
}

TEST(RedirectLoops, LongestPrefixDecidesLikeTheGateway) {
  // /docs/ -> /docs/v2/ would loop on its own, but /docs/v2/ has a longer
  // rule of its own that leaves the site: no loop.
  const LoadResult r = withSiteLines(
      "    hosts: [a.com]\n"
      "    redirects:\n"
      "      - { from_prefix: /docs/, to: /docs/v2/ }\n"
      "      - { from_prefix: /docs/v2/, to: \"https://docs.example.org/\" }");
  EXPECT_TRUE(r.ok()) << allErrors(r);
}

TEST(RedirectLoops, DuplicateFromIsRefused) {
  const LoadResult r = withSiteLines(
      "    hosts: [a.com]\n"
      "    redirects:\n"
      "      - { from: /a, to: /b }\n"
      "      - { from_prefix: /a, to: /c/ }\n"
      "      - { from: /a, to: /d }");
  EXPECT_TRUE(hasError(r, 10, 9, "redirect from '/a' is listed twice (first at line 8)"));
  EXPECT_EQ(r.errors.size(), 1u) << allErrors(r);
}

TEST(RedirectLoops, CanonicalHostAsAliasEvenWithOtherSpelling) {
  const LoadResult r = withSiteLines(
      "    hosts: [a.com, www.a.com]\n"
      "    canonical_host: A.com\n"
      "    aliases: [www.a.com, a.com.]");
  EXPECT_TRUE(hasError(r, 8, 26, "is the canonical host; as an alias it would redirect to itself"));
}

TEST(RedirectLoops, ThousandsOfRulesAndALongCycle) {
  std::string lines = "    hosts: [a.com]\n    redirects:\n";
  for (int i = 0; i < 3000; ++i) {
    lines += "      - { from: /campaign/" + std::to_string(i) + ", to: /landing/" +
             std::to_string(i) + " }\n";
  }
  for (int i = 0; i < 200; ++i) {
    lines +=
        "      - { from: /c/" + std::to_string(i) + ", to: /c/" + std::to_string(i + 1) + " }\n";
  }
  lines += "      - { from: /c/200, to: /c/0 }";  // closes one cycle through 201 rules
  const LoadResult r = withSiteLines(lines);
  ASSERT_EQ(r.errors.size(), 1u) << allErrors(r).substr(0, 2000);
  EXPECT_TRUE(hasError(r, 3008, 9, "redirect loop: /c/0 -> /c/1 -> /c/2"));
  EXPECT_LT(r.errors[0].message.size(), 200u);
}

}  // namespace
}  // namespace edge::conf
