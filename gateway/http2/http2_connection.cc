#include "gateway/http2/http2_connection.h"

#include <cerrno>
#include <cstring>
#include <iterator>

#include "gateway/http2/http2_stream.h"
#include "gateway/log.h"
#include "gateway/worker.h"

namespace edge::http2 {
namespace {
constexpr size_t kReadChunk = 64 * 1024;
// Frames packed but not yet taken by the socket: past this, nghttp2 is told
// to wait (and reading stops), so a client that does not read cannot make us
// buffer without bound.
constexpr size_t kMaxOut = 256 * 1024;
// Connection-level receive window: several streams' worth of request body
// in flight, each stream still held to its own 64 KiB window.
constexpr int32_t kConnectionWindow = 1024 * 1024;
// RST_STREAM frames from the client allowed as a burst and per second before
// nghttp2 itself sends GOAWAY (CVE-2023-44487).
constexpr uint64_t kResetBurst = 200;
constexpr uint64_t kResetRate = 50;
constexpr size_t kMaxSettingsEntries = 32;
constexpr size_t kMaxContinuations = 8;
// Our HPACK encoder's table, whatever size the client offers.
constexpr size_t kMaxDeflateTable = 4096;
constexpr size_t kMaxOutboundAck = 1000;
constexpr uint64_t kLingerMs = 1000;
// nghttp2 treats a stream beyond its SETTINGS_MAX_CONCURRENT_STREAMS, once
// acknowledged, as a connection error, where RFC 9113 §5.1.2 wants a stream
// error. So nghttp2 is given a higher limit (what is over it is still a
// connection error: a client ignoring the setting that far), the client is
// told the configured one, and the streams in between are refused.
constexpr uint32_t kRefusableStreams = 100;
constexpr size_t kFrameHeader = 9;
constexpr size_t kSettingsEntry = 6;

Http2Connection* self(void* p) {
  return static_cast<Http2Connection*>(p);
}
}  // namespace

Http2Connection::Http2Connection(Worker& worker, Transport transport, ClientInfo client,
                                 EvbufferPtr in)
    : worker_(worker),
      transport_(std::move(transport)),
      client_(std::move(client)),
      in_(std::move(in)),
      out_(evbuffer_new()) {
  event_base* base = worker_.loop().base();
  read_ev_ = makeEvent<Http2Connection, &Http2Connection::onRead>(base, transport_.fd(),
                                                                  EV_READ | EV_PERSIST, this);
  write_ev_ = makeEvent<Http2Connection, &Http2Connection::onWrite>(base, transport_.fd(),
                                                                    EV_WRITE | EV_PERSIST, this);
  timer_ev_ = makeEvent<Http2Connection, &Http2Connection::onTimer>(base, -1, 0, this);
  flush_ev_ = makeEvent<Http2Connection, &Http2Connection::onFlush>(base, -1, 0, this);
}

Http2Connection::~Http2Connection() {
  // Streams first: their exchanges point at client_ and at the session.
  streams_.clear();
  session_.reset();
  worker_.connectionClosed(client_);
}

bool Http2Connection::setupSession() {
  nghttp2_session_callbacks* cb = nullptr;
  if (nghttp2_session_callbacks_new(&cb) != 0) return false;
  nghttp2_session_callbacks_set_send_callback(cb, &Http2Connection::onSend);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, &Http2Connection::onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cb, &Http2Connection::onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &Http2Connection::onFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &Http2Connection::onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, &Http2Connection::onStreamClose);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cb,
                                                               &Http2Connection::onInvalidFrame);
  nghttp2_option* opt = nullptr;
  if (nghttp2_option_new(&opt) != 0) {
    nghttp2_session_callbacks_del(cb);
    return false;
  }
  // Windows open when the origin has taken the bytes, not when they arrive.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_stream_reset_rate_limit(opt, kResetBurst, kResetRate);
  nghttp2_option_set_max_settings(opt, kMaxSettingsEntries);
  nghttp2_option_set_max_continuations(opt, kMaxContinuations);
  nghttp2_option_set_max_deflate_dynamic_table_size(opt, kMaxDeflateTable);
  nghttp2_option_set_max_outbound_ack(opt, kMaxOutboundAck);
  // nghttp2 would keep up to max_concurrent_streams closed streams in the
  // RFC 7540 priority tree, for clients that make new streams depend on
  // finished ones (rare, and deprecated by RFC 9113): memory and tree work
  // per stream. Without them such a stream gets the default priority.
  nghttp2_option_set_no_closed_streams(opt, 1);
  nghttp2_session* s = nullptr;
  int rv = nghttp2_session_server_new2(&s, cb, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
  if (rv != 0) return false;
  session_.reset(s);

  const auto& cfg = worker_.snapshot()->config();
  max_streams_ = 128;
  for (const auto& l : cfg.listeners)
    if (client_.listener && l.name == *client_.listener)
      max_streams_ = l.http2_max_concurrent_streams;
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, max_streams_ + kRefusableStreams},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
       static_cast<uint32_t>(cfg.server.limits.max_header_bytes)},
  };
  if (nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0 ||
      nghttp2_session_set_local_window_size(s, NGHTTP2_FLAG_NONE, 0, kConnectionWindow) != 0)
    return false;
  return true;
}

