// ResponseParser: status line, framing decisions, keep-alive, rejections.
#include <gtest/gtest.h>

#include <string>

#include "gateway/http1/parser.h"
#include "tests/unit/http1/helpers.h"

namespace edge::http1 {
namespace {

using testing::feedPieces;

TEST(ResponseParser, OkWithContentLength) {
  ResponseParser p;
  const std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n";
  const auto r = feedPieces(p, head + "hello");
  ASSERT_EQ(r.progress, Progress::kComplete) << p.error().reason;
  EXPECT_EQ(r.consumed, head.size());
  const ResponseHead& h = p.head();
  EXPECT_EQ(h.raw, head);
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.view(h.reason), "OK");
  EXPECT_EQ(h.version_minor, 1);
  EXPECT_EQ(h.framing, Framing::kLength);
  EXPECT_EQ(h.content_length, 5u);
  EXPECT_TRUE(h.keep_alive);
  ASSERT_NE(h.find("content-type"), nullptr);
  EXPECT_EQ(h.value(*h.find("content-type")), "text/plain");
}

TEST(ResponseParser, ReasonForms) {
  struct Case {
    const char* line;
    uint16_t status;
    const char* reason;
  };
  for (const Case& c :
       {Case{"HTTP/1.1 404 Not Found", 404, "Not Found"}, Case{"HTTP/1.1 200 ", 200, ""},
        Case{"HTTP/1.1 200", 200, ""}, Case{"HTTP/1.1 599 x\ty", 599, "x\ty"},
        Case{"HTTP/1.1 100 Continue", 100, "Continue"}}) {
    ResponseParser p;
    ASSERT_EQ(feedPieces(p, std::string(c.line) + "\r\n\r\n").progress, Progress::kComplete)
        << c.line << ": " << p.error().reason;
    EXPECT_EQ(p.head().status, c.status) << c.line;
    EXPECT_EQ(p.head().view(p.head().reason), c.reason) << c.line;
  }
}

struct FramingCase {
  const char* name;
  std::string head;
  bool request_is_head;
  Framing framing;
  bool keep_alive;
};

const FramingCase kFramingCases[] = {
    {"Length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", false, Framing::kLength, true},
    {"Chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, Framing::kChunked,
     true},
    {"ChunkedCaseInsensitive", "HTTP/1.1 200 OK\r\nTransfer-Encoding: CHUNKED\r\n\r\n", false,
     Framing::kChunked, true},
    {"GzipThenChunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false,
     Framing::kChunked, true},
    {"ChunkedNotLast", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", false,
     Framing::kUntilClose, false},
    {"UntilClose", "HTTP/1.1 200 OK\r\nServer: s\r\n\r\n", false, Framing::kUntilClose, false},
    {"UntilCloseHttp10", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", false,
     Framing::kUntilClose, false},
    {"NoContent", "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", false, Framing::kNone,
     true},
    {"NotModified", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", false,
     Framing::kNone, true},
    {"NotModifiedChunked", "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", false,
     Framing::kNone, true},
    {"Continue", "HTTP/1.1 100 Continue\r\n\r\n", false, Framing::kNone, true},
    {"SwitchingProtocols", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", false,
     Framing::kNone, true},
    {"HeadWithLength", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", true, Framing::kNone,
     true},
    {"HeadWithChunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true,
     Framing::kNone, true},
    {"HeadWithNothing", "HTTP/1.1 200 OK\r\n\r\n", true, Framing::kNone, true},
    {"Close", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", false,
     Framing::kLength, false},
    {"Http10Default", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false, Framing::kLength,
     false},
    {"Http10KeepAlive", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: Keep-Alive\r\n\r\n",
     false, Framing::kLength, true},
};

class ResponseFraming : public ::testing::TestWithParam<FramingCase> {};

TEST_P(ResponseFraming, Decides) {
  const FramingCase& c = GetParam();
  ResponseParser p;
  p.setRequestIsHead(c.request_is_head);
  const auto r = feedPieces(p, c.head);
  ASSERT_EQ(r.progress, Progress::kComplete) << p.error().reason;
  EXPECT_EQ(r.consumed, c.head.size());
  EXPECT_EQ(p.head().framing, c.framing);
  EXPECT_EQ(p.head().keep_alive, c.keep_alive);
}

INSTANTIATE_TEST_SUITE_P(All, ResponseFraming, ::testing::ValuesIn(kFramingCases),
                         [](const auto& info) { return std::string(info.param.name); });

struct BadResponse {
  const char* name;
  std::string head;
};

const BadResponse kBadResponses[] = {
    {"ClAndTe", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"},
    {"ClTwice", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n"},
    {"ClList", "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n"},
    {"ClNotDigits", "HTTP/1.1 200 OK\r\nContent-Length: 3a\r\n\r\n"},
    {"ClOverflow", "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n"},
    {"TeChunkedTwice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"},
    {"TeTwoFields",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"},
    {"TeEmpty", "HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\n"},
    {"TeOnHttp10", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"},
    {"ObsFold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n"},
    {"BareLf", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"},
    {"BareLfEnd", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n"},
    {"SpaceBeforeColon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n"},
    {"NulInValue", std::string("HTTP/1.1 200 OK\r\nX: a") + '\0' + "\r\n\r\n"},
    {"CtlInReason", "HTTP/1.1 200 O\x01K\r\n\r\n"},
    {"Http2", "HTTP/2.0 200 OK\r\n\r\n"},
    {"Http12", "HTTP/1.2 200 OK\r\n\r\n"},
    {"Lowercase", "http/1.1 200 OK\r\n\r\n"},
    {"TwoDigitStatus", "HTTP/1.1 20 OK\r\n\r\n"},
    {"FourDigitStatus", "HTTP/1.1 2000 OK\r\n\r\n"},
    {"StatusTooLow", "HTTP/1.1 099 Hmm\r\n\r\n"},
    {"StatusTooHigh", "HTTP/1.1 600 Hmm\r\n\r\n"},
    {"StatusNotDigits", "HTTP/1.1 2x0 OK\r\n\r\n"},
    {"DoubleSpace", "HTTP/1.1  200 OK\r\n\r\n"},
    {"NoStatus", "HTTP/1.1\r\n\r\n"},
    {"EmptyStatusLine", "\r\n\r\n"},
    {"Garbage", "<html>\r\n\r\n"},
};

class ResponseRejects : public ::testing::TestWithParam<BadResponse> {};

TEST_P(ResponseRejects, With502) {
  const BadResponse& c = GetParam();
  for (size_t piece : {size_t{0}, size_t{1}}) {
    ResponseParser p;
    const auto r = feedPieces(p, c.head, piece);
    ASSERT_EQ(r.progress, Progress::kError) << testing::describe(p, r);
    EXPECT_EQ(p.error().http_status, 502);
    EXPECT_STRNE(p.error().reason, "");
  }
}

INSTANTIATE_TEST_SUITE_P(All, ResponseRejects, ::testing::ValuesIn(kBadResponses),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ResponseParser, OversizedHeadAndTooManyFieldsAre502) {
  {
    ResponseParser p(HeadLimits{64});
    ASSERT_EQ(feedPieces(p, "HTTP/1.1 200 OK\r\nX: " + std::string(100, 'v') + "\r\n\r\n").progress,
              Progress::kError);
    EXPECT_EQ(p.error().http_status, 502);
  }
  {
    ResponseParser p(HeadLimits{1 << 20, 3});
    ASSERT_EQ(feedPieces(p, "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n").progress,
              Progress::kComplete);
    p.reset();
    ASSERT_EQ(feedPieces(p, "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n").progress,
              Progress::kError);
    EXPECT_EQ(p.error().http_status, 502);
  }
}

TEST(ResponseParser, InterimThenFinalOnOneConnection) {
  const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
  const std::string final_head = "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n";
  const std::string in = interim + final_head + "ok";
  ResponseParser p;
  size_t used = 0;
  ASSERT_EQ(p.feed(in.data(), in.size(), &used), Progress::kComplete);
  EXPECT_EQ(used, interim.size());
  EXPECT_EQ(p.head().status, 100);
  EXPECT_EQ(p.head().framing, Framing::kNone);
  p.reset();
  ASSERT_EQ(p.feed(in.data() + used, in.size() - used, &used), Progress::kComplete);
  EXPECT_EQ(used, final_head.size());
  EXPECT_EQ(p.head().status, 201);
  EXPECT_EQ(p.head().framing, Framing::kLength);
  EXPECT_EQ(p.head().content_length, 2u);
}

TEST(ResponseParser, ConnectionTokensAndResetReuse) {
  ResponseParser p;
  ASSERT_EQ(feedPieces(p, "HTTP/1.1 200 OK\r\nConnection: X-A, close\r\nContent-Length: 0\r\n\r\n")
                .progress,
            Progress::kComplete);
  ASSERT_EQ(p.head().connection_tokens.size(), 1u);
  EXPECT_EQ(p.head().view(p.head().connection_tokens[0]), "X-A");
  EXPECT_FALSE(p.head().keep_alive);
  const char* buf = p.head().raw.data();
  p.reset();
  ASSERT_EQ(feedPieces(p, "HTTP/1.1 204 No Content\r\n\r\n").progress, Progress::kComplete);
  EXPECT_EQ(p.head().raw.data(), buf);
  EXPECT_TRUE(p.head().connection_tokens.empty());
  EXPECT_TRUE(p.head().keep_alive);
  EXPECT_EQ(p.head().status, 204);
}

TEST(ResponseParser, HeadFlagAppliesUntilChanged) {
  ResponseParser p;
  p.setRequestIsHead(true);
  const std::string in = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n";
  ASSERT_EQ(feedPieces(p, in).progress, Progress::kComplete);
  EXPECT_EQ(p.head().framing, Framing::kNone);
  p.reset();  // e.g. after a 1xx: still the same HEAD exchange
  ASSERT_EQ(feedPieces(p, in).progress, Progress::kComplete);
  EXPECT_EQ(p.head().framing, Framing::kNone);
  p.reset();
  p.setRequestIsHead(false);
  ASSERT_EQ(feedPieces(p, in).progress, Progress::kComplete);
  EXPECT_EQ(p.head().framing, Framing::kLength);
}

}  // namespace
}  // namespace edge::http1
