// libFuzzer target: the input is what an origin sends on one connection.
// Parses response heads one after another (1xx interim responses, keep-alive
// reuse), decoding each body as the head frames it; the request method (HEAD
// or not) comes from the input's hash. Also runs the whole input through the
// chunked decoder directly, so chunk framing is fuzzed from its first byte.
// Checks consumed <= len, spans inside raw, the same result for any split,
// framing rules (no body for HEAD/1xx/204/304, until-close => no keep-alive)
// and that every error is a 502.
#include <cstddef>
#include <cstdint>

#include "gateway/http1/parser.h"
#include "tests/fuzz/fuzz_common.h"

using namespace edge::http1;
using namespace edge::http1::fuzz;

namespace {

void checkResponse(ResponseParser& p, const FeedResult& r, const char* in, size_t n,
                   const HeadLimits& limits, bool is_head) {
  FUZZ_CHECK(r.consumed <= n);
  if (r.progress == Progress::kError) {
    FUZZ_CHECK(p.error().http_status == 502);
    FUZZ_CHECK(p.error().reason != nullptr && p.error().reason[0] != '\0');
    return;
  }
  if (r.progress == Progress::kIncomplete) {
    FUZZ_CHECK(r.consumed == n);
    return;
  }
  const ResponseHead& h = p.head();
  checkMessage(h, in, r.consumed, limits);
  FUZZ_CHECK(r.consumed == h.raw.size());  // no leading empty lines for responses
  FUZZ_CHECK(h.status >= 100 && h.status <= 599);
  FUZZ_CHECK(inside(h, h.reason));
  for (char c : h.view(h.reason)) FUZZ_CHECK(c != '\r' && c != '\n' && c != '\0');
  if (is_head || h.status < 200 || h.status == 204 || h.status == 304) {
    FUZZ_CHECK(h.framing == Framing::kNone);
  } else {
    FUZZ_CHECK(h.framing != Framing::kNone);
  }
  if (h.framing == Framing::kUntilClose) FUZZ_CHECK(!h.keep_alive);
}

FeedResult parseAndCompare(ResponseParser& p, const char* in, size_t n, uint64_t seed,
                           bool is_head) {
  const HeadLimits dflt;
  p.reset();
  p.setRequestIsHead(is_head);
  const FeedResult r = feedHead(p, in, n, nullptr);
  checkResponse(p, r, in, n, dflt, is_head);
  const std::string want = summary(p, r);

  ResponseParser q;
  q.setRequestIsHead(is_head);
  Splitter sp(seed, n <= 1024 ? 1 : 1 + seed % 97);
  FUZZ_CHECK(summary(q, feedHead(q, in, n, &sp)) == want);

  const HeadLimits small{static_cast<uint32_t>(16 + seed % 200), static_cast<uint32_t>(seed % 6)};
  ResponseParser a(small);
  a.setRequestIsHead(is_head);
  const FeedResult ra = feedHead(a, in, n, nullptr);
  checkResponse(a, ra, in, n, small, is_head);
  ResponseParser b(small);
  b.setRequestIsHead(is_head);
  Splitter sp2(seed >> 9, 8);
  FUZZ_CHECK(summary(b, feedHead(b, in, n, &sp2)) == summary(a, ra));
  if (ra.progress == Progress::kComplete) FUZZ_CHECK(summary(a, ra) == want);
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* in = reinterpret_cast<const char*>(data);
  const uint64_t seed = hashBytes(in, size);
  const bool is_head = (seed & 0x100) != 0;

  ResponseParser p;
  size_t off = 0;
  for (int msg = 0; msg < 8 && off <= size; ++msg) {
    const FeedResult r = parseAndCompare(p, in + off, size - off, seed + msg, is_head);
    if (r.progress != Progress::kComplete) break;
    off += r.consumed;
    const ResponseHead& h = p.head();
    if (h.framing == Framing::kNone) continue;
    const BodyResult b = checkBody(h.framing, h.content_length, in + off, size - off, seed);
    if (!b.done) break;
    off += b.consumed;
  }

  // The raw input as a chunked body.
  (void)checkBody(Framing::kChunked, 0, in, size, seed);
  return 0;
}
