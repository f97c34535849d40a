#include "ratelimit/key.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>

#include "conf/config.h"
#include "gateway/client_ip.h"
#include "gateway/exchange.h"

namespace edge::ratelimit {
namespace {

struct Parsed {
  http1::RequestParser parser;
  const http1::RequestHead& head;
  explicit Parsed(const std::string& text) : head(parser.head()) {
    size_t used = 0;
    EXPECT_EQ(parser.feed(text.data(), text.size(), &used), http1::Progress::kComplete) << text;
  }
};

IpAddr ip(const char* text) {
  IpAddr a;
  EXPECT_TRUE(parseIp(text, a)) << text;
  return a;
}

conf::RateLimitPolicy policy(std::vector<std::string> key, unsigned v6 = 64) {
  conf::RateLimitPolicy p;
  p.name = "p";
  p.rate = 1;
  p.key = std::move(key);
  p.ipv6_prefix = v6;
  return p;
}

std::string key(const conf::RateLimitPolicy& p, const IpAddr& a, const http1::RequestHead& h) {
  std::string out;
  buildKey(p, a, h, out);
  return out;
}

TEST(Key, Ipv6GroupedByPrefix) {
  Parsed r("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  auto p = policy({"client_ip"});
  EXPECT_EQ(key(p, ip("2001:db8:1:2::1"), r.head), key(p, ip("2001:db8:1:2:ffff::9"), r.head));
  EXPECT_NE(key(p, ip("2001:db8:1:2::1"), r.head), key(p, ip("2001:db8:1:3::1"), r.head));
  auto p128 = policy({"client_ip"}, 128);
  EXPECT_NE(key(p128, ip("2001:db8:1:2::1"), r.head), key(p128, ip("2001:db8:1:2::2"), r.head));
  auto p56 = policy({"client_ip"}, 56);
  EXPECT_EQ(key(p56, ip("2001:db8:1:200::1"), r.head), key(p56, ip("2001:db8:1:2ff::1"), r.head));
  // IPv4 is never grouped, and a mapped address is the IPv4 one.
  EXPECT_NE(key(p, ip("10.0.0.1"), r.head), key(p, ip("10.0.0.2"), r.head));
  EXPECT_EQ(key(p, ip("::ffff:10.0.0.1"), r.head), key(p, ip("10.0.0.1"), r.head));
}

TEST(Key, HeaderAndCookieWithFallbackToClientIp) {
  Parsed with("POST /x HTTP/1.1\r\nHost: a\r\nX-Api-Key: k1\r\nCookie: a=1; session=s1\r\n\r\n");
  Parsed other("POST /x HTTP/1.1\r\nHost: a\r\nX-Api-Key: k2\r\nCookie: session=s2\r\n\r\n");
  Parsed none("POST /x HTTP/1.1\r\nHost: a\r\nCookie: sessionx=s1\r\n\r\n");
  const IpAddr a = ip("192.0.2.1"), b = ip("192.0.2.2");
  auto h = policy({"header:X-Api-Key"});
  EXPECT_EQ(key(h, a, with.head), key(h, b, with.head));  // the header, not the address
  EXPECT_NE(key(h, a, with.head), key(h, a, other.head));
  EXPECT_EQ(key(h, a, none.head), key(policy({"client_ip"}), a, none.head));
  EXPECT_NE(key(h, a, none.head), key(h, b, none.head));
  auto c = policy({"cookie:session"});
  EXPECT_EQ(key(c, a, with.head), key(c, b, with.head));
  EXPECT_NE(key(c, a, with.head), key(c, a, other.head));
  EXPECT_EQ(key(c, a, none.head), key(policy({"client_ip"}), a, none.head));  // sessionx != session
  auto both = policy({"client_ip", "header:X-Api-Key"});
  EXPECT_NE(key(both, a, with.head), key(both, b, with.head));
}

TEST(Key, PolicyNameSeparatesBuckets) {
  Parsed r("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  auto p1 = policy({"client_ip"});
  auto p2 = p1;
  p2.name = "q";
  EXPECT_NE(key(p1, ip("10.0.0.1"), r.head), key(p2, ip("10.0.0.1"), r.head));
}

TEST(Key, FindCookie) {
  Parsed r("GET / HTTP/1.1\r\nHost: a\r\nCookie: x=1;  sid=\"abc\" ; y=\r\nCookie: z=9\r\n\r\n");
  EXPECT_EQ(findCookie(r.head, "sid"), "abc");
  EXPECT_EQ(findCookie(r.head, "z"), "9");
  EXPECT_EQ(findCookie(r.head, "y"), "");
  EXPECT_EQ(findCookie(r.head, "SID"), "");
}

TEST(Key, Hashes) {
  EXPECT_EQ(stableHash("abc").size(), 32u);
  EXPECT_EQ(stableHash("abc"), stableHash("abc"));
  EXPECT_NE(stableHash("abc"), stableHash("abd"));
  EXPECT_EQ(localHash("abc"), localHash("abc"));
  EXPECT_NE(localHash("abc"), localHash("abd"));
  EXPECT_NE(localHash(std::string("a\0b", 3)), localHash(std::string("a\0c", 3)));
}

conf::Config trusting(std::vector<std::string> cidrs) {
  conf::Config cfg;
  for (const auto& text : cidrs) {
    conf::Cidr c;
    IpAddr a = ip(text.substr(0, text.find('/')).c_str());
    c.v6 = a.v6;
    memcpy(c.bytes, a.bytes, 16);
    c.prefix = static_cast<uint8_t>(std::stoi(text.substr(text.find('/') + 1)));
    c.text = text;
    cfg.server.trusted_proxies.push_back(c);
  }
  return cfg;
}

ClientInfo peer(const char* text) {
  ClientInfo c;
  IpAddr a = ip(text);
  c.v6 = a.v6;
  memcpy(c.addr, a.bytes, 16);
  c.ip = text;
  return c;
}

std::string real(const conf::Config& cfg, const char* peer_ip, const std::string& xff_fields) {
  Parsed r("GET / HTTP/1.1\r\nHost: a\r\n" + xff_fields + "\r\n");
  IpAddr a = realClientAddr(cfg, peer(peer_ip), r.head);
  char text[64];
  inet_ntop(a.v6 ? AF_INET6 : AF_INET, a.bytes, text, sizeof text);
  return text;
}

TEST(ClientIp, ForwardedForOnlyFromTrustedPeers) {
  auto cfg = trusting({"127.0.0.1/32", "10.0.0.0/8"});
  EXPECT_EQ(real(cfg, "192.0.2.9", "X-Forwarded-For: 203.0.113.5\r\n"), "192.0.2.9");
  EXPECT_EQ(real(cfg, "127.0.0.1", "X-Forwarded-For: 203.0.113.5\r\n"), "203.0.113.5");
  // The client's own spoofed entries sit left of what the trusted proxy added.
  EXPECT_EQ(real(cfg, "127.0.0.1", "X-Forwarded-For: 1.1.1.1, 203.0.113.5, 10.1.1.1\r\n"),
            "203.0.113.5");
  EXPECT_EQ(real(cfg, "127.0.0.1", "X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 203.0.113.7\r\n"),
            "203.0.113.7");
  // Garbage stops the walk at the last good hop, never beyond it.
  EXPECT_EQ(real(cfg, "127.0.0.1", "X-Forwarded-For: 203.0.113.5, nonsense\r\n"), "127.0.0.1");
  EXPECT_EQ(real(cfg, "127.0.0.1", ""), "127.0.0.1");
  EXPECT_EQ(real(cfg, "127.0.0.1", "X-Forwarded-For: [2001:db8::1]:443\r\n"), "2001:db8::1");
}

}  // namespace
}  // namespace edge::ratelimit