void Http2Connection::start() {
  if (!setupSession()) {
    LOG_WARN("client %s: HTTP/2 session setup failed", client_.ip.c_str());
    destroy();
    return;
  }
  reading_ = true;
  event_add(read_ev_.get(), nullptr);
  arm(Timer::kIdle, worker_.snapshot()->config().server.limits.idle_timeout.count());
  // The bytes read before the codec was chosen (preface, first frames).
  receive();
  if (!dead_) send();
  if (!dead_) afterIo();
  if (!dead_ && transport_.hasPending()) event_active(read_ev_.get(), EV_READ, 0);
}

void Http2Connection::drain() {
  if (dead_ || goaway_sent_) return;
  goaway_sent_ = true;
  // Streams already begun finish; new ones are refused by the GOAWAY's last
  // stream id, and the session ends when the last stream does.
  nghttp2_submit_goaway(session_.get(), NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_.get()), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  flush();
}

void Http2Connection::calm(const char* why) {
  if (goaway_sent_ && nghttp2_session_want_read(session_.get()) == 0) return;
  LOG_WARN("client %s: HTTP/2 %s: GOAWAY ENHANCE_YOUR_CALM", client_.ip.c_str(), why);
  goaway_sent_ = true;
  nghttp2_session_terminate_session(session_.get(), NGHTTP2_ENHANCE_YOUR_CALM);
}

Http2Stream* Http2Connection::stream(int32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

void Http2Connection::onRead(short) {
  if (lingering_) {
    ssize_t n = transport_.read(in_.get(), kReadChunk);
    evbuffer_drain(in_.get(), evbuffer_get_length(in_.get()));
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) destroy();
    return;
  }
  if (transport_.tls()) {
    if (transport_.writeWantsRead()) {
      writeOut();
      if (dead_) return;
    }
    if (!transport_.releaseForcedRead(interest())) return;
  }
  ssize_t n = transport_.read(in_.get(), kReadChunk);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      if (transport_.readWantsWrite()) writeOut();
      return;
    }
    destroy();
    return;
  }
  if (n == 0) {
    destroy();  // HTTP/2 has no half-close at the connection level
    return;
  }
  receive();
  if (dead_) return;
  send();
  if (dead_) return;
  afterIo();
  if (!dead_ && reading_ && transport_.hasPending()) event_active(read_ev_.get(), EV_READ, 0);
}

void Http2Connection::receive() {
  while (size_t len = evbuffer_get_length(in_.get())) {
    const uint8_t* data = evbuffer_pullup(in_.get(), static_cast<ev_ssize_t>(len));
    in_callback_ = true;
    ssize_t used = nghttp2_session_mem_recv(session_.get(), data, len);
    in_callback_ = false;
    if (used < 0) {
      // Fatal (bad preface, flood limits, a protocol error): nghttp2 has
      // queued a GOAWAY when one is due; send it, then close.
      LOG_DEBUG("client %s: HTTP/2: %s", client_.ip.c_str(),
                nghttp2_strerror(static_cast<int>(used)));
      evbuffer_drain(in_.get(), len);
      goaway_sent_ = true;
      fatal_ = true;
      return;
    }
    evbuffer_drain(in_.get(), static_cast<size_t>(used));
    if (dead_) return;
  }
}

void Http2Connection::flush() {
  if (dead_) return;
  if (in_callback_) {
    send_wanted_ = true;  // done when nghttp2 returns
    return;
  }
  // An event made active now runs after those already active in this loop
  // iteration (the other origin connections that became readable together).
  if (flush_pending_) return;
  flush_pending_ = true;
  event_active(flush_ev_.get(), EV_WRITE, 0);
}

void Http2Connection::onFlush(short) {
  flush_pending_ = false;
  if (dead_) return;
  send();
  if (!dead_) afterIo();
}

