#pragma once
// One HTTP/2 stream: assembles the request from its header block, runs it
// as an Exchange, feeds DATA frames to the exchange's body sink (opening the
// flow-control window only for bytes the sink took) and hands the response
// to nghttp2 through a data provider that defers while no bytes are ready.
// Owned by its Http2Connection; freed (deferred) when nghttp2 closes the
// stream. Loop thread only.
#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <string>

#include "gateway/exchange.h"
#include "gateway/http1/parser.h"
#include "gateway/http2/request_builder.h"

namespace edge::http2 {

class Http2Connection;

class Http2Stream final : public Deletable, public Downstream {
 public:
  Http2Stream(Http2Connection& conn, int32_t id, uint64_t start_us);
  ~Http2Stream() override;

  // From the connection's nghttp2 callbacks.
  // False: the header list is too large (the request is answered 431).
  bool addHeader(std::string_view name, std::string_view value) {
    return builder_.add(name, value);
  }
  void onHeadersDone(bool end_stream);
  void onData(const uint8_t* data, size_t len);
  void onEndStream();
  void onClosed();

  // Downstream
  void sendHead(const ResponseOut& head) override;
  void sendBody(const char* data, size_t len) override;
  void sendBodyBuffer(evbuffer* buf, size_t len) override;
  void finishResponse() override;
  void abortResponse() override;
  void flush() override;
  size_t bufferedOut() const override { return evbuffer_get_length(out_.get()); }
  size_t bufferedIn() const override { return evbuffer_get_length(in_.get()); }
  void resumeRequestBody() override;

  // The exchange's buffer emptied below the low mark (after a send).
  void onWritable();

 private:
  static ssize_t readData(nghttp2_session*, int32_t id, uint8_t* buf, size_t len, uint32_t* flags,
                          nghttp2_data_source* source, void*);
  void refuse(uint16_t status, const char* reason);
  void pumpBody();
  void consume(size_t len);
  void dataReady();

  Http2Connection& conn_;
  int32_t id_;
  uint64_t start_us_;
  RequestBuilder builder_;
  http1::RequestParser parser_;
  std::string head_text_;
  std::string refusal_;
  EvbufferPtr in_, out_;
  // Declared last: destroyed first, while the request head it points at lives.
  std::unique_ptr<Exchange> exchange_;
  uint64_t body_received_ = 0;
  bool end_stream_in_ = false;  // the client's END_STREAM arrived
  bool request_done_ = false;   // ... and the exchange was told
  bool no_body_out_ = false;    // HEAD, 204, 304: the head ends the stream
  bool eof_out_ = false;        // finishResponse(): the buffer holds the last bytes
  bool deferred_ = false;       // the data provider said DEFERRED
  bool closed_ = false;
};

}  // namespace edge::http2
