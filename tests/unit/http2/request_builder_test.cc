#include "gateway/http2/request_builder.h"

#include <gtest/gtest.h>

#include <string>

namespace edge::http2 {
namespace {

RequestBuilder basic(uint32_t max = 32768) {
  RequestBuilder b(max);
  b.add(":method", "GET");
  b.add(":scheme", "https");
  b.add(":authority", "example.com");
  b.add(":path", "/a?b=1");
  return b;
}

TEST(RequestBuilder, AuthorityBecomesHost) {
  RequestBuilder b = basic();
  b.add("accept", "*/*");
  std::string out;
  const char* reason = "";
  ASSERT_EQ(b.build(true, out, &reason), 0);
  EXPECT_EQ(out, "GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\naccept: */*\r\n\r\n");
}

TEST(RequestBuilder, HostWithoutAuthority) {
  RequestBuilder b(32768);
  b.add(":method", "GET");
  b.add(":scheme", "http");
  b.add(":path", "/");
  b.add("host", "h.test");
  std::string out;
  const char* reason = "";
  ASSERT_EQ(b.build(true, out, &reason), 0);
  EXPECT_EQ(out, "GET / HTTP/1.1\r\nHost: h.test\r\n\r\n");
}

TEST(RequestBuilder, ConflictingHostIsRefused) {
  RequestBuilder b = basic();
  b.add("host", "other.com");
  std::string out;
  const char* reason = "";
  EXPECT_EQ(b.build(true, out, &reason), 400);
}

TEST(RequestBuilder, SameHostIsKeptOnce) {
  RequestBuilder b = basic();
  b.add("host", "example.com");
  std::string out;
  const char* reason = "";
  ASSERT_EQ(b.build(true, out, &reason), 0);
  EXPECT_EQ(out.find("Host:"), out.rfind("Host:"));
}

TEST(RequestBuilder, CookiesAreJoined) {
  RequestBuilder b = basic();
  b.add("cookie", "a=1");
  b.add("x", "y");
  b.add("cookie", "b=2");
  std::string out;
  const char* reason = "";
  ASSERT_EQ(b.build(true, out, &reason), 0);
  EXPECT_NE(out.find("cookie: a=1; b=2\r\n"), std::string::npos);
}

TEST(RequestBuilder, BodyWithoutLengthIsChunked) {
  RequestBuilder b = basic();
  std::string out;
  const char* reason = "";
  ASSERT_EQ(b.build(false, out, &reason), 0);
  EXPECT_NE(out.find("Transfer-Encoding: chunked\r\n"), std::string::npos);

  RequestBuilder c = basic();
  c.add("content-length", "5");
  ASSERT_EQ(c.build(false, out, &reason), 0);
  EXPECT_EQ(out.find("Transfer-Encoding"), std::string::npos);
  EXPECT_NE(out.find("content-length: 5\r\n"), std::string::npos);
}

TEST(RequestBuilder, TeAndExpectAreDropped) {
  RequestBuilder b = basic();
  b.add("te", "trailers");
  b.add("expect", "100-continue");
  std::string out;
  const char* reason = "";
  ASSERT_EQ(b.build(true, out, &reason), 0);
  EXPECT_EQ(out.find("te:"), std::string::npos);
  EXPECT_EQ(out.find("expect"), std::string::npos);
}

TEST(RequestBuilder, MissingPseudoHeaderIsRefused) {
  RequestBuilder b(32768);
  b.add(":method", "GET");
  b.add(":authority", "a");
  std::string out;
  const char* reason = "";
  EXPECT_EQ(b.build(true, out, &reason), 400);
}

TEST(RequestBuilder, ConnectIsNotImplemented) {
  RequestBuilder b(32768);
  b.add(":method", "CONNECT");
  b.add(":authority", "a:443");
  std::string out;
  const char* reason = "";
  EXPECT_EQ(b.build(true, out, &reason), 501);
}

TEST(RequestBuilder, HeaderListLimitGives431) {
  RequestBuilder b = basic(300);
  EXPECT_TRUE(b.add("a", "b"));
  EXPECT_FALSE(b.add("big", std::string(200, 'x')));
  EXPECT_FALSE(b.add("c", "d"));
  std::string out;
  const char* reason = "";
  EXPECT_EQ(b.build(true, out, &reason), 431);
}

}  // namespace
}  // namespace edge::http2
