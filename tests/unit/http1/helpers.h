#pragma once
// Shared helpers for the HTTP/1 parser tests: feed a message in pieces and
// summarise the outcome so that different splits can be compared.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <string_view>

#include "gateway/http1/parser.h"

namespace edge::http1::testing {

struct Fed {
  Progress progress = Progress::kIncomplete;
  size_t consumed = 0;
};

// Feeds `in` in pieces of `piece` bytes (0 = all at once), stopping at the
// first non-kIncomplete answer. consumed counts input bytes taken in total.
template <class Parser>
Fed feedPieces(Parser& p, std::string_view in, size_t piece = 0) {
  Fed r;
  if (piece == 0) piece = in.size() ? in.size() : 1;
  size_t off = 0;
  do {
    const size_t n = std::min(piece, in.size() - off);
    size_t used = 0;
    r.progress = p.feed(in.data() + off, n, &used);
    EXPECT_LE(used, n);
    r.consumed += used;
    off += n;
    if (r.progress != Progress::kIncomplete) {
      // Only the piece that ends the head may be partially consumed.
      return r;
    }
    EXPECT_EQ(used, n);
  } while (off < in.size());
  return r;
}

// Feeds `in` split into two pieces at `at`.
template <class Parser>
Fed feedSplit(Parser& p, std::string_view in, size_t at) {
  Fed r;
  size_t used = 0;
  r.progress = p.feed(in.data(), at, &used);
  r.consumed = used;
  if (r.progress != Progress::kIncomplete) return r;
  EXPECT_EQ(used, at);
  r.progress = p.feed(in.data() + at, in.size() - at, &used);
  r.consumed += used;
  return r;
}

inline std::string spanStr(const MessageHead& h, Span s) {
  return std::to_string(s.off) + "+" + std::to_string(s.len) + "'" + std::string(h.view(s)) + "'";
}

// Everything observable about a parse, as text, for comparing two parses.
inline std::string describe(const MessageHead& h) {
  std::ostringstream o;
  o << "raw=" << h.raw.size() << "'" << h.raw << "' v=1." << int(h.version_minor)
    << " framing=" << int(h.framing) << " cl=" << h.content_length << " ka=" << h.keep_alive;
  for (const Field& f : h.fields)
    o << " [" << spanStr(h, f.name) << ":" << spanStr(h, f.value) << "]";
  for (Span t : h.connection_tokens) o << " ct=" << spanStr(h, t);
  return o.str();
}

inline std::string describe(RequestParser& p, const Fed& r) {
  std::ostringstream o;
  o << "progress=" << int(r.progress) << " consumed=" << r.consumed;
  if (r.progress == Progress::kError) {
    o << " status=" << p.error().http_status << " reason=" << p.error().reason;
    return o.str();
  }
  if (r.progress == Progress::kIncomplete) return o.str();
  const RequestHead& h = p.head();
  o << " " << describe(static_cast<const MessageHead&>(h)) << " method=" << spanStr(h, h.method)
    << " target=" << spanStr(h, h.target) << " path=" << spanStr(h, h.path)
    << " query=" << spanStr(h, h.query) << " host=" << spanStr(h, h.host) << " hq=" << h.has_query
    << " ec=" << h.expect_continue << " up=" << h.upgrade;
  return o.str();
}

inline std::string describe(ResponseParser& p, const Fed& r) {
  std::ostringstream o;
  o << "progress=" << int(r.progress) << " consumed=" << r.consumed;
  if (r.progress == Progress::kError) {
    o << " status=" << p.error().http_status << " reason=" << p.error().reason;
    return o.str();
  }
  if (r.progress == Progress::kIncomplete) return o.str();
  const ResponseHead& h = p.head();
  o << " " << describe(static_cast<const MessageHead&>(h)) << " status=" << h.status
    << " reason=" << spanStr(h, h.reason);
  return o.str();
}

}  // namespace edge::http1::testing
