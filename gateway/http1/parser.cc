// Request and response head parsers. See parser.h for the contract.
//
// How the scan stays O(n) across splits: each feed() appends the new bytes
// (at most up to max_head_bytes) to raw and scans only those, 16 bytes at a
// time, for control bytes (chars::findControl). Ordinary bytes are never
// looked at one by one during the scan; a CRLF ends a line, which is parsed
// once, right then; a lone CR or LF, or any CTL but HTAB, is an error on the
// spot. A line still incomplete at the end of a feed() is not rescanned: the
// next feed() resumes where this one stopped (one byte earlier when a CR
// awaits its LF). The head ends at the first empty line; raw is cut there and
// *consumed reports only the bytes up to it.
//
// Documented choices (where the RFCs leave room):
// - Up to kMaxLeadingEmptyLines CRLFs before a request line are skipped (RFC
//   9112 2.2); they are not part of raw. More is 400.
// - Request Transfer-Encoding must be exactly "chunked" (case-insensitive).
//   A list ending in a single "chunked" after other codings ("gzip, chunked")
//   is 501 (well framed, but a coding we do not implement); anything else
//   ("chunked, chunked", "chunked, identity", "identity", "chunked,", a
//   repeated Transfer-Encoding field) is 400: the body length is ambiguous.
// - Transfer-Encoding on an HTTP/1.0 message is refused (400, or 502 for a
//   response): RFC 9112 6.1 calls such framing faulty.
// - "Content-Length: 0" gives Framing::kLength with content_length 0.
// - The request-target may hold obs-text bytes (0x80-0xFF) as nginx allows,
//   never CTL, SP or DEL. Absolute-form accepts only the http and https
//   schemes, refuses userinfo ("user@host"), and its authority replaces the
//   Host field for head.host (RFC 9112 3.2.2); a Host field is still required
//   on HTTP/1.1. An absolute-form target without a path gets path "/" (a span
//   on the first '/' of "://"). For "*" (OPTIONS only) path is "*"; for
//   CONNECT (authority-form "host:port" only) path is empty (at the end of
//   the target) and host is the target.
// - Host must be a reg-name, IPv4 or [IPv6] literal with an optional port of
//   1-5 digits; an empty Host is 400.
// - Expect: 100-continue is ignored on HTTP/1.0 (RFC 9110 10.1.1).
// - Connection, and Transfer-Encoding on responses, must be comma lists of
//   tokens (empty elements skipped); anything else is 400 / 502.
// - Responses: status 100-599; the reason may be empty, and the SP before an
//   empty reason may be missing. A Transfer-Encoding whose last coding is
//   chunked gives kChunked (the other codings stay in the field for the codec);
//   one where chunked is not last gives kUntilClose (RFC 9112 6.3); chunked
//   twice is an error.
#include "gateway/http1/parser.h"

#include <algorithm>
#include <cstring>

#include "gateway/http1/chars.h"

namespace edge::http1 {

using chars::is;
using chars::isOws;

bool isTokenChar(unsigned char c) {
  return is(c, chars::kToken);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if (x == y) continue;
    // Differ only in the case bit, and are letters.
    if ((x ^ y) != 0x20 || (x | 0x20) < 'a' || (x | 0x20) > 'z') return false;
  }
  return true;
}

const Field* MessageHead::find(std::string_view n) const {
  for (const Field& f : fields) {
    if (f.name.len == n.size() && iequals(name(f), n)) return &f;
  }
  return nullptr;
}

