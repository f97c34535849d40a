#pragma once
// Shared by the HTTP/1 fuzz targets: invariant checks that abort (so libFuzzer
// records a crash), a deterministic splitter, and a text summary of a parse so
// that one-shot and split parses can be compared.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/http1/parser.h"

#define FUZZ_CHECK(cond)                                                            \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

namespace edge::http1::fuzz {

inline uint64_t hashBytes(const char* d, size_t n) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(d[i])) * 1099511628211ull;
  return h;
}

// Piece sizes from a xorshift generator: 1..max_piece, reproducible per input.
class Splitter {
 public:
  Splitter(uint64_t seed, size_t max_piece) : s_(seed | 1), max_(max_piece ? max_piece : 1) {}
  size_t next() {
    s_ ^= s_ << 13;
    s_ ^= s_ >> 7;
    s_ ^= s_ << 17;
    return 1 + static_cast<size_t>(s_ % max_);
  }

 private:
  uint64_t s_;
  size_t max_;
};

struct FeedResult {
  Progress progress = Progress::kIncomplete;
  size_t consumed = 0;
};

// Feeds in[0..n) to a head parser; piece 0 = at once, else pieces from sp.
template <class Parser>
FeedResult feedHead(Parser& p, const char* in, size_t n, Splitter* sp) {
  FeedResult r;
  size_t off = 0;
  do {
    const size_t k = sp ? std::min(sp->next(), n - off) : n - off;
    size_t used = 0;
    r.progress = p.feed(in + off, k, &used);
    FUZZ_CHECK(used <= k);
    r.consumed += used;
    off += k;
    if (r.progress != Progress::kIncomplete) return r;
    FUZZ_CHECK(used == k);
  } while (off < n);
  return r;
}

inline bool inside(const MessageHead& h, Span s) {
  return static_cast<uint64_t>(s.off) + s.len <= h.raw.size();
}

inline bool within(Span inner, Span outer) {
  return inner.off >= outer.off && static_cast<uint64_t>(inner.off) + inner.len <=
                                       static_cast<uint64_t>(outer.off) + outer.len;
}

// Checks shared by request and response heads once complete.
inline void checkMessage(const MessageHead& h, const char* in, size_t consumed,
                         const HeadLimits& limits) {
  FUZZ_CHECK(h.raw.size() <= limits.max_head_bytes);
  FUZZ_CHECK(h.raw.size() <= consumed);
  FUZZ_CHECK(h.raw.size() >= 4);
  FUZZ_CHECK(std::string_view(h.raw).substr(h.raw.size() - 4) == "\r\n\r\n");
  // raw is the tail of what was consumed; anything before it is skipped CRLFs.
  FUZZ_CHECK(std::string_view(in + consumed - h.raw.size(), h.raw.size()) == h.raw);
  for (size_t i = 0; i < consumed - h.raw.size(); ++i) FUZZ_CHECK(in[i] == '\r' || in[i] == '\n');
  FUZZ_CHECK(h.fields.size() <= limits.max_fields);
  int cl = 0;
  int te = 0;
  for (const Field& f : h.fields) {
    FUZZ_CHECK(inside(h, f.name) && inside(h, f.value));
    FUZZ_CHECK(f.name.len > 0);
    for (char c : h.name(f)) FUZZ_CHECK(isTokenChar(static_cast<unsigned char>(c)));
    const std::string_view v = h.value(f);
    for (char c : v) {
      const auto u = static_cast<unsigned char>(c);
      FUZZ_CHECK(u == '\t' || (u >= 0x20 && u != 0x7f));
    }
    if (!v.empty()) {
      FUZZ_CHECK(v.front() != ' ' && v.front() != '\t' && v.back() != ' ' && v.back() != '\t');
    }
    if (iequals(h.name(f), "content-length")) ++cl;
    if (iequals(h.name(f), "transfer-encoding")) ++te;
  }
  FUZZ_CHECK(cl <= 1 && te <= 1 && !(cl && te));
  if (h.framing == Framing::kChunked) FUZZ_CHECK(te == 1 && h.version_minor == 1);
  if (h.framing == Framing::kLength) FUZZ_CHECK(cl == 1);
  for (Span t : h.connection_tokens) FUZZ_CHECK(inside(h, t) && t.len > 0);
  FUZZ_CHECK(h.version_minor <= 1);
}

inline void appendSpan(std::string& o, const MessageHead& h, Span s) {
  o += std::to_string(s.off) + "+" + std::to_string(s.len) + "'";
  o.append(h.view(s));
  o += "' ";
}