void Http2Connection::send() {
  if (lingering_) return;
  do {
    send_wanted_ = false;
    if (evbuffer_get_length(out_.get()) < kMaxOut) {
      in_callback_ = true;
      int rv = fatal_ ? 0 : nghttp2_session_send(session_.get());
      in_callback_ = false;
      if (rv != 0) {
        LOG_DEBUG("client %s: HTTP/2 send: %s", client_.ip.c_str(), nghttp2_strerror(rv));
        destroy();
        return;
      }
    }
    writeOut();
    if (dead_) return;
    // Exchanges whose response buffer drained resume their origin reads:
    // that queues more DATA, hence the loop.
    if (!writable_.empty()) {
      std::vector<int32_t> ids;
      ids.swap(writable_);
      for (int32_t id : ids)
        if (Http2Stream* s = stream(id)) s->onWritable();
      if (dead_) return;
    }
  } while (send_wanted_ && evbuffer_get_length(out_.get()) < kMaxOut);
}

void Http2Connection::writeOut() {
  if (transport_.writeAll(out_.get()) < 0) {
    destroy();
    return;
  }
  transport_.updateInterest(out_.get(), interest());
}

void Http2Connection::onWrite(short) {
  writeOut();
  if (dead_) return;
  if (transport_.readWantsWrite()) {
    onRead(EV_READ);
    if (dead_) return;
  }
  send();
  if (!dead_) afterIo();
}

// After each round of I/O: reading on or off, the timer, and the end.
void Http2Connection::afterIo() {
  if (lingering_) return;
  bool out_empty = evbuffer_get_length(out_.get()) == 0;
  bool done = fatal_ || (nghttp2_session_want_read(session_.get()) == 0 &&
                         nghttp2_session_want_write(session_.get()) == 0);
  if (done && out_empty) {
    linger();  // GOAWAY sent and every stream done, or the client said goodbye
    return;
  }
  // A client that does not read its responses stops being read.
  bool want = !fatal_ && nghttp2_session_want_read(session_.get()) != 0 &&
              evbuffer_get_length(out_.get()) < kMaxOut;
  if (want != reading_) {
    reading_ = want;
    if (want)
      event_add(read_ev_.get(), nullptr);
    else if (!read_forced_)
      event_del(read_ev_.get());
  }
  const auto& limits = worker_.snapshot()->config().server.limits;
  if (!out_empty)
    arm(Timer::kIo, limits.idle_timeout.count());
  else if (streams_.empty())
    arm(Timer::kIdle, limits.idle_timeout.count());
  else if (timer_ != Timer::kNone)
    arm(Timer::kNone, 0);
}

void Http2Connection::linger() {
  if (lingering_) return;
  lingering_ = true;
  transport_.shutdownWrite();
  event_del(write_ev_.get());
  write_armed_ = false;
  reading_ = true;
  event_add(read_ev_.get(), nullptr);
  arm(Timer::kLinger, kLingerMs);
}

void Http2Connection::arm(Timer t, uint64_t ms) {
  // The idle deadline is not pushed back by frames that carry no request
  // (PING); the I/O one is, by each round of progress.
  if (t == timer_ && t == Timer::kIdle) return;
  timer_ = t;
  if (t == Timer::kNone) {
    event_del(timer_ev_.get());
    return;
  }
  timeval tv = toTimeval(ms);
  event_add(timer_ev_.get(), &tv);
}

void Http2Connection::onTimer(short) {
  Timer t = timer_;
  timer_ = Timer::kNone;
  if (t == Timer::kIdle && !goaway_sent_) {
    // Idle: say goodbye politely, then close whatever happens.
    drain();
    if (!dead_) arm(Timer::kIo, 1000);
    return;
  }
  if (t != Timer::kNone) destroy();
}

void Http2Connection::destroy() {
  if (dead_) return;
  dead_ = true;
  for (auto& [id, s] : streams_) s->onClosed();
  event_del(read_ev_.get());
  event_del(write_ev_.get());
  event_del(timer_ev_.get());
  event_del(flush_ev_.get());
  worker_.removeConnection(this);
}

ssize_t Http2Connection::onSend(nghttp2_session*, const uint8_t* data, size_t len, int, void* p) {
  Http2Connection* c = self(p);
  if (evbuffer_get_length(c->out_.get()) >= kMaxOut) return NGHTTP2_ERR_WOULDBLOCK;
  bool queued = c->settings_sent_ ? evbuffer_add(c->out_.get(), data, len) == 0
                                  : c->sendFirstSettings(data, len);
  if (!queued) return NGHTTP2_ERR_CALLBACK_FAILURE;
  return static_cast<ssize_t>(len);
}

