#pragma once
// Turns the header block of an HTTP/2 request into HTTP/1.1 head text, so the
// strict HTTP/1 request parser validates it and the rest of the gateway (one
// Exchange per request, whatever the client protocol) sees one request shape.
//
// nghttp2 has already checked what RFC 9113 §8.2-8.3 says about the block's
// form (pseudo-headers present once and first, lower-case names, no
// connection-specific fields, TE only "trailers", Content-Length against the
// DATA received); this adds the mapping rules: :authority becomes Host, a
// Host field that disagrees with :authority is refused, cookie fields are
// joined with "; " (§8.2.3), and a body without Content-Length is sent on as
// chunked. Pure code: no I/O, unit-tested.
#include <cstdint>
#include <string>
#include <string_view>

namespace edge::http2 {

class RequestBuilder {
 public:
  // max_bytes bounds the header list (names + values + 32 per field, as
  // SETTINGS_MAX_HEADER_LIST_SIZE counts it).
  explicit RequestBuilder(uint32_t max_bytes) : max_bytes_(max_bytes) {}

  // One field of the block, as nghttp2 hands it over. False once the list is
  // over max_bytes (the rest is ignored; the request gets 431).
  bool add(std::string_view name, std::string_view value);
  // The block is complete. end_stream: no body follows. Returns 0 and fills
  // `out` with the head (final CRLF included), or the HTTP status to answer
  // with and sets `reason` (static text).
  uint16_t build(bool end_stream, std::string& out, const char** reason);

  std::string_view method() const { return method_; }
  std::string_view path() const { return path_; }

 private:
  uint32_t max_bytes_;
  uint32_t bytes_ = 0;
  bool too_large_ = false;
  bool has_content_length_ = false;
  std::string method_, scheme_, authority_, path_, host_;
  std::string fields_;  // "name: value\r\n" lines, ready to copy
  std::string cookie_;
};

}  // namespace edge::http2
