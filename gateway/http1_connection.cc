#include "gateway/http1_connection.h"

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <string_view>

#include "gateway/log.h"
#include "gateway/worker.h"

namespace edge {
namespace {
// Small reads while waiting for a head (the buffer's chain is sized by the
// read), large ones while a body streams.
constexpr size_t kHeadReadChunk = 16 * 1024;
constexpr size_t kBodyReadChunk = 64 * 1024;
// Pipelined requests beyond this many buffered bytes wait in the kernel.
constexpr size_t kMaxBufferedIn = 128 * 1024;
// Below this much queued output, a paused origin read resumes.
constexpr size_t kOutLowWater = 64 * 1024;
constexpr uint64_t kLingerMs = 2000;
// How long an idle connection may still bring one more request once it is told to close.
constexpr uint64_t kDrainGraceMs = 1000;
}  // namespace

Http1Connection::Http1Connection(Worker& worker, Transport transport, ClientInfo client, bool h2c)
    : worker_(worker),
      transport_(std::move(transport)),
      client_(std::move(client)),
      in_(evbuffer_new()),
      out_(evbuffer_new()),
      parser_(http1::HeadLimits{
          static_cast<uint32_t>(worker.snapshot()->config().server.limits.max_header_bytes)}),
      h2c_(h2c) {
  event_base* base = worker_.loop().base();
  read_ev_ = makeEvent<Http1Connection, &Http1Connection::onRead>(base, transport_.fd(),
                                                                  EV_READ | EV_PERSIST, this);
  write_ev_ = makeEvent<Http1Connection, &Http1Connection::onWrite>(base, transport_.fd(),
                                                                    EV_WRITE | EV_PERSIST, this);
  timer_ev_ = makeEvent<Http1Connection, &Http1Connection::onTimer>(base, -1, 0, this);
}

Http1Connection::~Http1Connection() {
  // Responses that never left completely end with the connection.
  uint64_t now = Loop::nowMicros();
  for (auto& w : written_waits_) worker_.completeRequest(w.record, now);
  if (!handed_off_) worker_.connectionClosed(client_);
}

void Http1Connection::start() {
  setReading(true);
  const auto& limits = worker_.snapshot()->config().server.limits;
  // A TLS handshake must complete within header_timeout (then the idle timer runs).
  if (transport_.tls())
    arm(Timer::kHeader, limits.header_timeout.count());
  else
    arm(Timer::kIdle, limits.idle_timeout.count());
}

void Http1Connection::drain() {
  keep_alive_ = false;
  if (idle() && evbuffer_get_length(out_.get()) == 0 && timer_ == Timer::kIdle) {
    uint64_t idle_ms =
        static_cast<uint64_t>(worker_.snapshot()->config().server.limits.idle_timeout.count());
    arm(Timer::kIdle, std::min(kDrainGraceMs, idle_ms));
  }
}

void Http1Connection::setReading(bool on) {
  if (on == reading_ || dead_) return;
  reading_ = on;
  if (on) {
    event_add(read_ev_.get(), nullptr);
    if (transport_.hasPending()) event_active(read_ev_.get(), EV_READ, 0);
  } else if (!read_forced_) {
    event_del(read_ev_.get());
  }
}

void Http1Connection::arm(Timer t, uint64_t ms) {
  timer_ = t;
  if (t == Timer::kNone) {
    event_del(timer_ev_.get());
    return;
  }
  timeval tv = toTimeval(ms);
  event_add(timer_ev_.get(), &tv);
}

void Http1Connection::onRead(short) {
  if (lingering_) {
    char discard[16384];
    ssize_t n = ::read(transport_.fd(), discard, sizeof discard);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) destroy();
    return;
  }
  if (transport_.tls()) {
    if (transport_.writeWantsRead()) {
      flush();
      if (dead_) return;
    }
    if (!transport_.releaseForcedRead(interest())) return;
  }
  ssize_t n =
      transport_.read(in_.get(), exchange_ && !request_done_ ? kBodyReadChunk : kHeadReadChunk);
  if (transport_.tls()) {
    afterTlsRead();
    if (dead_) return;
  }
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      if (transport_.readWantsWrite()) flush();  // arms the write event
      return;
    }
    destroy();
    return;
  }
  if (n == 0) {
    peer_eof_ = true;
    setReading(false);
    // A client may half-close after its request; finish what it asked for.
    if (exchange_ && request_done_ && !exchange_->finished()) return;
    if (exchange_) {
      process();  // consume what was buffered before the EOF
      if (dead_) return;
      if (exchange_ && !request_done_) {
        exchange_->onClientGone();
        destroy();
      }
      return;
    }
    process();
    if (!dead_ && !exchange_) closeAfterFlush();
    return;
  }
  if (head_start_us_ == 0 && !exchange_) head_start_us_ = Loop::nowMicros();
  process();
  // Decrypted bytes left inside OpenSSL: no socket event will announce them.
  if (!dead_ && reading_ && transport_.hasPending()) event_active(read_ev_.get(), EV_READ, 0);
}

