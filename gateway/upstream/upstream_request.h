#pragma once
// The upstream step of one exchange: picks a server, takes a pooled
// connection or opens one, sends the request head and streams the body to
// the origin, parses the response and streams it to the client, with
// backpressure both ways. Owned by its Exchange; loop thread only.
#include <cstdint>
#include <memory>
#include <string>

#include "conf/config.h"
#include "gateway/exchange.h"
#include "gateway/http1/parser.h"
#include "gateway/upstream/pool.h"

namespace edge {

class UpstreamRequest final : public Deletable, public RequestBodySink, public UpstreamHandler {
 public:
  UpstreamRequest(Exchange& ex, const conf::Upstream& up);
  ~UpstreamRequest() override;

  void start();
  void onDownstreamWritable();

  // RequestBodySink
  bool wantsBody() const override;
  void onBody(const char* data, size_t len) override;
  void onBodyEnd() override;

  // UpstreamHandler
  void onUpstreamReadable(UpstreamConnection& c) override;
  void onUpstreamWritable(UpstreamConnection& c) override;
  void onUpstreamTimer(UpstreamConnection& c) override;

 private:
  enum class Phase : uint8_t { kIdle, kConnecting, kAwaitHead, kBody, kDone };

  void attempt();
  void onConnected();
  void sendHead();
  // Forwards what the origin sent, flushes, and resumes a paused read when
  // the client took it all.
  void processInput();
  // False when the exchange ended (finished or aborted) on the way.
  bool forwardInput();
  bool handleHead();
  void finish();
  // retryable: nothing reached the origin's application in a way that makes
  // a second attempt unsafe (connect failures, a reused connection closed
  // before any response byte).
  void fail(uint16_t status, const char* detail, bool retryable);
  void closeConnection();
  bool canRetry() const;
  void pauseForClient();

  Exchange& ex_;
  Worker& worker_;
  const conf::Upstream& up_;  // inside the exchange's snapshot
  std::unique_ptr<UpstreamConnection> conn_;
  ServerState* server_ = nullptr;
  ServerHealth* health_ = nullptr;  // the picked server's, in the exchange's snapshot
  http1::BodyDecoder decoder_;
  Phase phase_ = Phase::kIdle;
  unsigned attempts_ = 0;
  uint64_t tried_ = 0;  // bit per server index already tried
  uint64_t sent_us_ = 0;
  uint64_t body_remaining_ = 0;   // with Content-Length framing
  bool body_bytes_sent_ = false;  // request body bytes went to the origin: no retry
  bool request_sent_ = false;     // the whole request (head and body) went out
  bool response_bytes_ = false;   // the origin sent something
  bool paused_for_client_ = false;
  bool stale_retry_used_ = false;
};

}  // namespace edge
