#include "gateway/exchange.h"

#include <event2/buffer.h>

#include <algorithm>
#include <cstring>

#include "gateway/http1/parser.h"
#include "gateway/log.h"
#include "gateway/upstream/upstream_request.h"
#include "gateway/worker.h"

namespace edge {

void ResponseOut::set(std::string_view name, std::string_view value) {
  remove(name);
  headers.emplace_back(name, value);
}

void ResponseOut::remove(std::string_view name) {
  std::erase_if(headers, [&](const auto& h) { return http1::iequals(h.first, name); });
}

const char* reasonPhrase(uint16_t status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 421:
      return "Misdirected Request";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      break;
  }
  if (status < 200) return "Informational";
  if (status < 300) return "Success";
  if (status < 400) return "Redirection";
  if (status < 500) return "Client Error";
  return "Server Error";
}

Exchange::Exchange(Worker& worker, Downstream& down, SnapshotPtr snapshot,
                   const http1::RequestHead& req, const ClientInfo& client, uint64_t start_us)
    : worker_(worker),
      down_(down),
      snapshot_(std::move(snapshot)),
      req_(req),
      client_(client),
      start_us_(start_us) {}

Exchange::~Exchange() = default;

namespace {
// A client-supplied id is kept only when it is a short token that is safe to
// copy into logs and headers.
bool saneRequestId(std::string_view id) {
  if (id.empty() || id.size() > 127) return false;
  for (unsigned char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':' || c == '=' || c == '+' || c == '/';
    if (!ok) return false;
  }
  return true;
}
}  // namespace

void Exchange::startWithError(uint16_t status, std::string_view detail) {
  worker_.newRequestId(request_id_);
  request_id_len_ = 32;
  respondError(status, detail);
}

void Exchange::start() {
  const http1::Field* rid = req_.find("x-request-id");
  if (rid && saneRequestId(req_.value(*rid))) {
    std::string_view id = req_.value(*rid);
    memcpy(request_id_, id.data(), id.size());
    request_id_len_ = static_cast<uint8_t>(id.size());
  } else {
    worker_.newRequestId(request_id_);
    request_id_len_ = 32;
  }
  runFrom(0);
}

void Exchange::startAt(size_t index) {
  worker_.newRequestId(request_id_);
  request_id_len_ = 32;
  runFrom(index);
}

void Exchange::resume() {
  runFrom(next_policy_);
}

void Exchange::runFrom(size_t index) {
  const auto& chain = worker_.policies();
  for (size_t i = index; i < chain.size(); ++i) {
    next_policy_ = i + 1;
    switch (chain[i]->onRequest(*this)) {
      case PolicyResult::kContinue:
        continue;
      case PolicyResult::kRespond:
        return;
      case PolicyResult::kPause:
        return;
    }
  }
  if (!response_started_) respondError(500, "no policy answered the request");
}

void Exchange::setRoute(const conf::Site* site, const conf::Route* route) {
  site_ = site;
  route_ = route;
}

void Exchange::setUpstream(std::unique_ptr<UpstreamRequest> up) {
  upstream_engaged_ = true;
  upstream_ = std::move(up);
}

void Exchange::respondError(uint16_t status, std::string_view detail) {
  respondError(status, detail, {});
}

void Exchange::respondError(
    uint16_t status, std::string_view detail,
    std::initializer_list<std::pair<std::string_view, std::string_view>> extra) {
  if (response_started_) {
    abort(ErrorSource::kInternal);
    return;
  }
  error_body_.clear();
  error_body_.append(std::to_string(status)).append(" ").append(reasonPhrase(status));
  if (!detail.empty()) error_body_.append(": ").append(detail);
  error_body_.append(" (request id ").append(requestId()).append(")\n");
  ResponseOut out;
  out.status = status;
  out.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
  out.headers.emplace_back("Cache-Control", "no-store");
  for (const auto& h : extra) out.headers.push_back(h);
  out.framing = http1::Framing::kLength;
  out.content_length = error_body_.size();
  sendResponseHead(out);
  sendBody(error_body_.data(), error_body_.size());
  finishResponse();
  down_.flush();
}

