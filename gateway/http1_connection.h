#pragma once
// The client side of one HTTP/1.1 connection: reads and parses requests,
// runs one Exchange at a time (pipelined requests wait in the input buffer,
// so responses leave in order), writes responses with the framing the client
// understands, and enforces the connection limits (timeouts, sizes).
// Owned by its Worker; every method runs on that worker's loop.
#include <cstdint>
#include <memory>
#include <string>

#include "gateway/client_connection.h"
#include "gateway/exchange.h"
#include "gateway/http1/parser.h"
#include "gateway/loop.h"
#include "gateway/transport.h"

namespace edge {

class Worker;

class Http1Connection final : public ClientConnection, public Downstream {
 public:
  // h2c: the listener has `http2: true` (prior knowledge on cleartext).
  Http1Connection(Worker& worker, Transport transport, ClientInfo client, bool h2c = false);
  ~Http1Connection() override;

  void start();
  // Close politely (the process drains, or a reload removed the listener):
  // the next response carries `Connection: close` and the connection ends
  // after it; an idle one ends after a short grace, so that a request already
  // on its way is answered instead of meeting a reset.
  void drain() override;
  bool idle() const { return !exchange_ && !parser_.started(); }

  // Downstream
  void sendHead(const ResponseOut& head) override;
  void sendBody(const char* data, size_t len) override;
  void sendBodyBuffer(evbuffer* buf, size_t len) override;
  void finishResponse() override;
  void abortResponse() override;
  void flush() override;
  size_t bufferedOut() const override { return evbuffer_get_length(out_.get()); }
  size_t bufferedIn() const override { return evbuffer_get_length(in_.get()); }
  void resumeRequestBody() override { process(); }

 private:
  enum class Timer : uint8_t { kNone, kIdle, kHeader, kIo, kLinger };

  void onRead(short);
  void onWrite(short);
  void onTimer(short);
  void process();
  bool parseHead();
  void pumpBody();
  void refuseRequest(uint16_t status, const char* reason);
  void rejectBody(uint16_t status, const char* reason);
  void setReading(bool on);
  void arm(Timer t, uint64_t ms);
  void updateIoTimer();
  void closeAfterFlush();
  void destroy();
  // Completes the records whose responses are now entirely handed to the socket.
  void completeWritten();
  // TLS: handshake outcome (metrics, SNI), and reads the kernel cannot signal.
  void afterTlsRead();
  // The client speaks HTTP/2: the socket and what was read move to an
  // Http2Connection, and this object goes away.
  void handOffToHttp2();
  // h2c: true when the input starts with the client preface (and hands off),
  // or is still a prefix of it (wait for more).
  bool http2Preface();
  // Closing may skip the lingering close: see the definition.
  bool clientIsDone() const;
  Worker& worker_;
  Transport transport_;
  ClientInfo client_;
  EventPtr read_ev_, write_ev_, timer_ev_;
  EvbufferPtr in_, out_;
  http1::RequestParser parser_;
  http1::BodyDecoder body_;
  std::unique_ptr<Exchange> exchange_;
  std::string scratch_;
  // Finished exchanges waiting for the last byte of their response to be
  // written (metrics and access log time the exchange to that moment):
  // `end` is the response's end as an offset in this connection's output.
  struct WrittenWait {
    uint64_t end = 0;
    RequestRecord record;
  };
  std::vector<WrittenWait> written_waits_;
  uint64_t bytes_written_ = 0;  // handed to the socket since the connection opened
  uint64_t head_start_us_ = 0;
  uint64_t body_received_ = 0;
  Timer timer_ = Timer::kNone;
  bool reading_ = false;
  bool write_armed_ = false;
  bool read_forced_ = false;  // TLS: read event armed for a write blocked on reading
  // The socket events above, as Transport arms them.
  Transport::Interest interest() {
    return {read_ev_.get(), write_ev_.get(), &reading_, &read_forced_, &write_armed_};
  }
  bool keep_alive_ = true;
  bool request_done_ = true;
  bool continue_sent_ = false;
  bool chunked_out_ = false;
  bool head_only_ = false;
  bool closing_ = false;    // close once the output is flushed
  bool lingering_ = false;  // output done and shut down; discarding input until EOF
  bool peer_eof_ = false;
  bool client_closes_ = false;  // the last request said it was the last (Connection: close)
  bool dead_ = false;
  bool h2c_ = false;
  bool handed_off_ = false;
  bool in_process_ = false;
  bool reprocess_ = false;
};

}  // namespace edge
