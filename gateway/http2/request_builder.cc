#include "gateway/http2/request_builder.h"

namespace edge::http2 {
namespace {
// RFC 9113 §4.3.1 / 7541 §4.1: each field also costs 32 bytes of overhead.
constexpr uint32_t kFieldOverhead = 32;
}  // namespace

bool RequestBuilder::add(std::string_view name, std::string_view value) {
  if (too_large_) return false;
  bytes_ += static_cast<uint32_t>(name.size() + value.size()) + kFieldOverhead;
  if (bytes_ > max_bytes_) {
    too_large_ = true;
    return false;
  }
  if (!name.empty() && name.front() == ':') {
    if (name == ":method") {
      method_.assign(value);
    } else if (name == ":scheme") {
      scheme_.assign(value);
    } else if (name == ":authority") {
      authority_.assign(value);
    } else if (name == ":path") {
      path_.assign(value);
    }
    return true;  // nghttp2 refuses unknown pseudo-headers before they get here
  }
  if (name == "host") {
    host_.assign(value);
    return true;
  }
  if (name == "cookie") {
    if (!cookie_.empty()) cookie_.append("; ");
    cookie_.append(value);
    return true;
  }
  // Hop-by-hop in HTTP/1.1 terms, or meaningless once the frame layer has
  // done its work: "te: trailers" (the only TE allowed), an Expect that
  // HTTP/2 flow control replaces.
  if (name == "te" || name == "expect") return true;
  if (name == "content-length") has_content_length_ = true;
  fields_.append(name).append(": ").append(value).append("\r\n");
  return true;
}

uint16_t RequestBuilder::build(bool end_stream, std::string& out, const char** reason) {
  if (too_large_) {
    *reason = "the request header list is larger than max_header_bytes";
    return 431;
  }
  if (method_ == "CONNECT") {
    *reason = "CONNECT is not supported";
    return 501;
  }
  if (method_.empty() || path_.empty() || scheme_.empty()) {
    *reason = "a pseudo-header is missing";
    return 400;
  }
  if (!authority_.empty() && !host_.empty() && authority_ != host_) {
    *reason = "the Host field differs from :authority";
    return 400;
  }
  const std::string& host = authority_.empty() ? host_ : authority_;
  out.clear();
  out.reserve(method_.size() + path_.size() + host.size() + fields_.size() + cookie_.size() + 64);
  out.append(method_).append(" ").append(path_).append(" HTTP/1.1\r\n");
  if (!host.empty()) out.append("Host: ").append(host).append("\r\n");
  out.append(fields_);
  if (!cookie_.empty()) out.append("cookie: ").append(cookie_).append("\r\n");
  if (!end_stream && !has_content_length_) out.append("Transfer-Encoding: chunked\r\n");
  out.append("\r\n");
  return 0;
}

}  // namespace edge::http2
