// The value grammars of SPEC.md: durations, sizes, rates, host:port, CIDR.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "conf/loader.h"
#include "conf/values.h"

namespace edge::conf {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(ParseDuration, AcceptsEveryUnit) {
  EXPECT_EQ(parseDuration("250ms"), milliseconds(250));
  EXPECT_EQ(parseDuration("10s"), seconds(10));
  EXPECT_EQ(parseDuration("5m"), minutes(5));
  EXPECT_EQ(parseDuration("1h"), hours(1));
  EXPECT_EQ(parseDuration("1d"), hours(24));
  EXPECT_EQ(parseDuration("0s"), milliseconds(0));
  EXPECT_EQ(parseDuration("0"), milliseconds(0));
}

TEST(ParseDuration, AcceptsDecreasingCompounds) {
  EXPECT_EQ(parseDuration("1h30m"), minutes(90));
  EXPECT_EQ(parseDuration("1m30s500ms"), milliseconds(90500));
}

TEST(ParseDuration, RejectsMalformed) {
  for (const char* bad :
       {"", "10", "s", "10 s", " 10s", "10s ", "1.5s", "-1s", "10sec", "10S", "1m1m", "30s1m",
        "10ms5ms", "5 m", "1w", "abc", "99999999999999999999s", "106751991167301d"}) {
    EXPECT_FALSE(parseDuration(bad).has_value()) << bad;
  }
}

TEST(ParseSize, AcceptsBinaryAndDecimalUnits) {
  EXPECT_EQ(parseSize("512"), 512u);
  EXPECT_EQ(parseSize("512B"), 512u);
  EXPECT_EQ(parseSize("32KiB"), 32u * 1024);
  EXPECT_EQ(parseSize("256MiB"), 256ull * 1024 * 1024);
  EXPECT_EQ(parseSize("1GiB"), 1ull << 30);
  EXPECT_EQ(parseSize("2TiB"), 2ull << 40);
  EXPECT_EQ(parseSize("10KB"), 10000u);
  EXPECT_EQ(parseSize("3MB"), 3000000u);
  EXPECT_EQ(parseSize("1GB"), 1000000000u);
  EXPECT_EQ(parseSize("0"), 0u);
}

TEST(ParseSize, RejectsMalformed) {
  for (const char* bad : {"", "KiB", "1.5MiB", "-1", "10kib", "10 KiB", "10K", "10mb", "1PiB",
                          "99999999999999999999", "17179869184GiB"}) {
    EXPECT_FALSE(parseSize(bad).has_value()) << bad;
  }
}

TEST(ParseRate, ReadsTokensAndWindow) {
  auto r = parseRate("10/1m");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->tokens, 10u);
  EXPECT_EQ(r->window, minutes(1));
  r = parseRate("100/1s");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->tokens, 100u);
  EXPECT_EQ(r->window, seconds(1));
  r = parseRate("30/1h");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->window, hours(1));
  r = parseRate("10/m");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->tokens, 10u);
  EXPECT_EQ(r->window, minutes(1));
  r = parseRate("5/10s");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->window, seconds(10));
}

TEST(ParseRate, RejectsMalformed) {
  for (const char* bad : {"", "10", "10/", "/1m", "0/1m", "10/0s", "-1/1m", "10/1x", "a/1m",
                          "10/1m/1s", "1.5/1m", "10/minute"}) {
    EXPECT_FALSE(parseRate(bad).has_value()) << bad;
  }
}

TEST(ParseHostPort, AcceptsNamesIpv4AndBracketedIpv6) {
  auto hp = parseHostPort("127.0.0.1:3000");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "127.0.0.1");
  EXPECT_EQ(hp->port, 3000);
  hp = parseHostPort("[::1]:8080");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "::1");
  EXPECT_EQ(hp->port, 8080);
  hp = parseHostPort("app.internal:80");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "app.internal");
  hp = parseHostPort("0.0.0.0:0");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->port, 0);
  EXPECT_TRUE(parseHostPort("localhost:65535"));
}

TEST(ParseHostPort, RejectsMalformed) {
  for (const char* bad :
       {"", "127.0.0.1", ":8080", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:80a", "::1:8080",
        "[::1]8080", "[::1]", "[nothost]:80", "300.1.1.1:80", "1.2.3:80", "a b:80", "host:-1",
        "-host:80", "a..b:80", "host:000080"}) {
    EXPECT_FALSE(parseHostPort(bad).has_value()) << bad;
  }
}

TEST(HostPort, StrRoundTrips) {
  EXPECT_EQ((HostPort{"127.0.0.1", 3000}).str(), "127.0.0.1:3000");
  EXPECT_EQ((HostPort{"::1", 8080}).str(), "[::1]:8080");
  EXPECT_EQ(parseHostPort("[2001:db8::1]:443")->str(), "[2001:db8::1]:443");
}

std::array<uint8_t, 4> v4(const char* s) {
  std::array<uint8_t, 4> a{};
  EXPECT_EQ(inet_pton(AF_INET, s, a.data()), 1) << s;
  return a;
}

