#include "gateway/http2/http2_stream.h"

#include <event2/buffer.h>

#include <cstring>
#include <vector>

#include "gateway/http2/http2_connection.h"
#include "gateway/log.h"
#include "gateway/worker.h"

namespace edge::http2 {
namespace {
// Below this much buffered response, a paused origin read resumes (the
// upstream step's own low mark).
constexpr size_t kOutLowWater = 64 * 1024;

// Fields that mean something only for one HTTP/1.1 connection; RFC 9113
// §8.2.2 forbids them in HTTP/2.
bool connectionSpecific(std::string_view name) {
  return http1::iequals(name, "connection") || http1::iequals(name, "keep-alive") ||
         http1::iequals(name, "proxy-connection") || http1::iequals(name, "transfer-encoding") ||
         http1::iequals(name, "upgrade");
}

nghttp2_nv nv(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}
}  // namespace

Http2Stream::Http2Stream(Http2Connection& conn, int32_t id, uint64_t start_us)
    : conn_(conn),
      id_(id),
      start_us_(start_us),
      builder_(
          static_cast<uint32_t>(conn.worker().snapshot()->config().server.limits.max_header_bytes)),
      parser_(http1::HeadLimits{
          // The rebuilt head adds a request line and framing to the list.
          static_cast<uint32_t>(conn.worker().snapshot()->config().server.limits.max_header_bytes +
                                1024)}),
      in_(evbuffer_new()),
      out_(evbuffer_new()) {}

Http2Stream::~Http2Stream() = default;

void Http2Stream::onHeadersDone(bool end_stream) {
  const char* reason = "";
  uint16_t status = builder_.build(end_stream, head_text_, &reason);
  if (status == 0) {
    size_t used = 0;
    http1::Progress p = parser_.feed(head_text_.data(), head_text_.size(), &used);
    if (p == http1::Progress::kComplete) {
      status = 0;
    } else {
      status = p == http1::Progress::kError ? parser_.error().http_status : 400;
      reason = p == http1::Progress::kError ? parser_.error().reason : "incomplete request head";
    }
  }
  end_stream_in_ = end_stream;
  if (status != 0) {
    refuse(status, reason);
    return;
  }
  const http1::RequestHead& req = parser_.head();
  exchange_ = std::make_unique<Exchange>(conn_.worker(), *this, conn_.worker().snapshot(), req,
                                         conn_.client(), start_us_);
  const auto& limits = conn_.worker().snapshot()->config().server.limits;
  if (req.framing == http1::Framing::kLength && req.content_length > limits.max_body_bytes) {
    exchange_->startWithError(413, "the request body is larger than max_body_bytes");
    return;
  }
  exchange_->start();
  if (end_stream && exchange_ && !request_done_ && exchange_->requestHasBody()) pumpBody();
}

// A request that never became an exchange: answered here, counted as refused.
void Http2Stream::refuse(uint16_t status, const char* reason) {
  std::string id;
  conn_.worker().newRequestId(id);
  refusal_ = std::to_string(status) + " " + reasonPhrase(status) + ": " + reason + " (request id " +
             id + ")\n";
  std::string status_text = std::to_string(status), length = std::to_string(refusal_.size());
  nghttp2_nv head[] = {nv(":status", status_text), nv("content-type", "text/plain; charset=utf-8"),
                       nv("content-length", length), nv("x-request-id", id)};
  evbuffer_add(out_.get(), refusal_.data(), refusal_.size());
  eof_out_ = true;
  nghttp2_data_provider prd;
  prd.source.ptr = this;
  prd.read_callback = &Http2Stream::readData;
  if (nghttp2_submit_response(conn_.session(), id_, head, 4, &prd) != 0)
    nghttp2_submit_rst_stream(conn_.session(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
  RequestRecord record;
  buildRefusedRecord(record, conn_.worker(), id, conn_.client(), status, start_us_);
  conn_.worker().completeRequest(record, Loop::nowMicros());
  LOG_DEBUG("client %s: stream %d refused: %u %s", conn_.client().ip.c_str(), id_, status, reason);
}

void Http2Stream::onData(const uint8_t* data, size_t len) {
  body_received_ += len;
  if (!exchange_ || exchange_->finished() || request_done_) {
    consume(len);  // answered already (or refused): the bytes are dropped
    return;
  }
  const auto& limits = exchange_->snapshot().config().server.limits;
  if (body_received_ > limits.max_body_bytes) {
    consume(len);
    request_done_ = true;
    if (!exchange_->responseStarted()) {
      exchange_->cancelUpstream();
      exchange_->respondError(413, "the request body is larger than max_body_bytes");
    } else {
      exchange_->abort(ErrorSource::kClient);
      nghttp2_submit_rst_stream(conn_.session(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_CANCEL);
    }
    return;
  }
  if (evbuffer_get_length(in_.get()) == 0 && exchange_->wantsRequestBody()) {
    exchange_->onRequestBody(reinterpret_cast<const char*>(data), len);
    consume(len);
    return;
  }
  // Held until the origin takes it; flow control bounds how much can wait.
  evbuffer_add(in_.get(), data, len);
}

void Http2Stream::onEndStream() {
  end_stream_in_ = true;
  pumpBody();
}

void Http2Stream::resumeRequestBody() {
  pumpBody();
  conn_.flush();  // the WINDOW_UPDATEs
}

void Http2Stream::pumpBody() {
  while (exchange_ && !request_done_ && !exchange_->finished() && exchange_->wantsRequestBody()) {
    size_t len = evbuffer_get_length(in_.get());
    if (len == 0) {
      if (end_stream_in_) {
        request_done_ = true;
        exchange_->onRequestBodyEnd();
      }
      return;
    }
    evbuffer_iovec vec;
    if (evbuffer_peek(in_.get(), -1, nullptr, &vec, 1) < 1) return;
    exchange_->onRequestBody(static_cast<const char*>(vec.iov_base), vec.iov_len);
    evbuffer_drain(in_.get(), vec.iov_len);
    consume(vec.iov_len);
  }
}

void Http2Stream::consume(size_t len) {
  if (closed_ || len == 0) return;
  nghttp2_session_consume(conn_.session(), id_, len);
}

void Http2Stream::onClosed() {
  closed_ = true;
  if (exchange_ && !exchange_->finished()) exchange_->onClientGone();
}

void Http2Stream::sendHead(const ResponseOut& head) {
  const http1::RequestHead& req = parser_.head();
  no_body_out_ = req.methodView() == "HEAD" || head.status == 204 || head.status == 304 ||
                 (head.framing == http1::Framing::kLength && head.content_length == 0) ||
                 head.framing == http1::Framing::kNone;
  std::string status = std::to_string(head.status);
  std::string length;
  // nghttp2 copies the fields, so the lower-cased names and the field array
  // are scratch space reused by every response of this worker thread. The
  // names are reserved up front: the views into them stay valid.
  thread_local std::string names;
  thread_local std::vector<nghttp2_nv> nva;
  size_t names_len = 0;
  for (const auto& field : head.headers) names_len += field.first.size();
  names.clear();
  names.reserve(names_len);
  nva.clear();
  nva.reserve(head.headers.size() + 2);
  nva.push_back(nv(":status", status));
  for (const auto& [name, value] : head.headers) {
    if (connectionSpecific(name)) continue;
    size_t at = names.size();
    for (char c : name)
      names.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    nva.push_back(nv(std::string_view(names).substr(at, name.size()), value));
  }
  if (head.framing == http1::Framing::kLength && head.status >= 200 && head.status != 204 &&
      head.status != 304) {
    length = std::to_string(head.content_length);
    nva.push_back(nv("content-length", length));
  }
  nghttp2_data_provider prd;
  prd.source.ptr = this;
  prd.read_callback = &Http2Stream::readData;
  int rv = nghttp2_submit_response(conn_.session(), id_, nva.data(), nva.size(),
                                   no_body_out_ ? nullptr : &prd);
  if (rv != 0) {
    LOG_WARN("client %s: stream %d: response head refused by nghttp2: %s",
             conn_.client().ip.c_str(), id_, nghttp2_strerror(rv));
    nghttp2_submit_rst_stream(conn_.session(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
  }
}

void Http2Stream::sendBody(const char* data, size_t len) {
  if (no_body_out_ || len == 0) return;
  evbuffer_add(out_.get(), data, len);
  dataReady();
}

void Http2Stream::sendBodyBuffer(evbuffer* buf, size_t len) {
  if (no_body_out_ || len == 0) {
    evbuffer_drain(buf, len);
    return;
  }
  evbuffer_remove_buffer(buf, out_.get(), len);
  dataReady();
}

void Http2Stream::finishResponse() {
  eof_out_ = true;
  conn_.noteCompleted();
  dataReady();
  // The request body is no longer wanted: its bytes are dropped as they
  // come, so the client's window keeps opening and it can finish sending.
  if (!request_done_ && !closed_) {
    consume(evbuffer_get_length(in_.get()));
    evbuffer_drain(in_.get(), evbuffer_get_length(in_.get()));
    request_done_ = true;
  }
  conn_.flush();  // the upstream step does not flush after the last byte
}

void Http2Stream::abortResponse() {
  if (!closed_)
    nghttp2_submit_rst_stream(conn_.session(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
  conn_.flush();
}

void Http2Stream::flush() {
  conn_.flush();
}

void Http2Stream::dataReady() {
  if (!deferred_ || closed_) return;
  deferred_ = false;
  nghttp2_session_resume_data(conn_.session(), id_);
}

void Http2Stream::onWritable() {
  if (exchange_ && !exchange_->finished()) exchange_->onDownstreamWritable();
}

ssize_t Http2Stream::readData(nghttp2_session*, int32_t, uint8_t* buf, size_t len, uint32_t* flags,
                              nghttp2_data_source* source, void*) {
  auto* self = static_cast<Http2Stream*>(source->ptr);
  evbuffer* out = self->out_.get();
  size_t before = evbuffer_get_length(out);
  if (before == 0 && !self->eof_out_) {
    self->deferred_ = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  int n = evbuffer_remove(out, buf, len);
  if (n < 0) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  size_t after = before - static_cast<size_t>(n);
  if (after == 0 && self->eof_out_) *flags |= NGHTTP2_DATA_FLAG_EOF;
  if (before >= kOutLowWater && after < kOutLowWater && !self->eof_out_)
    self->conn_.noteWritable(self->id_);
  return n;
}

}  // namespace edge::http2
