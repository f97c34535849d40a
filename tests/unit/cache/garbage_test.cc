// Field values come from clients and origins: the parsers take any bytes without reading out of
// bounds (ASan in CI) and without throwing. Deterministic pseudo-random inputs plus the edge
// cases that broke similar parsers elsewhere.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "cache/freshness.h"
#include "cache/http_fields.h"
#include "cache/key.h"

namespace edge::cache {
namespace {

TEST(Garbage, ParsersTakeAnyBytes) {
  std::vector<std::string> inputs = {"",
                                     "\"",
                                     "\\",
                                     "=",
                                     ",,,",
                                     "max-age=\"",
                                     "max-age=\"\\",
                                     "no-cache=\"a,b",
                                     "W/",
                                     "*",
                                     "bytes=",
                                     "max-stale=",
                                     "s-maxage=99999999999999999999",
                                     "\"\\\"\\"};
  std::mt19937 rng(1234);
  const std::string alphabet = "\"\\,;= -\t/*Wmaxgesn0123456789\x01\x7f\xff";
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    size_t n = rng() % 40;
    for (size_t j = 0; j < n; ++j) s.push_back(alphabet[rng() % alphabet.size()]);
    inputs.push_back(s);
  }
  std::string key;
  for (const auto& s : inputs) {
    parseResponseDirectives(s);
    parseRequestDirectives(s, s);
    parseHttpDate(s);
    etagListMatches(s, s);
    etagListMatches(s, "\"x\"");
    splitList(s);
    normalizeVaryValue("accept-encoding", s);
    keyFromUrl(s, {"a"}, key);
    buildKey(s, s, s, true, {"x", ""}, key);
    contentTypeContradictsPath(s, s);
    FieldList f{{"Cache-Control", s}, {"Expires", s}, {"Date", s}, {"Age", s}, {"Vary", s}};
    computeFreshness(f, PolicyTimes{}, 0, 0);
    RequestFacts facts;
    facts.method = "GET";
    facts.path = s;
    decideStorable(facts, 200, f, PolicyTimes{60, 3600, 0, 0});
  }
  SUCCEED();
}

}  // namespace
}  // namespace edge::cache