std::array<uint8_t, 16> v6(const char* s) {
  std::array<uint8_t, 16> a{};
  EXPECT_EQ(inet_pton(AF_INET6, s, a.data()), 1) << s;
  return a;
}

TEST(ParseCidr, ParsesBlocksAndSingleAddresses) {
  auto c = parseCidr("10.0.0.0/8");
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->v6);
  EXPECT_EQ(c->prefix, 8);
  EXPECT_EQ(c->text, "10.0.0.0/8");
  c = parseCidr("127.0.0.1");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->prefix, 32);
  c = parseCidr("::1");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->v6);
  EXPECT_EQ(c->prefix, 128);
  c = parseCidr("2001:db8::/32");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->prefix, 32);
}

TEST(ParseCidr, RejectsMalformed) {
  for (const char* bad : {"", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0/8", "10.0.0.0/-1",
                          "10.0.0.0/8/8", "host/8", "10.0.0.0/a", "/8", "10.0.0.0/0008"}) {
    EXPECT_FALSE(parseCidr(bad).has_value()) << bad;
  }
}

TEST(Cidr, ContainsIpv4) {
  const Cidr c = *parseCidr("10.0.0.0/8");
  EXPECT_TRUE(c.contains(false, v4("10.1.2.3").data()));
  EXPECT_TRUE(c.contains(false, v4("10.255.255.255").data()));
  EXPECT_FALSE(c.contains(false, v4("11.0.0.0").data()));
  const Cidr odd = *parseCidr("192.168.4.0/22");
  EXPECT_TRUE(odd.contains(false, v4("192.168.7.255").data()));
  EXPECT_FALSE(odd.contains(false, v4("192.168.8.0").data()));
  const Cidr one = *parseCidr("127.0.0.1");
  EXPECT_TRUE(one.contains(false, v4("127.0.0.1").data()));
  EXPECT_FALSE(one.contains(false, v4("127.0.0.2").data()));
  const Cidr all = *parseCidr("0.0.0.0/0");
  EXPECT_TRUE(all.contains(false, v4("8.8.8.8").data()));
}

TEST(Cidr, HostBitsAreIgnored) {
  const Cidr c = *parseCidr("10.9.9.9/8");
  EXPECT_TRUE(c.contains(false, v4("10.0.0.1").data()));
  EXPECT_EQ(c.text, "10.9.9.9/8");
}

TEST(Cidr, ContainsIpv6AndMappedIpv4) {
  const Cidr c = *parseCidr("2001:db8::/32");
  EXPECT_TRUE(c.contains(true, v6("2001:db8:1::5").data()));
  EXPECT_FALSE(c.contains(true, v6("2001:db9::5").data()));
  EXPECT_FALSE(c.contains(false, v4("10.0.0.1").data()));
  // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
  const Cidr v4block = *parseCidr("10.0.0.0/8");
  EXPECT_TRUE(v4block.contains(true, v6("::ffff:10.1.2.3").data()));
  EXPECT_FALSE(v4block.contains(true, v6("::ffff:11.1.2.3").data()));
  EXPECT_FALSE(v4block.contains(true, v6("::1").data()));
  const Cidr mapped = *parseCidr("::ffff:0:0/96");
  EXPECT_TRUE(mapped.contains(false, v4("1.2.3.4").data()));
}

TEST(Format, RoundTripsThroughTheParsers) {
  using detail::formatDuration;
  using detail::formatSize;
  EXPECT_EQ(formatDuration(seconds(90)), "90s");
  EXPECT_EQ(formatDuration(hours(24)), "1d");
  EXPECT_EQ(formatDuration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(formatDuration(milliseconds(0)), "0s");
  EXPECT_EQ(formatSize(32 * 1024), "32KiB");
  EXPECT_EQ(formatSize(1000), "1000");
  EXPECT_EQ(detail::formatRate(10, minutes(1)), "10/1m");
  for (int64_t ms : {1, 999, 1000, 60000, 3600000, 86400000, 90061001}) {
    EXPECT_EQ(parseDuration(formatDuration(milliseconds(ms))), milliseconds(ms)) << ms;
  }
}

TEST(EditDistance, CountsTranspositionsAsOne) {
  EXPECT_EQ(detail::editDistance("upstream", "upstream"), 0u);
  EXPECT_EQ(detail::editDistance("upstrem", "upstream"), 1u);
  EXPECT_EQ(detail::editDistance("upsteram", "upstream"), 1u);
  EXPECT_EQ(detail::editDistance("", "abc"), 3u);
  EXPECT_EQ(detail::closestMatch("bnid", {"bind", "tls", "name"}), "bind");
  EXPECT_EQ(detail::closestMatch("Bind", {"bind", "tls"}), "bind");
  EXPECT_EQ(detail::closestMatch("zzzzzz", {"bind", "tls"}), "");
}

}  // namespace
}  // namespace edge::conf
