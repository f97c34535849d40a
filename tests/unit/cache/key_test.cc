#include "cache/key.h"

#include <gtest/gtest.h>

namespace edge::cache {
namespace {

TEST(Key, CanonicalHostPathQuery) {
  std::string k;
  buildKey("Example.COM:8443", "/a/b", "x=1&y=2", true, {}, k);
  EXPECT_EQ(k, "example.com/a/b?x=1&y=2");
  buildKey("example.com.", "/a", "", false, {}, k);
  EXPECT_EQ(k, "example.com/a");
  buildKey("[::1]:80", "/", "", false, {}, k);
  EXPECT_EQ(k, "[::1]/");
}

TEST(Key, IgnoredParamsDroppedOrderKept) {
  std::vector<std::string> ignore{"utm_source", "gclid"};
  std::string k;
  buildKey("h", "/p", "b=2&utm_source=x&a=1&gclid=7", true, ignore, k);
  EXPECT_EQ(k, "h/p?b=2&a=1");
  buildKey("h", "/p", "utm_source=x", true, ignore, k);
  EXPECT_EQ(k, "h/p");
  buildKey("h", "/p", "utm_sourcex=1", true, ignore, k);
  EXPECT_EQ(k, "h/p?utm_sourcex=1");
}

TEST(Key, FromUrl) {
  std::string k;
  ASSERT_TRUE(keyFromUrl("https://Example.com/a?utm_source=1&q=2", {"utm_source"}, k));
  EXPECT_EQ(k, "example.com/a?q=2");
  ASSERT_TRUE(keyFromUrl("example.com", {}, k));
  EXPECT_EQ(k, "example.com/");
  EXPECT_FALSE(keyFromUrl("https:///a", {}, k));
}

TEST(Key, AcceptEncodingNormalised) {
  EXPECT_EQ(normalizeVaryValue("Accept-Encoding", "gzip, br"),
            normalizeVaryValue("accept-encoding", "br;q=0.9,gzip"));
  EXPECT_EQ(normalizeVaryValue("accept-encoding", "gzip;q=0, identity"), "");
  EXPECT_EQ(normalizeVaryValue("accept-encoding", "x-whatever"), "");
  EXPECT_EQ(normalizeVaryValue("accept-language", "de"), "de");
}

}  // namespace
}  // namespace edge::cache
