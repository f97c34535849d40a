#pragma once
// The client side of one HTTP/2 connection (h2 by ALPN, or h2c with prior
// knowledge): an nghttp2 server session over the connection's Transport. Each
// stream becomes an Http2Stream that runs one Exchange on the policy chain.
//
// Memory is bounded per connection: request bodies are held back by flow
// control (a stream's window opens again only as its origin takes the bytes),
// response bodies by the upstream step's high-water mark on each stream, and
// frames to the socket by kMaxOut (nghttp2 stops packing frames, and reading
// stops, until the socket takes them). Owned by its Worker; loop thread only.
#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "gateway/client_connection.h"
#include "gateway/exchange.h"
#include "gateway/http2/flood_guard.h"
#include "gateway/transport.h"

namespace edge {

class Worker;

namespace http2 {

class Http2Stream;

struct SessionDeleter {
  void operator()(nghttp2_session* s) const { nghttp2_session_del(s); }
};
using SessionPtr = std::unique_ptr<nghttp2_session, SessionDeleter>;

class Http2Connection final : public ClientConnection {
 public:
  // `in` holds bytes already read from the transport (the client preface,
  // maybe more), taken over from the HTTP/1 connection that saw them.
  Http2Connection(Worker& worker, Transport transport, ClientInfo client, EvbufferPtr in);
  ~Http2Connection() override;

  void start();
  void drain() override;

  // For streams.
  Worker& worker() { return worker_; }
  const ClientInfo& client() const { return client_; }
  nghttp2_session* session() { return session_.get(); }
  // Packs pending frames and writes them once the loop has run the other
  // events of this iteration: the responses of all the origins that answered
  // together leave in one TLS write, not one each.
  void flush();
  // A stream's response buffer fell below the low mark inside a send: its
  // exchange is told once the send is over.
  void noteWritable(int32_t stream_id) { writable_.push_back(stream_id); }
  void noteCompleted() { flood_.noteCompleted(); }

 private:
  enum class Timer : uint8_t { kNone, kIdle, kIo, kLinger };

  void onRead(short);
  void onWrite(short);
  void onTimer(short);
  void onFlush(short);
  bool setupSession();
  void receive();
  void send();
  void writeOut();
  void afterIo();
  void arm(Timer t, uint64_t ms);
  void calm(const char* why);
  // Output done: shut our side and discard the client's bytes until its EOF,
  // so that unread input does not turn into a reset that eats the GOAWAY.
  void linger();
  void destroy();
  Http2Stream* stream(int32_t id);

  // nghttp2 callbacks (user_data is the connection).
  static ssize_t onSend(nghttp2_session*, const uint8_t* data, size_t len, int, void* self);
  // Queues our first SETTINGS frame with max_streams_ as its concurrency limit.
  bool sendFirstSettings(const uint8_t* data, size_t len);
  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame*, void* self);
  static int onHeader(nghttp2_session*, const nghttp2_frame*, const uint8_t* name, size_t namelen,
                      const uint8_t* value, size_t valuelen, uint8_t flags, void* self);
  static int onFrameRecv(nghttp2_session*, const nghttp2_frame*, void* self);
  static int onDataChunk(nghttp2_session*, uint8_t flags, int32_t id, const uint8_t* data,
                         size_t len, void* self);
  static int onStreamClose(nghttp2_session*, int32_t id, uint32_t error_code, void* self);
  static int onInvalidFrame(nghttp2_session*, const nghttp2_frame*, int error, void* self);

  Worker& worker_;
  Transport transport_;
  ClientInfo client_;
  EventPtr read_ev_, write_ev_, timer_ev_, flush_ev_;
  EvbufferPtr in_, out_;
  SessionPtr session_;
  std::unordered_map<int32_t, std::unique_ptr<Http2Stream>> streams_;
  std::vector<int32_t> writable_;
  FloodGuard flood_;
  uint32_t max_streams_ = 0;  // SETTINGS_MAX_CONCURRENT_STREAMS as the client sees it
  Timer timer_ = Timer::kNone;
  bool reading_ = false;
  bool write_armed_ = false;
  bool read_forced_ = false;
  // The socket events above, as Transport arms them.
  Transport::Interest interest() {
    return {read_ev_.get(), write_ev_.get(), &reading_, &read_forced_, &write_armed_};
  }
  bool in_callback_ = false;  // inside nghttp2_session_mem_recv or _send
  bool send_wanted_ = false;
  bool flush_pending_ = false;  // flush_ev_ is active
  bool settings_sent_ = false;  // our first SETTINGS frame is queued
  bool goaway_sent_ = false;
  bool fatal_ = false;
  bool lingering_ = false;  // the session is unusable: close once the output is written
  bool dead_ = false;
};

}  // namespace http2
}  // namespace edge