void Http1Connection::afterTlsRead() {
  bool ok = false;
  if (!transport_.takeHandshakeOutcome(&ok)) return;
  if (client_.listener)
    worker_.metrics().recordTlsHandshake(*client_.listener, transport_.version(), ok);
  if (!ok) {
    LOG_DEBUG("client %s: TLS handshake failed", client_.ip.c_str());
    return;
  }
  client_.sni.assign(transport_.serverName());
  arm(Timer::kIdle, worker_.snapshot()->config().server.limits.idle_timeout.count());
  if (transport_.alpn() == "h2") handOffToHttp2();
}

void Http1Connection::handOffToHttp2() {
  dead_ = true;
  handed_off_ = true;
  event_del(read_ev_.get());
  event_del(write_ev_.get());
  event_del(timer_ev_.get());
  worker_.startHttp2(this, std::move(transport_), std::move(client_), std::move(in_));
}

bool Http1Connection::http2Preface() {
  static constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  size_t len = std::min(evbuffer_get_length(in_.get()), kPreface.size());
  const char* data = reinterpret_cast<const char*>(evbuffer_pullup(in_.get(), len));
  if (!data || std::string_view(data, len) != kPreface.substr(0, len)) {
    h2c_ = false;  // an HTTP/1 request: the preface can only come first
    return false;
  }
  if (len == kPreface.size()) handOffToHttp2();
  return true;
}

void Http1Connection::process() {
  if (in_process_) {
    reprocess_ = true;
    return;
  }
  in_process_ = true;
  do {
    reprocess_ = false;
    if (dead_ || closing_) break;
    if (!exchange_) {
      if (evbuffer_get_length(in_.get()) == 0) {
        if (peer_eof_) {
          closeAfterFlush();  // the client is done sending and has its answers
          break;
        }
        arm(Timer::kIdle, worker_.snapshot()->config().server.limits.idle_timeout.count());
        break;
      }
      if (h2c_ && http2Preface()) break;
      if (!parseHead()) break;
      continue;
    }
    if (!request_done_) pumpBody();
  } while (reprocess_);
  in_process_ = false;
  if (dead_ || lingering_) return;
  // Backpressure on the client: stop reading while enough is buffered.
  bool want_more = !peer_eof_ && !closing_ &&
                   (exchange_ ? (!request_done_ && exchange_->wantsRequestBody())
                              : evbuffer_get_length(in_.get()) < kMaxBufferedIn);
  if (exchange_ && request_done_ && !peer_eof_) {
    // Read pipelined bytes only up to a bound, so a client cannot queue unbounded input.
    want_more = evbuffer_get_length(in_.get()) < kMaxBufferedIn && !closing_;
  }
  setReading(want_more);
  updateIoTimer();
  flush();
}