namespace {

constexpr uint8_t kMaxLeadingEmptyLines = 4;
constexpr size_t kInitialRawCapacity = 1024;
constexpr size_t kInitialFieldCapacity = 16;

enum LineResult : int { kLineMore, kLineEnd, kLineError };
enum class ScanResult : uint8_t { kIncomplete, kEnd, kError, kBareLf, kBareCr, kCtl, kOverflow };

// Appends what fits of data[0..len) to raw and hands every line completed by
// the new bytes to on_line(begin, end), end excluding the CRLF. *taken is the
// number of input bytes that belong to the head so far.
//
// The scan stops only at control bytes (chars::findControl): CRLF ends a line,
// HTAB is let through (the line parsers refuse it outside field values and the
// reason phrase), a lone CR or LF and any other CTL or DEL is an error. So a
// line handed to on_line holds only HTAB, SP, VCHAR and obs-text bytes.
template <class OnLine>
ScanResult scanHead(std::string& raw, detail::HeadScan& scan, uint32_t max, const char* data,
                    size_t len, size_t* taken, OnLine&& on_line) {
  const size_t old = raw.size();
  const size_t room = max > old ? max - old : 0;
  const size_t n = std::min(len, room);
  if (raw.capacity() < kInitialRawCapacity) raw.reserve(std::min<size_t>(max, kInitialRawCapacity));
  raw.append(data, n);
  const char* base = raw.data();
  const size_t end = old + n;
  size_t pos = scan.scan_pos;  // == old, or old - 1 when a CR awaited its LF
  for (;;) {
    const size_t i = static_cast<size_t>(chars::findControl(base + pos, base + end) - base);
    if (i == end) {
      pos = end;
      break;
    }
    const char c = base[i];
    if (c == '\t') {
      pos = i + 1;
      continue;
    }
    // On error, *taken covers the offending byte (split-independent).
    *taken = i + 1 - old;
    if (c != '\r') return c == '\n' ? ScanResult::kBareLf : ScanResult::kCtl;
    if (i + 1 == end) {  // the LF has not arrived yet: look at this CR again next time
      pos = i;
      break;
    }
    *taken = i + 2 - old;
    if (base[i + 1] != '\n') return ScanResult::kBareCr;
    const int r = on_line(scan.line_start, static_cast<uint32_t>(i));
    scan.line_start = static_cast<uint32_t>(i + 2);
    pos = i + 2;
    if (r == kLineError) return ScanResult::kError;
    if (r == kLineEnd) {
      raw.resize(i + 2);
      return ScanResult::kEnd;
    }
  }
  scan.scan_pos = static_cast<uint32_t>(pos);
  *taken = n;
  return n < len ? ScanResult::kOverflow : ScanResult::kIncomplete;
}

// One field line [b, e) of h.raw, CRLF excluded, not empty, free of CTLs but
// HTAB (scanHead saw to that). Returns the reason it is malformed, or nullptr
// once the field is appended.
const char* parseFieldLine(MessageHead& h, uint32_t b, uint32_t e) {
  const auto* s = reinterpret_cast<const unsigned char*>(h.raw.data());
  if (isOws(static_cast<char>(s[b]))) return "obs-fold or whitespace before field name";
  uint32_t p = b;
  // Names are short but every request has a dozen: eight bytes per test.
  const auto& t = chars::kClass;
  while (e - p >= 8 && (t[s[p]] & t[s[p + 1]] & t[s[p + 2]] & t[s[p + 3]] & t[s[p + 4]] &
                        t[s[p + 5]] & t[s[p + 6]] & t[s[p + 7]] & chars::kToken)) {
    p += 8;
  }
  while (is(s[p], chars::kToken)) ++p;  // stops at the CR at e at the latest
  if (p == e) return "field line without colon";
  if (s[p] != ':') {
    return isOws(static_cast<char>(s[p])) ? "whitespace before colon"
                                          : "invalid character in field name";
  }
  if (p == b) return "empty field name";
  const Span name{b, p - b};
  uint32_t vb = p + 1;
  while (vb < e && isOws(static_cast<char>(s[vb]))) ++vb;
  uint32_t ve = e;
  while (ve > vb && isOws(static_cast<char>(s[ve - 1]))) --ve;
  h.fields.push_back(Field{name, Span{vb, ve - vb}});
  return nullptr;
}

enum class Known : uint8_t {
  kOther,
  kHost,
  kContentLength,
  kTransferEncoding,
  kConnection,
  kExpect,
  kUpgrade
};

Known classify(std::string_view n) {
  // The length and first letter rule out almost every other field cheaply.
  auto match = [&](std::string_view lower_name, Known k) {
    return (n[0] | 0x20) == lower_name[0] && iequals(n, lower_name) ? k : Known::kOther;
  };
  switch (n.size()) {
    case 4:
      return match("host", Known::kHost);
    case 6:
      return match("expect", Known::kExpect);
    case 7:
      return match("upgrade", Known::kUpgrade);
    case 10:
      return match("connection", Known::kConnection);
    case 14:
      return match("content-length", Known::kContentLength);
    case 17:
      return match("transfer-encoding", Known::kTransferEncoding);
    default:
      return Known::kOther;
  }
}

// 1*DIGIT that fits in uint64_t.
bool parseContentLength(std::string_view v, uint64_t* out) {
  if (v.empty()) return false;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    const auto d = static_cast<uint64_t>(c - '0');
    if (n > (UINT64_MAX - d) / 10) return false;
    n = n * 10 + d;
  }
  *out = n;
  return true;
}

