#include "gateway/upstream/upstream_request.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "gateway/client_ip.h"
#include "gateway/log.h"
#include "gateway/worker.h"

namespace edge {
namespace {

constexpr size_t kHeadReadChunk = 16 * 1024;
constexpr size_t kBodyReadChunk = 64 * 1024;
// Above this many bytes queued toward the client, stop reading the origin;
// above this many queued toward the origin, stop taking request body.
constexpr size_t kClientHighWater = 256 * 1024;
constexpr size_t kClientLowWater = 64 * 1024;
constexpr size_t kOriginHighWater = 256 * 1024;

bool idempotent(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "PUT" || m == "DELETE" || m == "TRACE";
}

// Fields that describe one connection (RFC 9110 7.6.1) or that edgegate
// writes itself; never copied from the client to the origin.
bool dropTowardOrigin(std::string_view n) {
  using http1::iequals;
  switch (n.size()) {
    case 2:
      return iequals(n, "te");
    case 4:
      return iequals(n, "host");
    case 6:
      return iequals(n, "expect");
    case 7:
      return iequals(n, "upgrade") || iequals(n, "trailer");
    case 9:
      return iequals(n, "forwarded");
    case 10:
      return iequals(n, "connection") || iequals(n, "keep-alive");
    case 12:
      return iequals(n, "x-request-id");
    case 14:
      return iequals(n, "content-length") || iequals(n, "x-original-url");
    case 13:
      return iequals(n, "x-rewrite-url");
    case 15:
      return iequals(n, "x-forwarded-for");
    case 16:
      return iequals(n, "proxy-connection") || iequals(n, "x-forwarded-host");
    case 17:
      return iequals(n, "transfer-encoding") || iequals(n, "x-forwarded-proto");
    case 19:
      return iequals(n, "proxy-authorization");
    default:
      return false;
  }
}

// Hop-by-hop and framing fields of the origin's response.
bool dropTowardClient(std::string_view n) {
  using http1::iequals;
  switch (n.size()) {
    case 2:
      return iequals(n, "te");
    case 7:
      return iequals(n, "upgrade") || iequals(n, "trailer");
    case 10:
      return iequals(n, "connection") || iequals(n, "keep-alive");
    case 14:
      return iequals(n, "content-length");
    case 16:
      return iequals(n, "proxy-connection");
    case 17:
      return iequals(n, "transfer-encoding");
    default:
      return false;
  }
}

// A request's validators and Range: dropped when the cache asks for a whole,
// unconditional response (or sends its own validators).
bool clientValidator(std::string_view n) {
  using http1::iequals;
  return iequals(n, "if-none-match") || iequals(n, "if-modified-since") || iequals(n, "if-match") ||
         iequals(n, "if-unmodified-since") || iequals(n, "if-range") || iequals(n, "range");
}

bool namedByConnection(const http1::MessageHead& h, std::string_view name) {
  for (const auto& s : h.connection_tokens)
    if (http1::iequals(h.view(s), name)) return true;
  return false;
}

}  // namespace

UpstreamRequest::UpstreamRequest(Exchange& ex, const conf::Upstream& up)
    : ex_(ex), worker_(ex.worker()), up_(up) {}

UpstreamRequest::~UpstreamRequest() {
  closeConnection();
}

void UpstreamRequest::start() {
  ex_.setBodySink(this);
  attempt();
}

void UpstreamRequest::attempt() {
  ++attempts_;
  Worker& w = ex_.worker();
  if (up_.servers.empty()) {
    fail(503, "the upstream has no servers", false);
    return;
  }
  size_t idx = w.pools().pick(up_, ex_.snapshot(), tried_, w.random(), Loop::nowMicros());
  if (idx == UpstreamPools::kNoServer) {
    health_ = nullptr;
    fail(503, "no healthy server", false);
    return;
  }
  if (idx < 64) tried_ |= 1ull << idx;
  health_ = &ex_.snapshot().health(up_, idx);
  const conf::HostPort& hp = up_.servers[idx];
  server_ = &w.pools().server(hp, ex_.snapshot().resolved(hp));
  conn_ = w.pools().takeIdle(*server_);
  if (conn_) {
    ++server_->active;
    conn_->setHandler(this);
    conn_->enableRead(true);
    sendHead();
    return;
  }
  conn_ = w.pools().connect(*server_);
  if (!conn_) {
    LOG_WARN("upstream %s: connect to %s failed: %s", up_.name.c_str(), server_->name.c_str(),
             strerror(errno));
    fail(502, "cannot connect to the origin", true);
    return;
  }
  ++server_->active;
  conn_->setHandler(this);
  phase_ = Phase::kConnecting;
  conn_->watchWritable(true);
  conn_->setTimer(static_cast<uint64_t>(up_.connect_timeout.count()));
}

void UpstreamRequest::onUpstreamWritable(UpstreamConnection&) {
  if (phase_ == Phase::kConnecting) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(conn_->fd(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) {
      LOG_WARN("upstream %s: connect to %s failed: %s", up_.name.c_str(), server_->name.c_str(),
               strerror(err));
      fail(502, "cannot connect to the origin", true);
      return;
    }
    onConnected();
    return;
  }
  if (!conn_->flush()) {
    fail(502, "writing to the origin failed", false);
    return;
  }
  if (evbuffer_get_length(conn_->out()) < kOriginHighWater / 2 && ex_.requestHasBody() &&
      !ex_.requestBodyDone())
    ex_.downstream().resumeRequestBody();
}

void UpstreamRequest::onConnected() {
  conn_->cancelTimer();
  conn_->watchWritable(false);
  conn_->enableRead(true);
  sendHead();
}

void UpstreamRequest::sendHead() {
  const http1::RequestHead& req = ex_.request();
  const conf::Config& cfg = ex_.snapshot().config();
  const ClientInfo& client = ex_.client();
  std::string& h = worker_.scratch();
  h.clear();
  h.append(req.methodView()).push_back(' ');
  std::string_view target = req.targetView();
  if (!target.empty() && target.front() != '/' && target != "*") {
    // Absolute-form toward a proxy becomes origin-form toward the origin.
    h.append(req.pathView());
    if (req.has_query) h.append("?").append(req.queryView());
  } else {
    h.append(target);
  }
  h.append(" HTTP/1.1\r\nHost: ");
  h.append(up_.host_header.empty() ? req.hostView() : std::string_view(up_.host_header));
  h.append("\r\n");

  std::string_view prior_xff;
  bool keep_xff = trustedPeer(cfg, client);
  for (const auto& f : req.fields) {
    std::string_view name = req.name(f);
    if (dropTowardOrigin(name)) {
      if (keep_xff && http1::iequals(name, "x-forwarded-for")) {
        // Several X-Forwarded-For fields from a trusted proxy keep their order.
        if (!prior_xff.empty()) {
          h.append("X-Forwarded-For: ").append(prior_xff).append("\r\n");
        }
        prior_xff = req.value(f);
      }
      continue;
    }
    if (!req.connection_tokens.empty() && namedByConnection(req, name)) continue;
    if (ex_.dropClientValidators() && clientValidator(name)) continue;
    h.append(name).append(": ").append(req.value(f)).append("\r\n");
  }
  h.append(ex_.originFields());
  h.append("X-Forwarded-For: ");
  if (!prior_xff.empty()) h.append(prior_xff).append(", ");
  h.append(client.ip).append("\r\nX-Forwarded-Proto: ").append(client.tls ? "https" : "http");
  h.append("\r\nX-Forwarded-Host: ").append(req.hostView());
  h.append("\r\nX-Request-Id: ").append(ex_.requestId()).append("\r\n");
  switch (req.framing) {
    case http1::Framing::kLength:
      h.append("Content-Length: ").append(std::to_string(req.content_length)).append("\r\n");
      break;
    case http1::Framing::kChunked:
      h.append("Transfer-Encoding: chunked\r\n");
      break;
    default:
      break;
  }
  h.append("\r\n");
  evbuffer_add(conn_->out(), h.data(), h.size());
  ++conn_->requests;

  phase_ = Phase::kAwaitHead;
  conn_->parser.reset();
  conn_->parser.setRequestIsHead(req.methodView() == "HEAD");
  sent_us_ = Loop::nowMicros();
  request_sent_ = req.framing == http1::Framing::kNone ||
                  (req.content_length == 0 && req.framing == http1::Framing::kLength);
  conn_->setTimer(static_cast<uint64_t>(up_.response_timeout.count()));
  if (!conn_->flush()) {
    fail(502, "writing to the origin failed", conn_->reused);
    return;
  }
  if (ex_.requestHasBody() && !ex_.requestBodyDone()) ex_.downstream().resumeRequestBody();
}

bool UpstreamRequest::wantsBody() const {
  return conn_ && (phase_ == Phase::kAwaitHead || phase_ == Phase::kBody) && !request_sent_ &&
         evbuffer_get_length(conn_->out()) < kOriginHighWater;
}

void UpstreamRequest::onBody(const char* data, size_t len) {
  if (!conn_ || len == 0) return;
  if (ex_.request().framing == http1::Framing::kChunked) {
    char size_line[24];
    int n = snprintf(size_line, sizeof size_line, "%zx\r\n", len);
    evbuffer_add(conn_->out(), size_line, static_cast<size_t>(n));
    evbuffer_add(conn_->out(), data, len);
    evbuffer_add(conn_->out(), "\r\n", 2);
  } else {
    evbuffer_add(conn_->out(), data, len);
  }
  body_bytes_sent_ = true;
  ex_.noteBuffered(evbuffer_get_length(conn_->out()) + evbuffer_get_length(conn_->in()));
  if (!conn_->flush()) fail(502, "writing the request body to the origin failed", false);
}

void UpstreamRequest::onBodyEnd() {
  if (!conn_ || request_sent_) return;
  if (ex_.request().framing == http1::Framing::kChunked) evbuffer_add(conn_->out(), "0\r\n\r\n", 5);
  request_sent_ = true;
  if (!conn_->flush()) fail(502, "writing the request body to the origin failed", false);
}

void UpstreamRequest::onUpstreamReadable(UpstreamConnection&) {
  int n =
      conn_->readSome(phase_ == Phase::kBody && (decoder_.framing() != http1::Framing::kLength ||
                                                 body_remaining_ > kHeadReadChunk)
                          ? kBodyReadChunk
                          : kHeadReadChunk);
  if (n == -2) return;
  if (n <= 0) {
    if (phase_ == Phase::kBody && decoder_.framing() == http1::Framing::kUntilClose && n == 0) {
      processInput();
      if (phase_ == Phase::kBody) finish();
      return;
    }
    if (phase_ == Phase::kAwaitHead && !response_bytes_) {
      // A pooled connection the origin closed just as we reused it: the
      // request never reached the application, so one more try is safe for
      // idempotent requests even when `retries` is used up.
      bool stale = conn_->reused && !stale_retry_used_ && !body_bytes_sent_ &&
                   idempotent(ex_.request().methodView());
      if (stale) {
        stale_retry_used_ = true;
        --attempts_;
        closeConnection();
        attempt();
        return;
      }
      fail(502, "the origin closed the connection without answering", true);
      return;
    }
    if (phase_ == Phase::kAwaitHead) {
      fail(502, "the origin sent an incomplete response head", false);
      return;
    }
    // Mid-body: the client already has part of the response; cut it.
    LOG_WARN("upstream %s: %s closed mid-body", up_.name.c_str(), server_->name.c_str());
    closeConnection();
    phase_ = Phase::kDone;
    ex_.abort(ErrorSource::kUpstream);
    return;
  }
  response_bytes_ = true;
  processInput();
}

bool UpstreamRequest::handleHead() {
  evbuffer* in = conn_->in();
  while (true) {
    evbuffer_iovec vec[8];
    int nv = evbuffer_peek(in, -1, nullptr, vec, 8);
    if (nv <= 0) return false;
    size_t used_total = 0;
    http1::Progress p = http1::Progress::kIncomplete;
    for (int i = 0; i < nv && i < 8; ++i) {
      size_t used = 0;
      p = conn_->parser.feed(static_cast<const char*>(vec[i].iov_base), vec[i].iov_len, &used);
      used_total += used;
      if (p != http1::Progress::kIncomplete) break;
    }
    evbuffer_drain(in, used_total);
    if (p == http1::Progress::kError) {
      LOG_WARN("upstream %s: %s sent a malformed response: %s", up_.name.c_str(),
               server_->name.c_str(), conn_->parser.error().reason);
      fail(502, "the origin sent a malformed response", false);
      return false;
    }
    if (p == http1::Progress::kIncomplete) {
      if (evbuffer_get_length(in) == 0) return false;
      continue;  // more than 8 chunks were buffered
    }
    break;
  }
  http1::ResponseHead& head = conn_->parser.head();
  if (head.status >= 100 && head.status < 200) {
    if (head.status == 101) {
      fail(502, "the origin switched protocols; upgrades are not supported", false);
      return false;
    }
    // Interim responses (103 Early Hints, a stray 100) are not forwarded.
    conn_->parser.reset();
    conn_->parser.setRequestIsHead(ex_.request().methodView() == "HEAD");
    return true;
  }
  if (head.framing == http1::Framing::kChunked) {
    // A coding under the chunking (gzip, chunked) cannot survive our
    // re-framing of the body: refuse it, as nginx does, rather than send
    // the client compressed bytes it was not told about.
    const http1::Field* te = head.find("transfer-encoding");
    if (te && !http1::iequals(head.value(*te), "chunked")) {
      LOG_WARN("upstream %s: %s used Transfer-Encoding '%.*s', which edgegate does not forward",
               up_.name.c_str(), server_->name.c_str(), static_cast<int>(head.value(*te).size()),
               head.value(*te).data());
      fail(502, "the origin used a transfer-coding other than chunked", false);
      return false;
    }
  }
  conn_->cancelTimer();
  uint64_t answered_us = Loop::nowMicros() - sent_us_;
  ex_.worker().metrics().recordUpstreamResponse(up_.name, static_cast<double>(answered_us) / 1e6);
  if (health_ && up_.outlier_detection &&
      health_->recordResponse(head.status, *up_.outlier_detection, Loop::nowMicros()))
    LOG_WARN("upstream %s: %s ejected for %lld ms after %u consecutive 5xx responses",
             up_.name.c_str(), server_->name.c_str(),
             static_cast<long long>(up_.outlier_detection->eject_for.count()),
             up_.outlier_detection->consecutive_5xx);
  ex_.noteUpstreamAnswered(answered_us);
  ResponseOut out;
  out.status = head.status;
  out.reason = head.view(head.reason);
  out.headers.reserve(head.fields.size() + 4);
  bool keep_length = head.framing == http1::Framing::kNone && head.status != 204;
  for (const auto& f : head.fields) {
    std::string_view name = head.name(f);
    if (dropTowardClient(name)) {
      // A HEAD or 304 answer still tells the size of the representation.
      if (!(keep_length && http1::iequals(name, "content-length"))) continue;
    }
    if (!head.connection_tokens.empty() && namedByConnection(head, name)) continue;
    out.headers.emplace_back(name, head.value(f));
  }
  out.framing = head.framing;
  out.content_length = head.content_length;
  body_remaining_ = head.framing == http1::Framing::kLength ? head.content_length : 0;
  decoder_.start(head.framing, head.content_length);
  phase_ = Phase::kBody;
  ex_.sendResponseHead(out);
  if (head.framing == http1::Framing::kNone ||
      (head.framing == http1::Framing::kLength && head.content_length == 0)) {
    finish();
    return false;
  }
  conn_->setTimer(static_cast<uint64_t>(up_.response_timeout.count()));
  return true;
}

void UpstreamRequest::processInput() {
  while (true) {
    if (!forwardInput()) return;  // finished or aborted
    if (conn_) {
      ex_.noteBuffered(evbuffer_get_length(conn_->in()) + evbuffer_get_length(conn_->out()));
      if (phase_ == Phase::kBody && !paused_for_client_)
        conn_->setTimer(static_cast<uint64_t>(up_.response_timeout.count()));
    }
    ex_.downstream().flush();
    // The flush may have emptied the client's buffer at once, without ever
    // waiting for the socket: no writable event will come to resume the
    // origin read then, so resume here.
    if (!paused_for_client_ || !conn_ || ex_.finished() ||
        ex_.downstream().bufferedOut() >= kClientLowWater)
      return;
    paused_for_client_ = false;
    conn_->enableRead(true);
  }
}

bool UpstreamRequest::forwardInput() {
  while (conn_ && phase_ != Phase::kDone) {
    if (phase_ == Phase::kAwaitHead) {
      if (!handleHead()) break;
      continue;
    }
    evbuffer* in = conn_->in();
    size_t len = evbuffer_get_length(in);
    if (len == 0) break;
    switch (decoder_.framing()) {
      case http1::Framing::kLength: {
        size_t take = static_cast<size_t>(std::min<uint64_t>(len, body_remaining_));
        ex_.sendBodyBuffer(in, take);
        body_remaining_ -= take;
        if (body_remaining_ == 0) {
          finish();
          return false;
        }
        break;
      }
      case http1::Framing::kUntilClose:
        ex_.sendBodyBuffer(in, len);
        break;
      case http1::Framing::kChunked: {
        evbuffer_iovec vec;
        if (evbuffer_peek(in, -1, nullptr, &vec, 1) < 1) break;
        auto step = decoder_.decode(static_cast<const char*>(vec.iov_base), vec.iov_len);
        if (step.data_len > 0) ex_.sendBody(step.data, step.data_len);
        evbuffer_drain(in, step.consumed);
        if (step.error) {
          LOG_WARN("upstream %s: %s sent a malformed chunked body: %s", up_.name.c_str(),
                   server_->name.c_str(), step.reason);
          closeConnection();
          phase_ = Phase::kDone;
          ex_.abort(ErrorSource::kUpstream);
          return false;
        }
        if (step.done) {
          finish();
          return false;
        }
        break;
      }
      default:
        break;
    }
    if (ex_.downstream().bufferedOut() >= kClientHighWater) {
      pauseForClient();
      break;
    }
  }
  return true;
}

void UpstreamRequest::pauseForClient() {
  paused_for_client_ = true;
  conn_->enableRead(false);
  // The client's own idle timeout covers a client that never reads again.
  conn_->cancelTimer();
}

void UpstreamRequest::onDownstreamWritable() {
  if (!paused_for_client_ || !conn_) return;
  paused_for_client_ = false;
  conn_->enableRead(true);
  processInput();
}

void UpstreamRequest::finish() {
  phase_ = Phase::kDone;
  if (conn_) {
    conn_->cancelTimer();
    bool reusable = conn_->parser.head().keep_alive && request_sent_ &&
                    decoder_.framing() != http1::Framing::kUntilClose &&
                    evbuffer_get_length(conn_->in()) == 0 && evbuffer_get_length(conn_->out()) == 0;
    if (reusable) {
      --server_->active;
      conn_->setHandler(nullptr);
      // A connection the pool has no room for is freed after this callback.
      auto refused = ex_.worker().pools().release(std::move(conn_), up_.keepalive);
      if (refused) ex_.worker().loop().deferDelete(std::move(refused));
    } else {
      closeConnection();
    }
  }
  ex_.finishResponse();
}

void UpstreamRequest::fail(uint16_t status, const char* detail, bool retryable) {
  // A reused connection the origin closed while idle says nothing about its health.
  bool stale = conn_ && conn_->reused && retryable;
  if (health_ && up_.outlier_detection && status != 503 && !stale &&
      health_->recordFailure(*up_.outlier_detection, Loop::nowMicros()))
    LOG_WARN("upstream %s: %s ejected for %lld ms after %u consecutive failures", up_.name.c_str(),
             server_->name.c_str(),
             static_cast<long long>(up_.outlier_detection->eject_for.count()),
             up_.outlier_detection->consecutive_failures);
  closeConnection();
  bool retry = retryable && canRetry();
  ex_.worker().metrics().recordUpstreamOutcome(
      up_.name, retry                                        ? WorkerMetrics::kUpstreamRetried
                : status == 503                              ? WorkerMetrics::kUpstreamNoServer
                : status == 504                              ? WorkerMetrics::kUpstreamTimeout
                : strncmp(detail, "cannot connect", 14) == 0 ? WorkerMetrics::kUpstreamConnectError
                                                             : WorkerMetrics::kUpstreamBadResponse);
  if (retry) {
    attempt();
    return;
  }
  phase_ = Phase::kDone;
  if (ex_.responseStarted())
    ex_.abort(ErrorSource::kUpstream);
  else
    ex_.respondError(status, detail);
}

bool UpstreamRequest::canRetry() const {
  return attempts_ <= up_.retries && !ex_.responseStarted() && !body_bytes_sent_ &&
         !ex_.requestHasBody() && idempotent(ex_.request().methodView());
}

void UpstreamRequest::closeConnection() {
  if (!conn_) return;
  --server_->active;
  conn_->setHandler(nullptr);
  conn_->enableRead(false);
  conn_->watchWritable(false);
  conn_->cancelTimer();
  // We may be inside one of its callbacks: free it after this iteration.
  // (worker_, not ex_: the destructor may run after the exchange is gone.)
  worker_.loop().deferDelete(std::move(conn_));
}

void UpstreamRequest::onUpstreamTimer(UpstreamConnection&) {
  if (phase_ == Phase::kConnecting) {
    LOG_WARN("upstream %s: connect to %s timed out", up_.name.c_str(), server_->name.c_str());
    fail(504, "the origin did not accept the connection in time", true);
  } else if (phase_ == Phase::kAwaitHead) {
    fail(504, "the origin did not answer in time", false);
  } else if (phase_ == Phase::kBody) {
    LOG_WARN("upstream %s: %s stalled mid-body", up_.name.c_str(), server_->name.c_str());
    closeConnection();
    phase_ = Phase::kDone;
    ex_.abort(ErrorSource::kUpstream);
  }
}

}  // namespace edge
