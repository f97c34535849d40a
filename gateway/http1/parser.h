#pragma once
// Strict, incremental HTTP/1.1 message-head parsers and body decoder.
//
// Pure code: no I/O, no libevent, no allocation per byte. Used by the client
// codec (requests), the upstream codec (responses) and the fuzzer. Bytes may
// arrive split anywhere; the head parsers copy head bytes into the head's own
// storage (bounded by max_head_bytes) and scan each byte once, so a slowloris
// client costs O(bytes), never O(bytes^2).
//
// Strictness (RFC 9110/9112, with smuggling in mind): CRLF line endings only
// (a bare LF or CR is an error), no obs-fold, no whitespace before the colon,
// field names are tokens, field values have no NUL/CR/LF or other CTLs but HTAB,
// Content-Length is digits only and appears once (a repeated identical value is
// still refused), Transfer-Encoding with Content-Length is refused, a
// Transfer-Encoding other than exactly "chunked" on a request is refused: 501
// when it is a list ending in one "chunked" ("gzip, chunked"), 400 otherwise
// ("chunked, chunked", "identity", ...). parser.cc lists the other choices.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace edge::http1 {

// Where a piece of the head lies inside MessageHead::raw. Offsets, not
// string_views, so a MessageHead can be moved freely.
struct Span {
  uint32_t off = 0;
  uint32_t len = 0;
};

struct Field {
  Span name;
  Span value;  // leading and trailing whitespace already excluded
};

// What a parse step says. http_status is the answer the client should get
// (400 malformed, 414 URI too long, 431 head too large, 501 unknown
// transfer-coding, 505 version); for responses any error means 502.
struct ParseError {
  uint16_t http_status = 400;
  const char* reason = "";  // static string, for logs and the error body
};

enum class Framing : uint8_t {
  kNone,        // no body (requests without CL/TE; 1xx/204/304 or HEAD responses)
  kLength,      // Content-Length bytes
  kChunked,     // chunked transfer-coding
  kUntilClose,  // responses only: body ends when the origin closes
};

class MessageHead {
 public:
  std::string raw;  // the head bytes exactly as received, final CRLFCRLF included
  std::vector<Field> fields;

  std::string_view view(Span s) const { return std::string_view(raw).substr(s.off, s.len); }
  std::string_view name(const Field& f) const { return view(f.name); }
  std::string_view value(const Field& f) const { return view(f.value); }
  // First field with that name (ASCII case-insensitive), or nullptr.
  const Field* find(std::string_view name) const;

  uint8_t version_minor = 1;  // HTTP/1.<minor>; only 1.0 and 1.1 are accepted
  Framing framing = Framing::kNone;
  uint64_t content_length = 0;  // valid when framing == kLength
  // Connection semantics after this message: false on "Connection: close", or
  // HTTP/1.0 without "Connection: keep-alive".
  bool keep_alive = true;
  // Any "Connection" tokens other than close / keep-alive name hop-by-hop
  // fields; the codec strips them. Spans into raw, lower case not guaranteed.
  std::vector<Span> connection_tokens;
};

struct RequestHead : MessageHead {
  Span method;
  Span target;  // as received: origin-form, absolute-form, authority-form (CONNECT) or "*"
  Span path;    // origin-form path, or the path part of an absolute-form target ("/" if empty)
  Span query;   // without the '?', empty when absent
  Span host;    // from the Host field, or the authority of an absolute-form target
  bool has_query = false;
  bool expect_continue = false;  // "Expect: 100-continue"
  bool upgrade = false;          // an Upgrade field is present

  std::string_view methodView() const { return view(method); }
  std::string_view targetView() const { return view(target); }
  std::string_view pathView() const { return view(path); }
  std::string_view queryView() const { return view(query); }
  std::string_view hostView() const { return view(host); }
};

struct ResponseHead : MessageHead {
  uint16_t status = 0;
  Span reason;
};

struct HeadLimits {
  uint32_t max_head_bytes = 32 * 1024;  // request/status line + fields + final CRLF
  uint32_t max_fields = 100;            // field lines; more is 431 (502 for responses)
};

namespace detail {
// Line-scanning state shared by both head parsers (see parser.cc).
struct HeadScan {
  uint32_t line_start = 0;  // offset in raw of the line being received
  uint32_t scan_pos = 0;    // offset in raw where the scan resumes (never moves back)
  bool first_line_done = false;
  bool complete = false;
  bool failed = false;
};
}  // namespace detail

enum class Progress : uint8_t { kIncomplete, kComplete, kError };

// Parses one request head. Reuse after reset().
class RequestParser {
 public:
  explicit RequestParser(HeadLimits limits = {}) : limits_(limits) {}