// #token list (RFC 9110 5.6.1): empty elements are skipped. fn(Span) gets each
// token; false when an element is not a single token.
template <class Fn>
bool forEachToken(const std::string& raw, Span v, Fn&& fn) {
  const char* s = raw.data();
  uint32_t p = v.off;
  const uint32_t e = v.off + v.len;
  for (;;) {
    while (p < e && isOws(s[p])) ++p;
    const uint32_t tb = p;
    while (p < e && is(static_cast<unsigned char>(s[p]), chars::kToken)) ++p;
    const uint32_t te = p;
    while (p < e && isOws(s[p])) ++p;
    if (p < e && s[p] != ',') return false;
    if (te > tb) fn(Span{tb, te - tb});
    if (p >= e) return true;
    ++p;
  }
}

bool parseConnection(MessageHead& h, Span v, bool* close, bool* keep_alive) {
  return forEachToken(h.raw, v, [&](Span t) {
    const std::string_view tok = h.view(t);
    if (iequals(tok, "close")) {
      *close = true;
    } else if (iequals(tok, "keep-alive")) {
      *keep_alive = true;
    } else {
      h.connection_tokens.push_back(t);
    }
  });
}

struct Codings {
  bool ok = false;  // syntactically a token list with at least one coding
  uint32_t count = 0;
  uint32_t chunked = 0;  // how many are "chunked"
  bool last_chunked = false;
};

Codings parseCodings(const MessageHead& h, Span v) {
  Codings c;
  c.ok = forEachToken(h.raw, v, [&](Span t) {
    ++c.count;
    c.last_chunked = iequals(h.view(t), "chunked");
    if (c.last_chunked) ++c.chunked;
  });
  c.ok = c.ok && c.count > 0;
  return c;
}

// uri-host [ ":" port ] with a 1-5 digit port; uri-host is a reg-name / IPv4
// (unreserved, sub-delims, pct-encoded) or an IPv6 literal in brackets.
bool validHost(std::string_view h, bool* has_port) {
  *has_port = false;
  if (h.empty()) return false;
  size_t i = 0;
  if (h[0] == '[') {
    const size_t close = h.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    for (i = 1; i < close; ++i) {
      const auto c = static_cast<unsigned char>(h[i]);
      if (!is(c, chars::kHex) && c != ':' && c != '.') return false;
    }
    i = close + 1;
  } else {
    for (; i < h.size() && is(static_cast<unsigned char>(h[i]), chars::kHost); ++i) {
      if (h[i] == '%') {
        if (i + 2 >= h.size() || !is(static_cast<unsigned char>(h[i + 1]), chars::kHex) ||
            !is(static_cast<unsigned char>(h[i + 2]), chars::kHex)) {
          return false;
        }
        i += 2;
      }
    }
    if (i == 0) return false;
  }
  if (i == h.size()) return true;
  if (h[i] != ':') return false;
  const size_t digits = h.size() - i - 1;
  if (digits == 0 || digits > 5) return false;
  uint32_t port = 0;
  for (size_t k = i + 1; k < h.size(); ++k) {
    if (h[k] < '0' || h[k] > '9') return false;
    port = port * 10 + static_cast<uint32_t>(h[k] - '0');
  }
  *has_port = true;
  return port <= 65535;
}