void Exchange::respondRedirect(uint16_t status, std::string_view location) {
  // no-store (from respondError) on purpose: a browser keeps a cached 301
  // for good, so a mistaken redirect could not be taken back by a reload.
  respondError(status, "see " + std::string(location), {{"Location", location}});
}

void Exchange::sendResponseHead(ResponseOut& head) {
  if (observer_ && observer_->onResponseHead(head)) {
    taken_over_ = true;
    return;
  }
  const auto& chain = worker_.policies();
  for (size_t i = chain.size(); i-- > 0;) chain[i]->onResponseHead(*this, head);
  head.set("X-Request-Id", requestId());
  status_ = head.status;
  response_started_ = true;
  down_.sendHead(head);
}

void Exchange::sendBody(const char* data, size_t len) {
  if (taken_over_) return;
  if (observer_) observer_->onResponseBody(data, len);
  body_bytes_ += len;
  down_.sendBody(data, len);
}

void Exchange::sendBodyBuffer(evbuffer* buf, size_t len) {
  if (taken_over_) {
    evbuffer_drain(buf, len);
    return;
  }
  if (observer_) {
    evbuffer_iovec vec[16];
    size_t seen = 0;
    while (seen < len) {
      evbuffer_ptr pos;
      evbuffer_ptr_set(buf, &pos, seen, EVBUFFER_PTR_SET);
      int n = evbuffer_peek(buf, static_cast<ev_ssize_t>(len - seen), &pos, vec, 16);
      if (n <= 0) break;
      for (int i = 0; i < n && i < 16 && seen < len; ++i) {
        size_t take = std::min(vec[i].iov_len, len - seen);
        observer_->onResponseBody(static_cast<const char*>(vec[i].iov_base), take);
        seen += take;
      }
    }
  }
  body_bytes_ += len;
  down_.sendBodyBuffer(buf, len);
}

void Exchange::finishResponse() {
  if (finished_) return;
  if (ResponseObserver* o = observer_) {
    observer_ = nullptr;
    if (taken_over_) {
      // The observer answers now, through this exchange, from the start.
      taken_over_ = false;
      o->onTakenOver();
      return;
    }
    o->onResponseEnd(true);
  }
  finished_ = true;
  // Counted and timed when the codec has written the last byte (takeRecord).
  buildRequestRecord(record_, *this);
  record_pending_ = true;
  down_.finishResponse();
  if (record_pending_) {
    record_pending_ = false;
    worker_.completeRequest(record_, Loop::nowMicros());
  }
}

bool Exchange::takeRecord(RequestRecord& into) {
  if (!record_pending_) return false;
  record_pending_ = false;
  std::swap(into, record_);
  return true;
}

void Exchange::abort(ErrorSource source) {
  if (finished_) return;
  if (taken_over_ && source != ErrorSource::kClient) {
    // The origin failed after a head the observer took over: it answers anyway.
    if (upstream_) worker_.loop().deferDelete(std::move(upstream_));
    finishResponse();
    return;
  }
  if (ResponseObserver* o = observer_) {
    observer_ = nullptr;
    o->onResponseEnd(false);
  }
  finished_ = true;
  if (status_ == 0) status_ = source == ErrorSource::kClient ? 499 : 502;
  // The response will not complete: it ends now.
  buildRequestRecord(record_, *this);
  worker_.completeRequest(record_, Loop::nowMicros());
  // The upstream step may be the caller: free it after this callback.
  if (upstream_) worker_.loop().deferDelete(std::move(upstream_));
  if (source != ErrorSource::kClient) down_.abortResponse();
}

void Exchange::cancelUpstream() {
  body_sink_ = nullptr;
  if (upstream_) worker_.loop().deferDelete(std::move(upstream_));
}

void Exchange::onRequestBodyEnd() {
  request_body_done_ = true;
  if (body_sink_) body_sink_->onBodyEnd();
}

void Exchange::onDownstreamWritable() {
  if (upstream_) upstream_->onDownstreamWritable();
}

void Exchange::onClientGone() {
  // Records the exchange as ended by the client (499, as nginx logs it) and
  // frees the origin connection instead of pooling a half-read one.
  abort(ErrorSource::kClient);
}

void Exchange::noteBuffered(size_t extra) {
  worker_.metrics().noteBuffered(extra + down_.bufferedOut() + down_.bufferedIn());
}

}  // namespace edge