  // Consumes bytes up to the end of the head, never beyond. *consumed says how
  // many were taken (all of them while kIncomplete). After kComplete, head()
  // holds the result; after kError, error() says why and the parser is dead
  // until reset(). A request line longer than max_head_bytes is 414; other
  // overflows are 431.
  Progress feed(const char* data, size_t len, size_t* consumed);

  RequestHead& head() { return head_; }
  const ParseError& error() const { return error_; }
  // True once any byte of a head has been received (idle vs. partial request).
  bool started() const { return !head_.raw.empty(); }
  void reset();

 private:
  Progress finish();
  Progress fail(uint16_t status, const char* reason);
  // Line handlers: [b, e) is the line in head_.raw without its CRLF.
  int onLine(uint32_t b, uint32_t e);
  bool parseRequestLine(uint32_t b, uint32_t e);
  bool parseTarget();

  HeadLimits limits_;
  RequestHead head_;
  ParseError error_;
  uint8_t crlf_state_ = 0;             // leading empty lines: 1 after a CR whose LF has not arrived
  bool line_done_ = false;             // the request line's CRLF was seen
  bool leading_crlf_skipped_ = false;  // the first byte of the request line was seen
  uint8_t leading_lines_ = 0;          // empty lines skipped before the request line
  detail::HeadScan scan_;
};

// Parses one response head. The request method decides whether a body follows
// (HEAD, and 1xx/204/304 responses have none).
class ResponseParser {
 public:
  explicit ResponseParser(HeadLimits limits = {}) : limits_(limits) {}
  void setRequestIsHead(bool is_head) { request_is_head_ = is_head; }
  Progress feed(const char* data, size_t len, size_t* consumed);
  ResponseHead& head() { return head_; }
  const ParseError& error() const { return error_; }
  void reset();

 private:
  Progress finish();
  Progress fail(const char* reason);
  int onLine(uint32_t b, uint32_t e);
  bool parseStatusLine(uint32_t b, uint32_t e);

  HeadLimits limits_;
  ResponseHead head_;
  ParseError error_;
  uint8_t crlf_state_ = 0;  // unused: responses get no leading empty lines
  bool request_is_head_ = false;
  detail::HeadScan scan_;
};

// Decodes a body framed as the head said. Yields payload bytes as slices of
// the input, so the caller copies them straight to their destination. Chunk
// extensions are skipped; trailer fields are validated and dropped.
class BodyDecoder {
 public:
  struct Step {
    size_t consumed = 0;         // input bytes used by this step
    const char* data = nullptr;  // payload slice inside the input, may be empty
    size_t data_len = 0;
    bool done = false;   // the body is complete
    bool error = false;  // malformed framing: 400 for requests, 502 for responses
    const char* reason = "";
  };

  void start(Framing framing, uint64_t content_length);
  // One step over data[0..len). Call again with the rest until consumed == len
  // or done or error. For kUntilClose, call finishAtEof() when the peer closes.
  Step decode(const char* data, size_t len);
  // The peer closed the connection. True when that ends the body (kUntilClose,
  // or already done), which then counts as done; false means it was truncated.
  bool finishAtEof();
  bool done() const { return state_ == State::kDone; }
  Framing framing() const { return framing_; }
  uint64_t remaining() const { return remaining_; }  // for kLength and inside a chunk

 private:
  enum class State : uint8_t {
    kDone,
    kLength,
    kUntilClose,
    kChunkSize,
    kChunkExt,
    kChunkSizeLf,
    kChunkData,
    kChunkDataCr,
    kChunkDataLf,
    kTrailerLineStart,
    kTrailerLine,
    kTrailerLf,
    kFinalLf,
    kError,
  };
  Framing framing_ = Framing::kNone;
  State state_ = State::kDone;
  uint64_t remaining_ = 0;
  uint32_t size_digits_ = 0;
  uint32_t trailer_bytes_ = 0;
  uint32_t ext_bytes_ = 0;         // chunk-extension bytes of the current chunk
  bool trailer_in_value_ = false;  // inside a trailer line: past its colon

 public:
  static constexpr uint32_t kMaxChunkSizeDigits = 16;      // fits uint64_t: no overflow possible
  static constexpr uint32_t kMaxChunkExtBytes = 4096;      // per chunk
  static constexpr uint32_t kMaxTrailerBytes = 32 * 1024;  // after "0\r\n", final CRLF included
};

// "GET", "HEAD", ... are tokens; exposed for the codec and tests.
bool isTokenChar(unsigned char c);
bool iequals(std::string_view a, std::string_view b);

}  // namespace edge::http1