bool Http1Connection::parseHead() {
  if (head_start_us_ == 0) head_start_us_ = Loop::nowMicros();
  http1::Progress p = http1::Progress::kIncomplete;
  while (evbuffer_get_length(in_.get()) > 0) {
    evbuffer_iovec vec[8];
    int nv = evbuffer_peek(in_.get(), -1, nullptr, vec, 8);
    size_t used_total = 0;
    for (int i = 0; i < nv && i < 8; ++i) {
      size_t used = 0;
      p = parser_.feed(static_cast<const char*>(vec[i].iov_base), vec[i].iov_len, &used);
      used_total += used;
      if (p != http1::Progress::kIncomplete) break;
    }
    evbuffer_drain(in_.get(), used_total);
    if (p != http1::Progress::kIncomplete) break;
  }
  if (p == http1::Progress::kIncomplete) {
    // The whole head must arrive within header_timeout of its first byte:
    // arm once, never push the deadline back (slowloris).
    if (timer_ != Timer::kHeader)
      arm(Timer::kHeader, worker_.snapshot()->config().server.limits.header_timeout.count());
    return false;
  }
  if (p == http1::Progress::kError) {
    refuseRequest(parser_.error().http_status, parser_.error().reason);
    return false;
  }
  arm(Timer::kNone, 0);
  const http1::RequestHead& req = parser_.head();
  const auto& limits = worker_.snapshot()->config().server.limits;
  keep_alive_ = req.keep_alive && keep_alive_ && !worker_.draining();
  client_closes_ = !req.keep_alive;
  request_done_ = req.framing == http1::Framing::kNone ||
                  (req.framing == http1::Framing::kLength && req.content_length == 0);
  body_.start(req.framing, req.content_length);
  body_received_ = 0;
  continue_sent_ = false;
  chunked_out_ = false;
  head_only_ = req.methodView() == "HEAD";
  uint64_t start = head_start_us_;
  head_start_us_ = 0;
  exchange_ = std::make_unique<Exchange>(worker_, *this, worker_.snapshot(), req, client_, start);
  if (req.framing == http1::Framing::kLength && req.content_length > limits.max_body_bytes) {
    keep_alive_ = false;
    exchange_->startWithError(413, "the request body is larger than max_body_bytes");
  } else {
    exchange_->start();
  }
  return true;
}

void Http1Connection::pumpBody() {
  const auto& limits = exchange_->snapshot().config().server.limits;
  while (exchange_ && !request_done_ && !closing_ && exchange_->wantsRequestBody()) {
    if (exchange_->request().expect_continue && !continue_sent_ && !exchange_->responseStarted() &&
        exchange_->request().version_minor >= 1) {
      // Only now that an origin waits for it is the client told to send its body.
      continue_sent_ = true;
      evbuffer_add(out_.get(), "HTTP/1.1 100 Continue\r\n\r\n", 25);
      flush();
    }
    if (evbuffer_get_length(in_.get()) == 0) break;
    evbuffer_iovec vec;
    if (evbuffer_peek(in_.get(), -1, nullptr, &vec, 1) < 1) break;
    auto step = body_.decode(static_cast<const char*>(vec.iov_base), vec.iov_len);
    if (step.error) {
      rejectBody(400, step.reason);
      return;
    }
    body_received_ += step.data_len;
    if (body_received_ > limits.max_body_bytes) {
      rejectBody(413, "the request body is larger than max_body_bytes");
      return;
    }
    if (step.data_len > 0) exchange_->onRequestBody(step.data, step.data_len);
    evbuffer_drain(in_.get(), step.consumed);
    if (step.done) {
      request_done_ = true;
      exchange_->onRequestBodyEnd();
    }
  }
}

void Http1Connection::rejectBody(uint16_t status, const char* reason) {
  keep_alive_ = false;
  if (!exchange_->responseStarted()) {
    exchange_->cancelUpstream();
    exchange_->respondError(status, reason);
  } else {
    exchange_->abort(ErrorSource::kClient);
    destroy();
  }
}

// A request that never became an exchange (malformed head): answer and close.
void Http1Connection::refuseRequest(uint16_t status, const char* reason) {
  std::string id;
  worker_.newRequestId(id);
  std::string body = std::to_string(status) + " " + reasonPhrase(status) + ": " + reason +
                     " (request id " + id + ")\n";
  char head[512];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %u %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                   "Content-Length: %zu\r\nX-Request-Id: %s\r\nConnection: close\r\n\r\n",
                   status, reasonPhrase(status), body.size(), id.c_str());
  evbuffer_add(out_.get(), head, static_cast<size_t>(n));
  evbuffer_add(out_.get(), body.data(), body.size());
  uint64_t start = head_start_us_ ? head_start_us_ : Loop::nowMicros();
  WrittenWait w;
  w.end = bytes_written_ + evbuffer_get_length(out_.get());
  buildRefusedRecord(w.record, worker_, id, client_, status, start);
  written_waits_.push_back(std::move(w));
  LOG_DEBUG("client %s: refused request: %u %s", client_.ip.c_str(), status, reason);
  closeAfterFlush();
}

