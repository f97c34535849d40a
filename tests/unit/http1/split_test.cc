// Incrementality: however the bytes are split, the parsers give the same
// answer, the same head and the same consumed count as a one-shot parse.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "gateway/http1/parser.h"
#include "tests/unit/http1/helpers.h"

namespace edge::http1 {
namespace {

using testing::describe;
using testing::feedPieces;
using testing::feedSplit;

const std::vector<std::string>& requestInputs() {
  static const std::vector<std::string> v = {
      "GET /index.html?a=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n",
      "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\nConnection: close, X-A\r\n\r\n",
      "POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
      "POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      "GET http://a.example:81?x HTTP/1.1\r\nHost: b\r\n\r\nGET / HTTP/1.1\r\nHost: c\r\n\r\n",
      "GET / HTTP/1.0\r\nConnection: keep-alive\r\nX-Long: " + std::string(300, 'x') + "\r\n\r\n",
      // Rejected ones: the error must not depend on the split either.
      "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", "GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\n\n", "GET / HTTP/2.0\r\nHost: h\r\n\r\n",
      "\r\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\nX: y\x01z\r\n\r\n",
      "GET /" + std::string(200, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n",  // 414 with a small limit
      "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(200, 'b') + "\r\n\r\n",  // 431
  };
  return v;
}

const std::vector<std::string>& responseInputs() {
  static const std::vector<std::string> v = {
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: X-A\r\n\r\nhello",
      "HTTP/1.1 204\r\nServer: s\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
      "HTTP/1.0 404 Not Found\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX: y\n\r\n",
      "HTTP/1.1 200 OK\r\nX-Big: " + std::string(200, 'b') + "\r\n\r\n",
  };
  return v;
}

constexpr uint32_t kSmallLimit = 128;  // makes the long inputs above overflow

TEST(Split, RequestByteByByteEqualsOneShot) {
  for (const std::string& in : requestInputs()) {
    RequestParser a(HeadLimits{kSmallLimit});
    RequestParser b(HeadLimits{kSmallLimit});
    const auto ra = feedPieces(a, in);
    const auto rb = feedPieces(b, in, 1);
    EXPECT_NE(ra.progress, Progress::kIncomplete) << in;
    EXPECT_EQ(describe(a, ra), describe(b, rb)) << in;
  }
}

TEST(Split, RequestEverySplitPointEqualsOneShot) {
  for (const std::string& in : requestInputs()) {
    RequestParser a(HeadLimits{kSmallLimit});
    const std::string want = describe(a, feedPieces(a, in));
    for (size_t at = 0; at <= in.size(); ++at) {
      RequestParser b(HeadLimits{kSmallLimit});
      EXPECT_EQ(describe(b, feedSplit(b, in, at)), want) << "split at " << at << " of " << in;
    }
  }
}

TEST(Split, RequestVariousPieceSizesAfterReset) {
  // One parser reused across many parses (reset keeps capacity, must not keep state).
  RequestParser b(HeadLimits{kSmallLimit});
  for (const std::string& in : requestInputs()) {
    RequestParser a(HeadLimits{kSmallLimit});
    const std::string want = describe(a, feedPieces(a, in));
    for (size_t piece : {2, 3, 5, 8, 16, 31, 64}) {
      b.reset();
      EXPECT_EQ(describe(b, feedPieces(b, in, piece)), want) << "piece " << piece << " of " << in;
    }
  }
}

TEST(Split, ResponseByteByByteEqualsOneShot) {
  for (const std::string& in : responseInputs()) {
    ResponseParser a(HeadLimits{kSmallLimit});
    ResponseParser b(HeadLimits{kSmallLimit});
    const auto ra = feedPieces(a, in);
    EXPECT_NE(ra.progress, Progress::kIncomplete) << in;
    EXPECT_EQ(describe(a, ra), describe(b, feedPieces(b, in, 1))) << in;
  }
}

TEST(Split, ResponseEverySplitPointEqualsOneShot) {
  for (const std::string& in : responseInputs()) {
    ResponseParser a(HeadLimits{kSmallLimit});
    const std::string want = describe(a, feedPieces(a, in));
    for (size_t at = 0; at <= in.size(); ++at) {
      ResponseParser b(HeadLimits{kSmallLimit});
      EXPECT_EQ(describe(b, feedSplit(b, in, at)), want) << "split at " << at << " of " << in;
    }
  }
}

TEST(Split, ConsumedStopsAtHeadEndWhateverTheSplit) {
  const std::string head = "POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\n";
  const std::string in = head + "bodyGET / HTTP/1.1\r\n";
  for (size_t at = 0; at <= in.size(); ++at) {
    RequestParser p;
    const auto r = feedSplit(p, in, at);
    ASSERT_EQ(r.progress, Progress::kComplete) << at;
    EXPECT_EQ(r.consumed, head.size()) << at;
    EXPECT_EQ(p.head().raw, head) << at;
  }
}

// A slowloris client dribbling a big head costs O(bytes): each new byte is
// scanned once. 1 MiB fed one byte at a time takes well under a second when
// linear; a parser that rescanned the partial head on every feed would do
// ~5e11 byte visits and blow far past the generous bound below.
TEST(Split, DribbledHeadIsLinear) {
  std::string in = "GET / HTTP/1.1\r\nHost: h\r\n";
  while (in.size() < (1u << 20)) in += "X-Pad: " + std::string(90, 'p') + "\r\n";
  in += "\r\n";
  RequestParser p(HeadLimits{2u << 20, 20000});
  size_t used = 0;
  Progress pr = Progress::kIncomplete;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < in.size() && pr == Progress::kIncomplete; ++i) {
    pr = p.feed(in.data() + i, 1, &used);
    ASSERT_EQ(used, 1u);
    ASSERT_EQ(p.head().raw.size(), i + 1);  // nothing re-appended or rebuilt
  }
  const auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(pr, Progress::kComplete) << p.error().reason;
  EXPECT_EQ(p.head().raw.size(), in.size());
  EXPECT_LT(secs, 10.0);
}

}  // namespace
}  // namespace edge::http1