inline std::string summary(const MessageHead& h) {
  std::string o = "raw='" + h.raw + "' v=" + std::to_string(h.version_minor) +
                  " f=" + std::to_string(int(h.framing)) +
                  " cl=" + std::to_string(h.content_length) +
                  " ka=" + std::to_string(h.keep_alive) + " ";
  for (const Field& f : h.fields) {
    appendSpan(o, h, f.name);
    appendSpan(o, h, f.value);
  }
  for (Span t : h.connection_tokens) appendSpan(o, h, t);
  return o;
}

inline std::string summary(RequestParser& p, const FeedResult& r) {
  std::string o = std::to_string(int(r.progress)) + " c=" + std::to_string(r.consumed) + " ";
  if (r.progress == Progress::kError) {
    return o + std::to_string(p.error().http_status) + " " + p.error().reason;
  }
  if (r.progress == Progress::kIncomplete) return o;
  const RequestHead& h = p.head();
  o += summary(static_cast<const MessageHead&>(h));
  for (Span s : {h.method, h.target, h.path, h.query, h.host}) appendSpan(o, h, s);
  o += std::to_string(h.has_query) + std::to_string(h.expect_continue) + std::to_string(h.upgrade);
  return o;
}

inline std::string summary(ResponseParser& p, const FeedResult& r) {
  std::string o = std::to_string(int(r.progress)) + " c=" + std::to_string(r.consumed) + " ";
  if (r.progress == Progress::kError) {
    return o + std::to_string(p.error().http_status) + " " + p.error().reason;
  }
  if (r.progress == Progress::kIncomplete) return o;
  const ResponseHead& h = p.head();
  o += summary(static_cast<const MessageHead&>(h)) + std::to_string(h.status) + " ";
  appendSpan(o, h, h.reason);
  return o;
}

struct BodyResult {
  std::string data;
  size_t consumed = 0;
  bool done = false;
  bool error = false;
};

// Runs a decoder over in[0..n) (pieces from sp, or at once), checking that
// slices lie inside the input and every call makes progress.
inline BodyResult decodeBody(BodyDecoder& d, const char* in, size_t n, Splitter* sp) {
  BodyResult r;
  size_t off = 0;
  while (off < n && !r.done && !r.error) {
    const size_t k = sp ? std::min(sp->next(), n - off) : n - off;
    size_t used = 0;
    for (;;) {
      const BodyDecoder::Step s = d.decode(in + off + used, k - used);
      FUZZ_CHECK(s.consumed <= k - used);
      FUZZ_CHECK(!(s.done && s.error));
      if (s.data_len > 0) {
        FUZZ_CHECK(s.data >= in + off + used);
        FUZZ_CHECK(s.data + s.data_len <= in + off + used + s.consumed);
        r.data.append(s.data, s.data_len);
      }
      used += s.consumed;
      if (s.error || s.done) {
        r.error = s.error;
        r.done = s.done;
        FUZZ_CHECK(!s.done || d.done());
        if (s.error) FUZZ_CHECK(s.reason != nullptr && s.reason[0] != '\0');
        break;
      }
      if (used == k) break;
      FUZZ_CHECK(s.consumed > 0);  // a step that is neither done nor error makes progress
    }
    off += used;
  }
  if (!r.done && !r.error && n == 0) r.done = d.done();
  r.consumed = off;
  return r;
}

// Decodes a body at once and in pieces; both must agree.
inline BodyResult checkBody(Framing framing, uint64_t length, const char* in, size_t n,
                            uint64_t seed) {
  BodyDecoder a;
  a.start(framing, length);
  const BodyResult ra = decodeBody(a, in, n, nullptr);
  BodyDecoder b;
  b.start(framing, length);
  Splitter sp(seed, n <= 2048 ? 1 : 64);
  const BodyResult rb = decodeBody(b, in, n, &sp);
  FUZZ_CHECK(ra.data == rb.data && ra.consumed == rb.consumed && ra.done == rb.done &&
             ra.error == rb.error);
  if (framing == Framing::kLength) {
    FUZZ_CHECK(!ra.error);
    FUZZ_CHECK(ra.data.size() == std::min<uint64_t>(length, n));
    FUZZ_CHECK(ra.done == (length <= n));
  }
  if (framing == Framing::kUntilClose) {
    FUZZ_CHECK(!ra.error && !ra.done && ra.consumed == n && ra.data.size() == n);
    FUZZ_CHECK(a.finishAtEof() && a.done());
  }
  if (framing == Framing::kChunked) FUZZ_CHECK(ra.data.size() <= ra.consumed);
  return ra;
}

}  // namespace edge::http1::fuzz
