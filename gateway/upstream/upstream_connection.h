#pragma once
// One TCP connection to an origin server. Carries one exchange at a time
// (owned by its UpstreamRequest) or sits idle in the worker's pool (owned by
// the ServerState). Its events report to whichever handler owns it now.
#include <event2/buffer.h>

#include <cstdint>

#include "gateway/http1/parser.h"
#include "gateway/loop.h"

namespace edge {

struct ServerState;
class UpstreamConnection;

class UpstreamHandler {
 public:
  virtual ~UpstreamHandler() = default;
  virtual void onUpstreamReadable(UpstreamConnection& c) = 0;
  virtual void onUpstreamWritable(UpstreamConnection& c) = 0;
  virtual void onUpstreamTimer(UpstreamConnection& c) = 0;
};

class UpstreamConnection final : public Deletable {
 public:
  UpstreamConnection(event_base* base, UniqueFd fd, ServerState& server);
  ~UpstreamConnection() override;

  ServerState& server() { return server_; }
  int fd() const { return fd_.get(); }
  evbuffer* in() { return in_.get(); }
  evbuffer* out() { return out_.get(); }
  void setHandler(UpstreamHandler* h) { handler_ = h; }

  // Reads what the socket has (up to max bytes) into in(). Returns bytes
  // read, 0 at EOF, -1 on error, -2 when nothing was available.
  int readSome(size_t max);
  // Writes out() as far as the socket takes it; arms the write event for the
  // rest. False on a socket error.
  bool flush();
  void enableRead(bool on);
  void watchWritable(bool on);
  void setTimer(uint64_t ms);
  void cancelTimer();

  // Lives with the connection so that its buffers are reused by every
  // exchange the connection carries.
  http1::ResponseParser parser{http1::HeadLimits{64 * 1024}};
  bool reused = false;  // it carried an earlier exchange (a failure may be a stale close)
  uint64_t requests = 0;

 private:
  void onRead(short);
  void onWrite(short);
  void onTimer(short);

  UniqueFd fd_;
  ServerState& server_;
  UpstreamHandler* handler_ = nullptr;
  EvbufferPtr in_, out_;
  EventPtr read_ev_, write_ev_, timer_ev_;
  bool reading_ = false;
  bool write_armed_ = false;
};

}  // namespace edge