void resetMessage(MessageHead& h) {
  h.raw.clear();  // keeps capacity
  h.fields.clear();
  h.version_minor = 1;
  h.framing = Framing::kNone;
  h.content_length = 0;
  h.keep_alive = true;
  h.connection_tokens.clear();
}

// "HTTP/1.0" or "HTTP/1.1" -> minor; -1 malformed; -2 well formed, other version.
int parseVersion(std::string_view v) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (v.size() < 6 || v.substr(0, 5) != "HTTP/") return -1;
  if (v.size() == 8 && digit(v[5]) && v[6] == '.' && digit(v[7])) {
    if (v[5] == '1' && (v[7] == '0' || v[7] == '1')) return v[7] - '0';
    return -2;
  }
  // Another well-formed version, "HTTP/2.0" or "HTTP/10.1": 505, not 400.
  size_t i = 5;
  const size_t major_begin = i;
  while (i < v.size() && digit(v[i])) ++i;
  if (i == major_begin || i == v.size() || v[i] != '.') return -1;
  const size_t minor_begin = ++i;
  while (i < v.size() && digit(v[i])) ++i;
  return (i == minor_begin || i != v.size()) ? -1 : -2;
}

}  // namespace

// ---------------------------------------------------------------- requests

void RequestParser::reset() {
  resetMessage(head_);
  head_.method = head_.target = head_.path = head_.query = head_.host = Span{};
  head_.has_query = head_.expect_continue = head_.upgrade = false;
  error_ = ParseError{};
  crlf_state_ = 0;
  line_done_ = false;
  leading_crlf_skipped_ = false;
  leading_lines_ = 0;
  scan_ = detail::HeadScan{};
}

Progress RequestParser::fail(uint16_t status, const char* reason) {
  error_ = ParseError{status, reason};
  scan_.failed = true;
  return Progress::kError;
}

Progress RequestParser::feed(const char* data, size_t len, size_t* consumed) {
  *consumed = 0;
  if (scan_.failed) return Progress::kError;
  if (scan_.complete) return Progress::kComplete;
  size_t i = 0;
  if (!leading_crlf_skipped_) {
    for (; i < len; ++i) {
      const char c = data[i];
      if (crlf_state_ == 1) {
        *consumed = i + 1;
        if (c != '\n') return fail(400, "bare CR");
        crlf_state_ = 0;
        if (++leading_lines_ > kMaxLeadingEmptyLines) {
          return fail(400, "too many empty lines before the request line");
        }
      } else if (c == '\r') {
        crlf_state_ = 1;
      } else if (c == '\n') {
        *consumed = i + 1;
        return fail(400, "bare LF");
      } else {
        leading_crlf_skipped_ = true;
        break;
      }
    }
    if (!leading_crlf_skipped_) {
      *consumed = len;
      return Progress::kIncomplete;
    }
    if (head_.fields.capacity() == 0) head_.fields.reserve(kInitialFieldCapacity);
  }
  size_t taken = 0;
  const ScanResult r = scanHead(head_.raw, scan_, limits_.max_head_bytes, data + i, len - i, &taken,
                                [this](uint32_t b, uint32_t e) { return onLine(b, e); });
  *consumed = i + taken;
  switch (r) {
    case ScanResult::kIncomplete:
      return Progress::kIncomplete;
    case ScanResult::kEnd:
      return Progress::kComplete;
    case ScanResult::kError:
      return Progress::kError;
    case ScanResult::kBareLf:
      return fail(400, "bare LF");
    case ScanResult::kBareCr:
      return fail(400, "bare CR");
    case ScanResult::kCtl:
      return fail(400, "control character in request head");
    case ScanResult::kOverflow:
      break;
  }
  return line_done_ ? fail(431, "request header fields too large") : fail(414, "URI too long");
}