void Http1Connection::sendHead(const ResponseOut& head) {
  std::string& s = scratch_;
  s.clear();
  // std::to_chars, not snprintf: a format string parse per response was a
  // measurable part of a small response's CPU.
  char num[24];
  std::string_view reason = head.reason.empty() ? reasonPhrase(head.status) : head.reason;
  s.append("HTTP/1.1 ")
      .append(num, std::to_chars(num, num + sizeof num, head.status).ptr)
      .append(" ")
      .append(reason)
      .append("\r\n");
  for (const auto& [name, value] : head.headers)
    s.append(name).append(": ").append(value).append("\r\n");
  bool no_body = head_only_ || head.status < 200 || head.status == 204 || head.status == 304;
  switch (head.framing) {
    case http1::Framing::kLength:
      if (head.status != 204 && head.status >= 200) {
        s.append("Content-Length: ")
            .append(num, std::to_chars(num, num + sizeof num, head.content_length).ptr)
            .append("\r\n");
      }
      break;
    case http1::Framing::kChunked:
    case http1::Framing::kUntilClose:
      if (no_body) break;
      if (exchange_ && exchange_->request().version_minor >= 1) {
        s.append("Transfer-Encoding: chunked\r\n");
        chunked_out_ = true;
      } else {
        keep_alive_ = false;  // HTTP/1.0: the body ends when the connection does
      }
      break;
    case http1::Framing::kNone:
      break;
  }
  if (!request_done_ && !exchange_->wantsRequestBody() && exchange_->request().expect_continue &&
      !continue_sent_) {
    // The client held its body back (Expect: 100-continue) and we answer
    // without it: closing is the only way to keep the stream in sync.
    keep_alive_ = false;
  }
  if (worker_.draining()) keep_alive_ = false;
  if (!keep_alive_) {
    s.append("Connection: close\r\n");
  } else if (exchange_ && exchange_->request().version_minor == 0) {
    s.append("Connection: keep-alive\r\n");
  }
  s.append("\r\n");
  evbuffer_add(out_.get(), s.data(), s.size());
  if (no_body) head_only_ = true;
}

void Http1Connection::sendBody(const char* data, size_t len) {
  if (head_only_ || len == 0) return;
  if (chunked_out_) {
    char size_line[24];
    int n = snprintf(size_line, sizeof size_line, "%zx\r\n", len);
    evbuffer_add(out_.get(), size_line, static_cast<size_t>(n));
    evbuffer_add(out_.get(), data, len);
    evbuffer_add(out_.get(), "\r\n", 2);
  } else {
    evbuffer_add(out_.get(), data, len);
  }
}

void Http1Connection::sendBodyBuffer(evbuffer* buf, size_t len) {
  if (head_only_ || len == 0) {
    evbuffer_drain(buf, len);
    return;
  }
  if (chunked_out_) {
    char size_line[24];
    int n = snprintf(size_line, sizeof size_line, "%zx\r\n", len);
    evbuffer_add(out_.get(), size_line, static_cast<size_t>(n));
    evbuffer_remove_buffer(buf, out_.get(), len);
    evbuffer_add(out_.get(), "\r\n", 2);
  } else {
    evbuffer_remove_buffer(buf, out_.get(), len);
  }
}

void Http1Connection::finishResponse() {
  if (chunked_out_ && !head_only_) evbuffer_add(out_.get(), "0\r\n\r\n", 5);
  if (exchange_) {
    WrittenWait w;
    w.end = bytes_written_ + evbuffer_get_length(out_.get());
    if (exchange_->takeRecord(w.record)) written_waits_.push_back(std::move(w));
  }
  chunked_out_ = false;
  head_only_ = false;
  // An unread request body would be parsed as the next request: close instead.
  if (!request_done_) keep_alive_ = false;
  // Freed after this callback: the upstream step that called us is still on the stack.
  worker_.loop().deferDelete(std::move(exchange_));
  parser_.reset();
  if (!keep_alive_) {
    closeAfterFlush();
    return;
  }
  flush();
  if (!dead_) process();
}

