// libFuzzer target: the input is what a client sends on one connection.
// Parses request heads one after another (pipelining), decoding each body as
// the head frames it, and checks:
//  - consumed <= len, raw is exactly the consumed head bytes, spans lie in raw;
//  - the same result whether the bytes come at once, byte by byte or in
//    random pieces, and with small limits too (414/431 paths);
//  - re-parsing raw alone gives the same head (raw is self-contained);
//  - error statuses are only those the parser documents.
#include <cstddef>
#include <cstdint>

#include "gateway/http1/parser.h"
#include "tests/fuzz/fuzz_common.h"

using namespace edge::http1;
using namespace edge::http1::fuzz;

namespace {

void checkRequest(RequestParser& p, const FeedResult& r, const char* in, size_t n,
                  const HeadLimits& limits) {
  FUZZ_CHECK(r.consumed <= n);
  if (r.progress == Progress::kError) {
    const uint16_t s = p.error().http_status;
    FUZZ_CHECK(s == 400 || s == 414 || s == 431 || s == 501 || s == 505);
    FUZZ_CHECK(p.error().reason != nullptr && p.error().reason[0] != '\0');
    return;
  }
  if (r.progress == Progress::kIncomplete) {
    FUZZ_CHECK(r.consumed == n);
    FUZZ_CHECK(p.head().raw.size() <= limits.max_head_bytes);
    return;
  }
  const RequestHead& h = p.head();
  checkMessage(h, in, r.consumed, limits);
  for (Span s : {h.method, h.target, h.path, h.query, h.host}) FUZZ_CHECK(inside(h, s));
  FUZZ_CHECK(h.method.len > 0 && h.target.len > 0);
  for (char c : h.methodView()) FUZZ_CHECK(isTokenChar(static_cast<unsigned char>(c)));
  for (char c : h.targetView()) {
    const auto u = static_cast<unsigned char>(c);
    FUZZ_CHECK(u > 0x20 && u != 0x7f);
  }
  // Path and query come from the target; host from the target or a Host field.
  FUZZ_CHECK(within(h.path, h.target));
  if (h.has_query) FUZZ_CHECK(within(h.query, h.target) && h.query.off > h.target.off);
  if (!h.has_query) FUZZ_CHECK(h.query.len == 0);
  const Field* host = h.find("host");
  if (h.version_minor == 1) FUZZ_CHECK(host != nullptr);
  if (h.host.len > 0 && !within(h.host, h.target)) {
    FUZZ_CHECK(host != nullptr && host->value.off == h.host.off && host->value.len == h.host.len);
  }
  if (h.methodView() != "CONNECT" && h.targetView() != "*") {
    FUZZ_CHECK(!h.pathView().empty() && h.pathView()[0] == '/');
  }
  if (h.methodView() == "CONNECT") FUZZ_CHECK(h.host.len > 0 && h.path.len == 0);
  if (h.expect_continue) FUZZ_CHECK(h.version_minor == 1);
  if (h.version_minor == 0) FUZZ_CHECK(h.framing != Framing::kChunked);
  FUZZ_CHECK(h.framing != Framing::kUntilClose);
}

// One request head starting at in[0..n): parsed at once, then in pieces and
// with small limits, all compared. Returns the one-shot result.
FeedResult parseAndCompare(RequestParser& p, const char* in, size_t n, uint64_t seed) {
  const HeadLimits dflt;
  p.reset();
  const FeedResult r = feedHead(p, in, n, nullptr);
  checkRequest(p, r, in, n, dflt);
  const std::string want = summary(p, r);

  RequestParser q;
  Splitter sp(seed, n <= 1024 ? 1 : 1 + seed % 97);
  const FeedResult rq = feedHead(q, in, n, &sp);
  FUZZ_CHECK(summary(q, rq) == want);

  // The same with tight limits, at once vs in pieces.
  const HeadLimits small{static_cast<uint32_t>(16 + seed % 200), static_cast<uint32_t>(seed % 6)};
  RequestParser a(small);
  const FeedResult ra = feedHead(a, in, n, nullptr);
  checkRequest(a, ra, in, n, small);
  RequestParser b(small);
  Splitter sp2(seed >> 7, 8);
  const FeedResult rb = feedHead(b, in, n, &sp2);
  FUZZ_CHECK(summary(a, ra) == summary(b, rb));
  if (ra.progress == Progress::kComplete) {
    // Tighter limits can only turn success into 414/431, never change it.
    FUZZ_CHECK(r.progress == Progress::kComplete);
    FUZZ_CHECK(summary(a, ra) == want);
  }

  if (r.progress == Progress::kComplete) {
    // raw alone re-parses to the same head.
    RequestParser again;
    const std::string raw = p.head().raw;
    size_t used = 0;
    FUZZ_CHECK(again.feed(raw.data(), raw.size(), &used) == Progress::kComplete);
    FUZZ_CHECK(used == raw.size());
    FUZZ_CHECK(summary(static_cast<const MessageHead&>(again.head())) ==
               summary(static_cast<const MessageHead&>(p.head())));
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* in = reinterpret_cast<const char*>(data);
  const uint64_t seed = hashBytes(in, size);
  RequestParser p;
  size_t off = 0;
  for (int msg = 0; msg < 8 && off <= size; ++msg) {
    const FeedResult r = parseAndCompare(p, in + off, size - off, seed + msg);
    if (r.progress != Progress::kComplete) break;
    off += r.consumed;
    const RequestHead& h = p.head();
    if (h.framing == Framing::kNone) continue;
    const BodyResult b = checkBody(h.framing, h.content_length, in + off, size - off, seed);
    if (!b.done) break;
    off += b.consumed;
  }
  return 0;
}