int RequestParser::onLine(uint32_t b, uint32_t e) {
  if (!line_done_) {
    line_done_ = true;
    scan_.first_line_done = true;
    return parseRequestLine(b, e) ? kLineMore : kLineError;
  }
  if (b == e) return finish() == Progress::kComplete ? kLineEnd : kLineError;
  if (head_.fields.size() >= limits_.max_fields) {
    fail(431, "too many header fields");
    return kLineError;
  }
  if (const char* why = parseFieldLine(head_, b, e)) {
    fail(400, why);
    return kLineError;
  }
  return kLineMore;
}

bool RequestParser::parseRequestLine(uint32_t b, uint32_t e) {
  const auto* s = reinterpret_cast<const unsigned char*>(head_.raw.data());
  uint32_t p = b;
  while (p < e && is(s[p], chars::kToken)) ++p;
  if (p == b || p == e || s[p] != ' ') {
    fail(400, "invalid method");
    return false;
  }
  head_.method = Span{b, p - b};
  // The line holds no CTL but HTAB and no DEL (scanHead), so the target is
  // valid up to the next SP if it holds no HTAB.
  const uint32_t tb = ++p;
  const char* line = head_.raw.data();
  const void* sp = std::memchr(line + tb, ' ', e - tb);
  p = sp ? static_cast<uint32_t>(static_cast<const char*>(sp) - line) : e;
  if (p == tb || std::memchr(line + tb, '\t', p - tb) != nullptr) {
    fail(400, "invalid request target");
    return false;
  }
  if (p == e) {
    fail(400, "missing HTTP version");
    return false;
  }
  head_.target = Span{tb, p - tb};
  const int minor =
      parseVersion(std::string_view(head_.raw).substr(p + 1, static_cast<size_t>(e - p - 1)));
  if (minor == -2) {
    fail(505, "HTTP version not supported");
    return false;
  }
  if (minor < 0) {
    fail(400, "invalid HTTP version");
    return false;
  }
  head_.version_minor = static_cast<uint8_t>(minor);
  return parseTarget();
}

bool RequestParser::parseTarget() {
  const std::string_view t = head_.targetView();
  const std::string_view m = head_.methodView();
  const uint32_t off = head_.target.off;
  auto pathAndQuery = [&](uint32_t pb) {  // [pb, end of target) starts with '/'
    const size_t q = t.find('?', pb - off);
    const uint32_t end = off + head_.target.len;
    if (q == std::string_view::npos) {
      head_.path = Span{pb, end - pb};
    } else {
      const auto qo = static_cast<uint32_t>(off + q);
      head_.path = Span{pb, qo - pb};
      head_.query = Span{qo + 1, end - qo - 1};
      head_.has_query = true;
    }
  };

  if (m == "CONNECT") {
    bool has_port = false;
    if (!validHost(t, &has_port) || !has_port) {
      fail(400, "CONNECT needs an authority-form target");
      return false;
    }
    head_.host = head_.target;
    head_.path = Span{off + head_.target.len, 0};  // empty, but still inside the target
    return true;
  }
  if (t[0] == '/') {
    pathAndQuery(off);
    return true;
  }
  if (t == "*") {
    if (m != "OPTIONS") {
      fail(400, "asterisk-form target on a method other than OPTIONS");
      return false;
    }
    head_.path = head_.target;
    return true;
  }
  // absolute-form: scheme "://" authority [ path-abempty ] [ "?" query ]
  const size_t colon = t.find(':');
  if (colon == std::string_view::npos ||
      !(iequals(t.substr(0, colon), "http") || iequals(t.substr(0, colon), "https")) ||
      t.substr(colon + 1, 2) != "//") {
    fail(400, "invalid request target");
    return false;
  }
  const size_t ab = colon + 3;
  size_t ae = t.find_first_of("/?", ab);
  if (ae == std::string_view::npos) ae = t.size();
  const std::string_view authority = t.substr(ab, ae - ab);
  bool has_port = false;
  if (!validHost(authority, &has_port)) {  // also refuses userinfo: '@' is no host byte
    fail(400, "invalid authority in request target");
    return false;
  }
  head_.host = Span{static_cast<uint32_t>(off + ab), static_cast<uint32_t>(ae - ab)};
  if (ae < t.size() && t[ae] == '/') {
    pathAndQuery(static_cast<uint32_t>(off + ae));
    return true;
  }
  // No path: "/" is the first slash of "://".
  head_.path = Span{static_cast<uint32_t>(off + colon + 1), 1};
  if (ae < t.size()) {  // '?'
    head_.query =
        Span{static_cast<uint32_t>(off + ae + 1), static_cast<uint32_t>(t.size() - ae - 1)};
    head_.has_query = true;
  }
  return true;
}