void Http1Connection::abortResponse() {
  destroy();
}

void Http1Connection::closeAfterFlush() {
  if (closing_) return;  // already flushing or lingering: reading must stay as it is
  closing_ = true;
  setReading(false);
  flush();
}

void Http1Connection::flush() {
  if (dead_) return;
  ssize_t n = transport_.writeAll(out_.get());
  if (n < 0) {
    if (exchange_ && !exchange_->finished()) exchange_->onClientGone();
    destroy();
    return;
  }
  bytes_written_ += static_cast<uint64_t>(n);
  if (!written_waits_.empty()) completeWritten();
  const bool pending = transport_.updateInterest(out_.get(), interest());
  if (!pending && closing_ && !lingering_) {
    if (clientIsDone()) {
      transport_.closeNotify();
      destroy();
      return;
    }
    // Lingering close: shut our side, then drain the client's until EOF, so
    // unread request bytes do not turn into a reset that eats the response.
    lingering_ = true;
    transport_.shutdownWrite();
    reading_ = false;
    setReading(true);
    arm(Timer::kLinger, kLingerMs);
  }
}

bool Http1Connection::clientIsDone() const {
  // Nothing unread anywhere, and the client sends nothing more: it said so
  // (Connection: close, HTTP/1.0) and its whole request was read, or it shut
  // its side. Closing then sends no reset, and the lingering close (its
  // syscalls, its timer) is only for clients that may still be sending.
  if (!(client_closes_ && request_done_) && !peer_eof_) return false;
  if (exchange_ || evbuffer_get_length(in_.get()) > 0 || transport_.hasPending()) return false;
  int unread = 0;
  return ioctl(transport_.fd(), FIONREAD, &unread) == 0 && unread == 0;
}

void Http1Connection::completeWritten() {
  size_t done = 0;
  uint64_t now = 0;
  for (; done < written_waits_.size() && written_waits_[done].end <= bytes_written_; ++done) {
    if (!now) now = Loop::nowMicros();
    worker_.completeRequest(written_waits_[done].record, now);
  }
  if (done) written_waits_.erase(written_waits_.begin(), written_waits_.begin() + done);
}

void Http1Connection::onWrite(short) {
  flush();
  if (dead_) return;
  if (transport_.readWantsWrite() && !lingering_) {
    onRead(EV_READ);
    if (dead_) return;
  }
  updateIoTimer();
  if (exchange_ && evbuffer_get_length(out_.get()) < kOutLowWater)
    exchange_->onDownstreamWritable();
}

void Http1Connection::updateIoTimer() {
  if (dead_ || lingering_ || !exchange_) return;
  // While an exchange runs, the client is only timed when it is the one
  // holding things up: not reading our output, or not sending its body.
  bool client_stalls = write_armed_ || (!request_done_ && exchange_->wantsRequestBody());
  uint64_t idle_ms = exchange_->snapshot().config().server.limits.idle_timeout.count();
  if (client_stalls)
    arm(Timer::kIo, idle_ms);
  else if (timer_ != Timer::kNone)
    arm(Timer::kNone, 0);
}

void Http1Connection::onTimer(short) {
  switch (timer_) {
    case Timer::kIdle:
    case Timer::kLinger:
      destroy();
      return;
    case Timer::kHeader:
      if (!exchange_ && parser_.started()) {
        refuseRequest(408, "the request head did not arrive within header_timeout");
      } else {
        destroy();
      }
      return;
    case Timer::kIo:
      LOG_DEBUG("client %s: stalled for idle_timeout mid-exchange", client_.ip.c_str());
      if (exchange_ && !exchange_->finished()) exchange_->onClientGone();
      destroy();
      return;
    case Timer::kNone:
      return;
  }
}

void Http1Connection::destroy() {
  if (dead_) return;
  dead_ = true;
  if (exchange_ && !exchange_->finished()) exchange_->onClientGone();
  event_del(read_ev_.get());
  event_del(write_ev_.get());
  event_del(timer_ev_.get());
  if (exchange_) worker_.loop().deferDelete(std::move(exchange_));
  worker_.removeConnection(this);
}

}  // namespace edge
