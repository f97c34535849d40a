// RequestParser: accepted shapes, field access, connection semantics, limits.
// Smuggling-shaped rejections live in request_strict_test.cc.
#include <gtest/gtest.h>

#include <string>

#include "gateway/http1/parser.h"
#include "tests/unit/http1/helpers.h"

namespace edge::http1 {
namespace {

using testing::feedPieces;

constexpr const char* kGet =
    "GET /index.html?a=1&b=2 HTTP/1.1\r\n"
    "Host: example.com\r\n"
    "User-Agent: curl/8.0\r\n"
    "Accept: */*\r\n"
    "\r\n";

TEST(RequestParser, SimpleGet) {
  RequestParser p;
  EXPECT_FALSE(p.started());
  const std::string in = kGet;
  const auto r = feedPieces(p, in);
  ASSERT_EQ(r.progress, Progress::kComplete) << p.error().reason;
  EXPECT_EQ(r.consumed, in.size());
  const RequestHead& h = p.head();
  EXPECT_EQ(h.raw, in);
  EXPECT_EQ(h.methodView(), "GET");
  EXPECT_EQ(h.targetView(), "/index.html?a=1&b=2");
  EXPECT_EQ(h.pathView(), "/index.html");
  EXPECT_TRUE(h.has_query);
  EXPECT_EQ(h.queryView(), "a=1&b=2");
  EXPECT_EQ(h.hostView(), "example.com");
  EXPECT_EQ(h.version_minor, 1);
  EXPECT_EQ(h.framing, Framing::kNone);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_FALSE(h.expect_continue);
  EXPECT_FALSE(h.upgrade);
  EXPECT_TRUE(h.connection_tokens.empty());
  EXPECT_EQ(h.fields.size(), 3u);
  EXPECT_TRUE(p.started());
}

TEST(RequestParser, HeadersRetrieval) {
  RequestParser p;
  const std::string in =
      "GET / HTTP/1.1\r\n"
      "Host: a.example\r\n"
      "X-Trim:   padded value \t \r\n"
      "x-dup: first\r\n"
      "X-Dup: second\r\n"
      "X-Empty:\r\n"
      "X-Tab:\tin\tside\r\n"
      "X-Utf8: caf\xc3\xa9\r\n"
      "\r\n";
  ASSERT_EQ(feedPieces(p, in).progress, Progress::kComplete) << p.error().reason;
  const RequestHead& h = p.head();
  ASSERT_EQ(h.fields.size(), 7u);
  EXPECT_EQ(h.name(h.fields[1]), "X-Trim");
  EXPECT_EQ(h.value(h.fields[1]), "padded value");
  const Field* f = h.find("X-TRIM");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(h.value(*f), "padded value");
  f = h.find("X-DUP");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(h.value(*f), "first");
  f = h.find("x-empty");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(h.value(*f), "");
  f = h.find("x-tab");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(h.value(*f), "in\tside");
  f = h.find("x-utf8");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(h.value(*f), "caf\xc3\xa9");
  EXPECT_EQ(h.find("X-Missing"), nullptr);
  EXPECT_EQ(h.find("X-Dupe"), nullptr);
}

TEST(RequestParser, QueryForms) {
  {
    RequestParser p;
    ASSERT_EQ(feedPieces(p, "GET /p? HTTP/1.1\r\nHost: h\r\n\r\n").progress, Progress::kComplete);
    EXPECT_EQ(p.head().pathView(), "/p");
    EXPECT_TRUE(p.head().has_query);
    EXPECT_EQ(p.head().queryView(), "");
  }
  {
    RequestParser p;
    ASSERT_EQ(feedPieces(p, "GET /a/b%20c HTTP/1.1\r\nHost: h\r\n\r\n").progress,
              Progress::kComplete);
    EXPECT_EQ(p.head().pathView(), "/a/b%20c");  // raw, not decoded
    EXPECT_FALSE(p.head().has_query);
    EXPECT_EQ(p.head().queryView(), "");
  }
  {
    RequestParser p;
    ASSERT_EQ(feedPieces(p, "GET /x?a?b=/c HTTP/1.1\r\nHost: h\r\n\r\n").progress,
              Progress::kComplete);
    EXPECT_EQ(p.head().pathView(), "/x");
    EXPECT_EQ(p.head().queryView(), "a?b=/c");
  }
}

TEST(RequestParser, ContentLengthAndChunkedFraming) {
  {
    RequestParser p;
    ASSERT_EQ(feedPieces(p, "POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 42\r\n\r\n").progress,
              Progress::kComplete);
    EXPECT_EQ(p.head().framing, Framing::kLength);
    EXPECT_EQ(p.head().content_length, 42u);
  }
  {
    RequestParser p;
    ASSERT_EQ(feedPieces(p, "POST /f HTTP/1.1\r\nHost: h\r\ncontent-length:  7 \r\n\r\n").progress,
              Progress::kComplete);
    EXPECT_EQ(p.head().content_length, 7u);  // OWS around the value is not part of it
  }
  {
    RequestParser p;
    ASSERT_EQ(feedPieces(p, "POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n").progress,
              Progress::kComplete);
    EXPECT_EQ(p.head().framing, Framing::kLength);
    EXPECT_EQ(p.head().content_length, 0u);
  }
  {
    RequestParser p;
    const char* in = "POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551615\r\n\r\n";
    ASSERT_EQ(feedPieces(p, in).progress, Progress::kComplete);
    EXPECT_EQ(p.head().content_length, UINT64_MAX);
  }
  for (const char* te : {"chunked", "Chunked", "CHUNKED", " chunked\t"}) {
    RequestParser p;
    const std::string in =
        std::string("POST /f HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:") + te + "\r\n\r\n";
    ASSERT_EQ(feedPieces(p, in).progress, Progress::kComplete) << te;
    EXPECT_EQ(p.head().framing, Framing::kChunked) << te;
  }
}

TEST(RequestParser, AbsoluteForm) {
  RequestParser p;
  const char* in = "GET http://Origin.example:8080/a/b?x=1 HTTP/1.1\r\nHost: other.example\r\n\r\n";
  ASSERT_EQ(feedPieces(p, in).progress, Progress::kComplete) << p.error().reason;
  const RequestHead& h = p.head();
  EXPECT_EQ(h.targetView(), "http://Origin.example:8080/a/b?x=1");
  EXPECT_EQ(h.hostView(), "Origin.example:8080");  // the authority overrides Host
  EXPECT_EQ(h.pathView(), "/a/b");
  EXPECT_TRUE(h.has_query);
  EXPECT_EQ(h.queryView(), "x=1");
}

TEST(RequestParser, AbsoluteFormWithoutPath) {
  {
    RequestParser p;
    ASSERT_EQ(feedPieces(p, "GET HTTPS://h.example HTTP/1.1\r\nHost: h.example\r\n\r\n").progress,
              Progress::kComplete);
    EXPECT_EQ(p.head().hostView(), "h.example");
    EXPECT_EQ(p.head().pathView(), "/");
    EXPECT_FALSE(p.head().has_query);
  }
  {
    RequestParser p;
    ASSERT_EQ(feedPieces(p, "GET http://h.example?q=1 HTTP/1.1\r\nHost: h\r\n\r\n").progress,
              Progress::kComplete);
    EXPECT_EQ(p.head().hostView(), "h.example");
    EXPECT_EQ(p.head().pathView(), "/");
    EXPECT_EQ(p.head().queryView(), "q=1");
  }
}

TEST(RequestParser, AsteriskAndConnect) {
  {
    RequestParser p;
    ASSERT_EQ(feedPieces(p, "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n").progress, Progress::kComplete);
    EXPECT_EQ(p.head().targetView(), "*");
    EXPECT_EQ(p.head().pathView(), "*");
    EXPECT_EQ(p.head().hostView(), "h");
  }
  {
    RequestParser p;
    ASSERT_EQ(
        feedPieces(p, "CONNECT db.example:5432 HTTP/1.1\r\nHost: db.example:5432\r\n\r\n").progress,
        Progress::kComplete);
    EXPECT_EQ(p.head().hostView(), "db.example:5432");
    EXPECT_EQ(p.head().pathView(), "");
  }
  {
    RequestParser p;
    ASSERT_EQ(feedPieces(p, "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n").progress,
              Progress::kComplete);
    EXPECT_EQ(p.head().hostView(), "[::1]:443");
  }
}

TEST(RequestParser, HostForms) {
  for (const char* host : {"example.com", "example.com:8080", "127.0.0.1", "[::1]", "[::1]:80",
                           "xn--bcher-kva.example", "a_b.example", "ex%41mple"}) {
    RequestParser p;
    const std::string in = std::string("GET / HTTP/1.1\r\nHost: ") + host + "\r\n\r\n";
    ASSERT_EQ(feedPieces(p, in).progress, Progress::kComplete) << host;
    EXPECT_EQ(p.head().hostView(), host);
  }
}

TEST(RequestParser, Http10WithoutHost) {
  RequestParser p;
  ASSERT_EQ(feedPieces(p, "GET / HTTP/1.0\r\n\r\n").progress, Progress::kComplete);
  EXPECT_EQ(p.head().version_minor, 0);
  EXPECT_EQ(p.head().hostView(), "");
  EXPECT_FALSE(p.head().keep_alive);
}

struct KeepAliveCase {
  const char* version;
  const char* connection;  // nullptr: no Connection field
  bool keep_alive;
};

TEST(RequestParser, KeepAliveRules) {
  const KeepAliveCase cases[] = {
      {"1.1", nullptr, true},
      {"1.1", "close", false},
      {"1.1", "Close", false},
      {"1.1", "keep-alive", true},
      {"1.1", "keep-alive, close", false},
      {"1.1", "x-foo, CLOSE", false},
      {"1.1", "closed", true},
      {"1.0", nullptr, false},
      {"1.0", "keep-alive", true},
      {"1.0", "Keep-Alive", true},
      {"1.0", " , keep-alive ,", true},
      {"1.0", "keep-alive, close", false},
      {"1.0", "close", false},
      {"1.0", "upgrade", false},
  };
  for (const auto& c : cases) {
    RequestParser p;
    std::string in = std::string("GET / HTTP/") + c.version + "\r\nHost: h\r\n";
    if (c.connection) in += std::string("Connection: ") + c.connection + "\r\n";
    in += "\r\n";
    ASSERT_EQ(feedPieces(p, in).progress, Progress::kComplete) << in;
    EXPECT_EQ(p.head().keep_alive, c.keep_alive) << in;
  }
}

TEST(RequestParser, ConnectionTokens) {
  RequestParser p;
  const char* in =
      "GET / HTTP/1.1\r\nHost: h\r\nConnection: close, X-Foo\r\n"
      "Upgrade: websocket\r\nconnection: Upgrade,,keep-alive\r\n\r\n";
  ASSERT_EQ(feedPieces(p, in).progress, Progress::kComplete) << p.error().reason;
  const RequestHead& h = p.head();
  ASSERT_EQ(h.connection_tokens.size(), 2u);
  EXPECT_EQ(h.view(h.connection_tokens[0]), "X-Foo");
  EXPECT_EQ(h.view(h.connection_tokens[1]), "Upgrade");
  EXPECT_FALSE(h.keep_alive);
  EXPECT_TRUE(h.upgrade);
}

TEST(RequestParser, ExpectContinue) {
  struct Case {
    const char* version;
    const char* expect;
    bool want;
  };
  const Case cases[] = {{"1.1", "100-continue", true},     {"1.1", "100-Continue", true},
                        {"1.1", "  100-continue  ", true}, {"1.1", "100-continued", false},
                        {"1.1", "200-ok", false},          {"1.0", "100-continue", false}};
  for (const auto& c : cases) {
    RequestParser p;
    const std::string in = std::string("PUT /u HTTP/") + c.version +
                           "\r\nHost: h\r\nContent-Length: 3\r\nExpect: " + c.expect + "\r\n\r\n";
    ASSERT_EQ(feedPieces(p, in).progress, Progress::kComplete) << in;
    EXPECT_EQ(p.head().expect_continue, c.want) << in;
  }
}

TEST(RequestParser, UpgradeField) {
  RequestParser p;
  ASSERT_EQ(feedPieces(p, "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n").progress,
            Progress::kComplete);
  EXPECT_TRUE(p.head().upgrade);
  RequestParser q;
  ASSERT_EQ(feedPieces(q, "GET /ws HTTP/1.1\r\nHost: h\r\nX-Upgrade: websocket\r\n\r\n").progress,
            Progress::kComplete);
  EXPECT_FALSE(q.head().upgrade);
}

TEST(RequestParser, LeadingEmptyLinesSkipped) {
  RequestParser p;
  const std::string in = std::string("\r\n\r\n") + kGet;
  size_t used = 0;
  EXPECT_EQ(p.feed(in.data(), 2, &used), Progress::kIncomplete);
  EXPECT_EQ(used, 2u);
  EXPECT_FALSE(p.started());  // still idle: only an empty line so far
  EXPECT_EQ(p.feed(in.data() + 2, in.size() - 2, &used), Progress::kComplete);
  EXPECT_EQ(used, in.size() - 2);
  EXPECT_EQ(p.head().raw, kGet);  // the skipped lines are not part of the head
  EXPECT_EQ(p.head().methodView(), "GET");
}

TEST(RequestParser, PipelinedRequestsStopAtHeadEnd) {
  const std::string first = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n";
  const std::string second = "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string third = "GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
  const std::string in = first + "hello" + second + third;
  RequestParser p;
  size_t used = 0;
  ASSERT_EQ(p.feed(in.data(), in.size(), &used), Progress::kComplete);
  EXPECT_EQ(used, first.size());
  EXPECT_EQ(p.head().raw, first);
  EXPECT_EQ(p.head().content_length, 5u);
  size_t off = used + 5;  // the body is the codec's business

  p.reset();
  ASSERT_EQ(p.feed(in.data() + off, in.size() - off, &used), Progress::kComplete);
  EXPECT_EQ(used, second.size());
  EXPECT_EQ(p.head().pathView(), "/b");
  EXPECT_EQ(p.head().framing, Framing::kNone);
  off += used;

  p.reset();
  ASSERT_EQ(p.feed(in.data() + off, in.size() - off, &used), Progress::kComplete);
  EXPECT_EQ(used, third.size());
  EXPECT_EQ(p.head().pathView(), "/c");
  EXPECT_FALSE(p.head().keep_alive);
}

TEST(RequestParser, ResetClearsEverythingAndKeepsCapacity) {
  RequestParser p;
  const char* first =
      "PUT http://a.example/x?y HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nExpect: "
      "100-continue\r\nUpgrade: h2c\r\nConnection: close, upgrade\r\n\r\n";
  ASSERT_EQ(feedPieces(p, first).progress, Progress::kComplete);
  const size_t cap = p.head().raw.capacity();
  const char* data = p.head().raw.data();
  p.reset();
  EXPECT_FALSE(p.started());
  EXPECT_EQ(p.head().raw.capacity(), cap);
  ASSERT_EQ(feedPieces(p, "GET / HTTP/1.1\r\nHost: b\r\n\r\n").progress, Progress::kComplete);
  const RequestHead& h = p.head();
  EXPECT_EQ(h.raw.data(), data);  // same buffer, no new allocation
  EXPECT_EQ(h.hostView(), "b");
  EXPECT_EQ(h.pathView(), "/");
  EXPECT_FALSE(h.has_query);
  EXPECT_FALSE(h.expect_continue);
  EXPECT_FALSE(h.upgrade);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_TRUE(h.connection_tokens.empty());
  EXPECT_EQ(h.framing, Framing::kNone);
  EXPECT_EQ(h.fields.size(), 1u);
}

TEST(RequestParser, ResetAfterErrorRevives) {
  RequestParser p;
  ASSERT_EQ(feedPieces(p, "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n").progress, Progress::kError);
  size_t used = 7;
  EXPECT_EQ(p.feed("GET", 3, &used), Progress::kError);  // dead until reset
  EXPECT_EQ(used, 0u);
  p.reset();
  EXPECT_EQ(feedPieces(p, kGet).progress, Progress::kComplete);
}

TEST(RequestParser, FeedAfterCompleteTakesNothing) {
  RequestParser p;
  ASSERT_EQ(feedPieces(p, kGet).progress, Progress::kComplete);
  size_t used = 7;
  EXPECT_EQ(p.feed("GET", 3, &used), Progress::kComplete);
  EXPECT_EQ(used, 0u);
  EXPECT_EQ(p.head().raw, kGet);
}

TEST(RequestParser, HeadExactlyAtLimitIsAccepted) {
  const std::string in = kGet;
  {
    RequestParser p(HeadLimits{static_cast<uint32_t>(in.size())});
    EXPECT_EQ(feedPieces(p, in).progress, Progress::kComplete);
  }
  {
    RequestParser p(HeadLimits{static_cast<uint32_t>(in.size())});
    EXPECT_EQ(feedPieces(p, in, 1).progress, Progress::kComplete);
  }
  {
    RequestParser p(HeadLimits{static_cast<uint32_t>(in.size() - 1)});
    const auto r = feedPieces(p, in);
    ASSERT_EQ(r.progress, Progress::kError);
    EXPECT_EQ(p.error().http_status, 431);
  }
}

TEST(RequestParser, FieldCountLimit) {
  auto make = [](int n) {
    std::string in = "GET / HTTP/1.1\r\nHost: h\r\n";
    for (int i = 1; i < n; ++i) in += "X-" + std::to_string(i) + ": v\r\n";
    return in + "\r\n";
  };
  {
    RequestParser p(HeadLimits{1 << 20, 100});
    EXPECT_EQ(feedPieces(p, make(100)).progress, Progress::kComplete);
    EXPECT_EQ(p.head().fields.size(), 100u);
  }
  {
    RequestParser p(HeadLimits{1 << 20, 100});
    ASSERT_EQ(feedPieces(p, make(101)).progress, Progress::kError);
    EXPECT_EQ(p.error().http_status, 431);
  }
}

}  // namespace
}  // namespace edge::http1