Progress RequestParser::finish() {
  RequestHead& h = head_;
  const Field* host = nullptr;
  const Field* cl = nullptr;
  const Field* te = nullptr;
  bool close = false;
  bool keep_alive = false;
  for (const Field& f : h.fields) {
    switch (classify(h.name(f))) {
      case Known::kHost:
        if (host != nullptr) return fail(400, "more than one Host field");
        host = &f;
        break;
      case Known::kContentLength:
        if (cl != nullptr) return fail(400, "more than one Content-Length field");
        cl = &f;
        break;
      case Known::kTransferEncoding:
        if (te != nullptr) return fail(400, "more than one Transfer-Encoding field");
        te = &f;
        break;
      case Known::kConnection:
        if (!parseConnection(h, f.value, &close, &keep_alive)) {
          return fail(400, "invalid Connection field");
        }
        break;
      case Known::kExpect:
        if (h.version_minor == 1 && iequals(h.value(f), "100-continue")) h.expect_continue = true;
        break;
      case Known::kUpgrade:
        h.upgrade = true;
        break;
      case Known::kOther:
        break;
    }
  }
  if (host == nullptr) {
    if (h.version_minor == 1) return fail(400, "missing Host field");
  } else {
    bool has_port = false;
    if (!validHost(h.value(*host), &has_port)) return fail(400, "invalid Host field");
    if (h.host.len == 0) h.host = host->value;  // a target authority takes precedence
  }
  if (te != nullptr) {
    if (cl != nullptr) return fail(400, "both Content-Length and Transfer-Encoding");
    if (h.version_minor == 0) return fail(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (!iequals(h.value(*te), "chunked")) {
      const Codings c = parseCodings(h, te->value);
      if (c.ok && c.chunked == 1 && c.last_chunked && c.count > 1) {
        return fail(501, "unsupported transfer coding");
      }
      return fail(400, "invalid Transfer-Encoding");
    }
    h.framing = Framing::kChunked;
  } else if (cl != nullptr) {
    if (!parseContentLength(h.value(*cl), &h.content_length)) {
      return fail(400, "invalid Content-Length");
    }
    h.framing = Framing::kLength;
  }
  h.keep_alive = h.version_minor == 1 ? !close : (keep_alive && !close);
  scan_.complete = true;
  return Progress::kComplete;
}

// --------------------------------------------------------------- responses

void ResponseParser::reset() {
  resetMessage(head_);
  head_.status = 0;
  head_.reason = Span{};
  error_ = ParseError{502, ""};
  crlf_state_ = 0;
  scan_ = detail::HeadScan{};
  // request_is_head_ belongs to the next exchange: the caller sets it.
}

Progress ResponseParser::fail(const char* reason) {
  error_ = ParseError{502, reason};
  scan_.failed = true;
  return Progress::kError;
}

Progress ResponseParser::feed(const char* data, size_t len, size_t* consumed) {
  *consumed = 0;
  if (scan_.failed) return Progress::kError;
  if (scan_.complete) return Progress::kComplete;
  if (head_.fields.capacity() == 0) head_.fields.reserve(kInitialFieldCapacity);
  size_t taken = 0;
  const ScanResult r = scanHead(head_.raw, scan_, limits_.max_head_bytes, data, len, &taken,
                                [this](uint32_t b, uint32_t e) { return onLine(b, e); });
  *consumed = taken;
  switch (r) {
    case ScanResult::kIncomplete:
      return Progress::kIncomplete;
    case ScanResult::kEnd:
      return Progress::kComplete;
    case ScanResult::kError:
      return Progress::kError;
    case ScanResult::kBareLf:
      return fail("bare LF in response head");
    case ScanResult::kBareCr:
      return fail("bare CR in response head");
    case ScanResult::kCtl:
      return fail("control character in response head");
    case ScanResult::kOverflow:
      break;
  }
  return fail("response head too large");
}

int ResponseParser::onLine(uint32_t b, uint32_t e) {
  if (!scan_.first_line_done) {
    scan_.first_line_done = true;
    return parseStatusLine(b, e) ? kLineMore : kLineError;
  }
  if (b == e) return finish() == Progress::kComplete ? kLineEnd : kLineError;
  if (head_.fields.size() >= limits_.max_fields) {
    fail("too many response header fields");
    return kLineError;
  }
  if (const char* why = parseFieldLine(head_, b, e)) {
    fail(why);
    return kLineError;
  }
  return kLineMore;
}

bool ResponseParser::parseStatusLine(uint32_t b, uint32_t e) {
  const std::string_view line(head_.raw.data() + b, e - b);
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  const int minor = parseVersion(line.substr(0, std::min<size_t>(8, line.size())));
  if (minor < 0 || line.size() < 12 || line[8] != ' ') {
    fail("invalid status line");
    return false;
  }
  if (!digit(line[9]) || !digit(line[10]) || !digit(line[11])) {
    fail("invalid status code");
    return false;
  }
  head_.version_minor = static_cast<uint8_t>(minor);
  head_.status =
      static_cast<uint16_t>((line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0'));
  if (head_.status < 100 || head_.status > 599) {
    fail("invalid status code");
    return false;
  }
  if (line.size() == 12) {
    head_.reason = Span{e, 0};
    return true;
  }
  if (line[12] != ' ') {
    fail("invalid status line");
    return false;
  }
  head_.reason = Span{b + 13, e - b - 13};
  return true;
}

Progress ResponseParser::finish() {
  ResponseHead& h = head_;
  const Field* cl = nullptr;
  const Field* te = nullptr;
  bool close = false;
  bool keep_alive = false;
  for (const Field& f : h.fields) {
    switch (classify(h.name(f))) {
      case Known::kContentLength:
        if (cl != nullptr) return fail("more than one Content-Length field");
        cl = &f;
        break;
      case Known::kTransferEncoding:
        if (te != nullptr) return fail("more than one Transfer-Encoding field");
        te = &f;
        break;
      case Known::kConnection:
        if (!parseConnection(h, f.value, &close, &keep_alive)) {
          return fail("invalid Connection field");
        }
        break;
      default:
        break;
    }
  }
  if (te != nullptr && cl != nullptr) return fail("both Content-Length and Transfer-Encoding");
  if (te != nullptr && h.version_minor == 0) return fail("Transfer-Encoding in HTTP/1.0 response");
  if (cl != nullptr && !parseContentLength(h.value(*cl), &h.content_length)) {
    return fail("invalid Content-Length");
  }
  bool chunked = false;
  if (te != nullptr) {
    const Codings c = parseCodings(h, te->value);
    if (!c.ok || c.chunked > 1) return fail("invalid Transfer-Encoding");
    chunked = c.last_chunked;
  }
  const bool no_body = request_is_head_ || h.status < 200 || h.status == 204 || h.status == 304;
  if (no_body) {
    h.framing = Framing::kNone;
  } else if (te != nullptr) {
    h.framing = chunked ? Framing::kChunked : Framing::kUntilClose;
  } else if (cl != nullptr) {
    h.framing = Framing::kLength;
  } else {
    h.framing = Framing::kUntilClose;
  }
  h.keep_alive = h.version_minor == 1 ? !close : (keep_alive && !close);
  if (h.framing == Framing::kUntilClose) h.keep_alive = false;
  scan_.complete = true;
  return Progress::kComplete;
}

}  // namespace edge::http1
