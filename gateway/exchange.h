#pragma once
// One request and its response, whatever the client protocol. The client
// codec (Downstream) creates it after a request head, the policy chain decides
// what happens, and the last policy (upstream) streams the body both ways.
// Owned by the codec; lives on one worker's loop.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/http1/parser.h"
#include "gateway/loop.h"
#include "gateway/metrics.h"
#include "gateway/request_record.h"
#include "gateway/snapshot.h"

struct evbuffer;

namespace edge {

class Worker;
class Exchange;
class UpstreamRequest;

// The response head as it will be written to the client. Values are views
// into storage that outlives the write: the origin's parsed head, the
// config, or the exchange's own strings.
struct ResponseOut {
  uint16_t status = 200;
  std::string_view reason;                                             // empty: the standard phrase
  std::vector<std::pair<std::string_view, std::string_view>> headers;  // no framing fields
  http1::Framing framing = http1::Framing::kNone;
  uint64_t content_length = 0;  // with kLength
  void set(std::string_view name, std::string_view value);
  void remove(std::string_view name);
};

const char* reasonPhrase(uint16_t status);

// The client side of an exchange (HTTP/1 connection today, HTTP/2 stream
// later). Every call happens on the loop thread.
class Downstream {
 public:
  virtual ~Downstream() = default;
  virtual void sendHead(const ResponseOut& head) = 0;
  virtual void sendBody(const char* data, size_t len) = 0;
  // Moves len bytes from buf (zero-copy where the codec allows).
  virtual void sendBodyBuffer(evbuffer* buf, size_t len) = 0;
  virtual void finishResponse() = 0;  // the response is complete
  virtual void abortResponse() = 0;   // it cannot complete: drop the client connection
  virtual void flush() = 0;           // write what is queued, now if the socket takes it
  virtual size_t bufferedOut() const = 0;
  virtual size_t bufferedIn() const = 0;
  // The exchange can take request body bytes again (it said no before).
  virtual void resumeRequestBody() = 0;
};

// Where the request's body goes once a policy has decided (the upstream).
class RequestBodySink {
 public:
  virtual ~RequestBodySink() = default;
  virtual bool wantsBody() const = 0;  // false = backpressure, keep the bytes for later
  virtual void onBody(const char* data, size_t len) = 0;
  virtual void onBodyEnd() = 0;
};

// A tap on an exchange's response as the upstream step produces it (the cache
// stores a miss while it streams to the client). Installed by a policy; loop
// thread only; the observer outlives the exchange's response or uninstalls
// itself (Exchange::setResponseObserver(nullptr)).
class ResponseObserver {
 public:
  virtual ~ResponseObserver() = default;
  // Before the response policies see the head. True takes the response over:
  // the exchange then drops the body that follows and, where the response
  // would finish (or fail after the head), calls onTakenOver() instead, which
  // answers the client itself (a cache serving its entry after a 304 or in
  // place of an origin error).
  virtual bool onResponseHead(const ResponseOut& head) = 0;
  virtual void onResponseBody(const char* data, size_t len) = 0;
  // The response ended: complete, or cut (abort).
  virtual void onResponseEnd(bool complete) = 0;
  virtual void onTakenOver() = 0;
};

enum class PolicyResult { kContinue, kRespond, kPause };

// A step of the chain. Policies are stateless and shared by all exchanges of
// a worker; per-exchange state lives in the exchange.
class Policy {
 public:
  virtual ~Policy() = default;
  virtual const char* name() const = 0;
  // After the request head. kRespond: it answered; kPause: it will call
  // Exchange::resume() later from the same loop.
  virtual PolicyResult onRequest(Exchange& ex) = 0;
  // Before the response head goes to the client, in reverse chain order.
  virtual void onResponseHead(Exchange& ex, ResponseOut& head) {}
};

struct ClientInfo {
  std::string ip;  // textual peer address
  bool v6 = false;
  uint8_t addr[16] = {};                  // peer address bytes, for trusted_proxies
  const std::string* listener = nullptr;  // listener name
  bool tls = false;
  bool http2 = false;  // the connection speaks HTTP/2 (ALPN h2 or the h2c preface)
  std::string sni;     // TLS: the server name the client asked for, or empty
};

// What went wrong, and whether a retry is safe (read by the upstream step).
enum class ErrorSource : uint8_t { kNone, kClient, kUpstream, kInternal };

class Exchange final : public Deletable {
 public:
  Exchange(Worker& worker, Downstream& down, SnapshotPtr snapshot, const http1::RequestHead& req,
           const ClientInfo& client, uint64_t start_us);
  ~Exchange() override;
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  // Runs the policy chain from the start.
  void start();
  // Runs the chain from policy `index` on (an exchange the cache starts itself
  // to refresh an entry in the background skips the steps before the cache).
  void startAt(size_t index);
  // Answers at once without running the chain (the codec refused the request).
  void startWithError(uint16_t status, std::string_view detail);
  // A paused policy is done: continue with the next one.
  void resume();

  // Answers with a short text/plain error naming the request id.
  void respondError(uint16_t status, std::string_view detail);
  // The same with more header fields (e.g. Retry-After); the views must stay
  // valid until the head is written.
  void respondError(uint16_t status, std::string_view detail,
                    std::initializer_list<std::pair<std::string_view, std::string_view>> extra);
  // A redirect: Location plus the short text/plain body of respondError.
  void respondRedirect(uint16_t status, std::string_view location);
  // Sends the head through the response policies, then to the client.
  void sendResponseHead(ResponseOut& head);
  void sendBody(const char* data, size_t len);
  void sendBodyBuffer(evbuffer* buf, size_t len);
  void finishResponse();
  void abort(ErrorSource source);
  // Drops the upstream step (the request turned out bad mid-body).
  void cancelUpstream();