bool Http2Connection::sendFirstSettings(const uint8_t* data, size_t len) {
  // nghttp2 hands each frame over whole, and a server's first frame is the
  // SETTINGS submitted in setupSession (a few entries).
  settings_sent_ = true;
  uint8_t frame[kFrameHeader + kSettingsEntry * 8];
  if (len < kFrameHeader || len > sizeof(frame) || data[3] != NGHTTP2_SETTINGS ||
      (data[4] & NGHTTP2_FLAG_ACK) != 0) {
    LOG_WARN("client %s: HTTP/2: the first frame is not our SETTINGS", client_.ip.c_str());
    return evbuffer_add(out_.get(), data, len) == 0;
  }
  std::memcpy(frame, data, len);
  for (size_t at = kFrameHeader; at + kSettingsEntry <= len; at += kSettingsEntry) {
    if (((frame[at] << 8) | frame[at + 1]) != NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS) continue;
    for (int i = 0; i < 4; ++i)
      frame[at + 2 + i] = static_cast<uint8_t>(max_streams_ >> (24 - 8 * i));
  }
  return evbuffer_add(out_.get(), frame, len) == 0;
}

int Http2Connection::onBeginHeaders(nghttp2_session* session, const nghttp2_frame* frame, void* p) {
  Http2Connection* c = self(p);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  int32_t id = frame->hd.stream_id;
  if (c->streams_.size() >= c->max_streams_) {
    // Over the limit the client was told: a stream error it may retry later.
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
    if (!c->flood_.note(Flood::kRefused, Loop::nowMicros())) c->calm("streams over the limit");
    return 0;
  }
  auto s = std::make_unique<Http2Stream>(*c, id, Loop::nowMicros());
  nghttp2_session_set_stream_user_data(session, id, s.get());
  c->streams_.emplace(id, std::move(s));
  return 0;
}

int Http2Connection::onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                              size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                              void* p) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  Http2Stream* s = self(p)->stream(frame->hd.stream_id);
  if (!s || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // trailers are dropped
  s->addHeader({reinterpret_cast<const char*>(name), namelen},
               {reinterpret_cast<const char*>(value), valuelen});
  return 0;
}

int Http2Connection::onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* p) {
  Http2Connection* c = self(p);
  uint64_t now = Loop::nowMicros();
  bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS: {
      Http2Stream* s = c->stream(frame->hd.stream_id);
      if (!s) return 0;
      if (frame->headers.cat == NGHTTP2_HCAT_REQUEST)
        s->onHeadersDone(end_stream);
      else if (end_stream)
        s->onEndStream();  // trailers end the body
      return 0;
    }
    case NGHTTP2_DATA:
      if (frame->hd.length == 0 && !end_stream && !c->flood_.note(Flood::kEmptyData, now))
        c->calm("empty DATA flood");
      if (end_stream)
        if (Http2Stream* s = c->stream(frame->hd.stream_id)) s->onEndStream();
      return 0;
    case NGHTTP2_PING:
      if (!(frame->hd.flags & NGHTTP2_FLAG_ACK) && !c->flood_.note(Flood::kPing, now))
        c->calm("PING flood");
      return 0;
    case NGHTTP2_SETTINGS:
      if (!(frame->hd.flags & NGHTTP2_FLAG_ACK) && !c->flood_.note(Flood::kSettings, now))
        c->calm("SETTINGS flood");
      return 0;
    case NGHTTP2_RST_STREAM:
      if (!c->flood_.note(Flood::kReset, now)) c->calm("stream reset flood");
      return 0;
    default:
      return 0;
  }
}

int Http2Connection::onDataChunk(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data,
                                 size_t len, void* p) {
  Http2Connection* c = self(p);
  if (Http2Stream* s = c->stream(id))
    s->onData(data, len);
  else
    nghttp2_session_consume(c->session_.get(), id, len);
  return 0;
}

int Http2Connection::onStreamClose(nghttp2_session*, int32_t id, uint32_t, void* p) {
  Http2Connection* c = self(p);
  auto it = c->streams_.find(id);
  if (it == c->streams_.end()) return 0;
  it->second->onClosed();
  // The exchange may be on the stack (a response that just ended).
  c->worker_.loop().deferDelete(std::move(it->second));
  c->streams_.erase(it);
  return 0;
}

int Http2Connection::onInvalidFrame(nghttp2_session*, const nghttp2_frame* frame, int error,
                                    void* p) {
  LOG_DEBUG("client %s: HTTP/2 invalid frame (type %u): %s", self(p)->client_.ip.c_str(),
            frame->hd.type, nghttp2_strerror(error));
  return 0;
}

}  // namespace edge::http2