  // Called by the codec.
  bool wantsRequestBody() const { return body_sink_ && body_sink_->wantsBody(); }
  void onRequestBody(const char* data, size_t len) { body_sink_->onBody(data, len); }
  void onRequestBodyEnd();
  void onDownstreamWritable();  // the client's buffer drained below the low mark
  void onClientGone();          // the client closed or reset mid-exchange

  // For policies.
  Worker& worker() { return worker_; }
  Downstream& downstream() { return down_; }
  const Snapshot& snapshot() const { return *snapshot_; }
  const http1::RequestHead& request() const { return req_; }
  const ClientInfo& client() const { return client_; }
  std::string_view requestId() const { return {request_id_, request_id_len_}; }
  std::string_view host() const { return req_.hostView(); }
  void setRoute(const conf::Site* site, const conf::Route* route);
  const conf::Site* site() const { return site_; }
  const conf::Route* route() const { return route_; }
  void setBodySink(RequestBodySink* sink) { body_sink_ = sink; }
  // What the rate limiter keeps for this exchange (its decisions for the
  // response headers, its pending Redis call); freed with the exchange, which
  // cancels that call.
  void setRateLimitState(std::unique_ptr<Deletable> s) { ratelimit_state_ = std::move(s); }
  Deletable* rateLimitState() const { return ratelimit_state_.get(); }
  // What the cache keeps for this exchange; freed with it.
  void setCacheState(std::unique_ptr<Deletable> s) { cache_state_ = std::move(s); }
  Deletable* cacheState() const { return cache_state_.get(); }
  void setResponseObserver(ResponseObserver* o) { observer_ = o; }
  // Fields the upstream step adds to the origin request ("Name: value\r\n"
  // lines), and whether it drops the client's validators and Range first (a
  // cache revalidating its own entry, or fetching a whole object to store).
  void setOriginFields(std::string fields, bool drop_client_validators) {
    origin_fields_ = std::move(fields);
    drop_client_validators_ = drop_client_validators;
  }
  const std::string& originFields() const { return origin_fields_; }
  bool dropClientValidators() const { return drop_client_validators_; }
  void setUpstream(std::unique_ptr<UpstreamRequest> up);
  UpstreamRequest* upstream() { return upstream_.get(); }
  bool requestHasBody() const { return req_.framing != http1::Framing::kNone; }
  bool requestBodyDone() const { return request_body_done_; }
  bool responseStarted() const { return response_started_; }
  bool finished() const { return finished_; }
  uint16_t status() const { return status_; }
  void noteBuffered(size_t extra);

  // For the access log. Policies say what they did with static strings
  // (cache: "hit", "miss", ...; rate limit: "allowed", "limited", ...).
  void noteCacheStatus(const char* s) { cache_status_ = s; }
  void noteRateLimit(const char* s) { ratelimit_status_ = s; }
  // The upstream step: the origin's response head arrived after `us`.
  void noteUpstreamAnswered(uint64_t us) { upstream_us_ = static_cast<int64_t>(us); }
  const char* cacheStatus() const { return cache_status_; }
  const char* rateLimitStatus() const { return ratelimit_status_; }
  int64_t upstreamMicros() const { return upstream_us_; }
  bool upstreamEngaged() const { return upstream_engaged_; }
  uint64_t bodyBytesSent() const { return body_bytes_; }
  uint64_t startMicros() const { return start_us_; }
  // The codec, from Downstream::finishResponse(): takes the record of this
  // exchange to complete it (Worker::completeRequest) once the response's
  // last byte is written. A codec that does not take it gets it completed at
  // once, when finishResponse() returns.
  bool takeRecord(RequestRecord& into);

 private:
  void runFrom(size_t index);

  Worker& worker_;
  Downstream& down_;
  SnapshotPtr snapshot_;
  const http1::RequestHead& req_;
  const ClientInfo& client_;
  uint64_t start_us_;
  // Inline, not a std::string: one allocation fewer per request.
  char request_id_[128];
  uint8_t request_id_len_ = 0;
  std::string error_body_;
  std::string content_length_text_;
  const conf::Site* site_ = nullptr;
  const conf::Route* route_ = nullptr;
  size_t next_policy_ = 0;
  RequestBodySink* body_sink_ = nullptr;
  std::unique_ptr<UpstreamRequest> upstream_;
  std::unique_ptr<Deletable> ratelimit_state_;
  std::unique_ptr<Deletable> cache_state_;
  ResponseObserver* observer_ = nullptr;
  std::string origin_fields_;
  bool drop_client_validators_ = false;
  bool taken_over_ = false;
  uint16_t status_ = 0;
  uint64_t body_bytes_ = 0;
  int64_t upstream_us_ = -1;
  const char* cache_status_ = nullptr;
  const char* ratelimit_status_ = nullptr;
  RequestRecord record_;
  bool record_pending_ = false;
  bool upstream_engaged_ = false;
  bool response_started_ = false;
  bool finished_ = false;
  bool request_body_done_ = false;
};

}  // namespace edge
