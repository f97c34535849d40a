#pragma once
// Buckets in Redis, shared by every edgegate process that points at it. One
// instance per worker, on that worker's loop: hiredis is attached to the
// loop's event_base through its libevent adapter, so a decision is one
// EVALSHA written to the socket and a callback later; the loop never blocks.
//
// hiredis 0.14 has no command timeout: calls wait in a deadline queue served
// by one libevent timer, and a reply that comes after its deadline is
// ignored (its id is gone).
#include <hiredis/async.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "conf/config.h"
#include "gateway/loop.h"
#include "ratelimit/gcra.h"

namespace edge::ratelimit {

// Told the outcome of one call, exactly once, unless the call was cancelled.
class RedisWaiter {
 public:
  virtual ~RedisWaiter() = default;
  // ok: d[0..n) hold the decisions; !ok: Redis did not answer in time or failed.
  virtual void onRedisResult(bool ok, const Decision* d, size_t n) = 0;
};

struct RedisBucket {
  std::string key;  // the Redis key
  Limit limit;
  bool shadow = false;
};

class RedisStore {
 public:
  // The Lua script: decides every bucket of a request from Redis's own clock
  // (TIME), so gateways on different hosts need no clock agreement.
  static const char* script();

  // Loop thread from here on (constructed on the main thread before the loop runs).
  explicit RedisStore(Loop& loop);
  ~RedisStore();
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  // Host names resolved at start-up (the main thread may block; the loop may
  // not). A later config naming another host name cannot reach it.
  void preResolve(const conf::RedisConfig& rc);

  // Starts one decision. Returns its id, or 0 when Redis is known to be
  // unreachable right now (the waiter is then not called: decide on the spot).
  uint64_t decide(const conf::RedisConfig& rc, const RedisBucket* buckets, size_t n,
                  RedisWaiter* waiter);
  // The waiter is going away: never call it. Unknown ids are ignored.
  void cancel(uint64_t id);

  bool connected() const { return ctx_ != nullptr && connected_; }

 private:
  struct Pending {
    uint64_t id = 0;
    RedisWaiter* waiter = nullptr;
    size_t n = 0;
    std::vector<std::string> args;  // for EVAL after NOSCRIPT
  };
  struct Deadline {
    uint64_t at_us;
    uint64_t id;
  };

  bool ensureConnected(const conf::RedisConfig& rc);
  void connect();
  void disconnect();
  void scheduleReconnect();
  [[nodiscard]] bool send(Pending& p, bool eval);
  void finish(uint64_t id, bool ok, const Decision* d, size_t n);
  void onReply(uint64_t id, struct redisReply* reply);
  void onTimeout(short);
  void armTimeout(uint64_t now_us);
  void onReconnectTimer(short);
  void onConnectTimer(short);
  static void replyCallback(redisAsyncContext* ac, void* reply, void* privdata);
  static void authCallback(redisAsyncContext* ac, void* reply, void* privdata);
  static void connectCallback(const redisAsyncContext* ac, int status);
  static void disconnectCallback(const redisAsyncContext* ac, int status);

  Loop& loop_;
  std::string sha_;
  redisAsyncContext* ctx_ = nullptr;
  bool connected_ = false;
  // Settings of the current (or next) connection.
  std::string ip_;
  std::string host_;
  uint16_t port_ = 0;
  std::string password_;
  std::unordered_map<std::string, std::string> resolved_;  // host name -> IP text
  EventPtr reconnect_timer_;
  EventPtr connect_timer_;
  // Calls in the order they were made. The timeout is one value for all of
  // them, so deadlines are in order too (a reload that shortens it lets the
  // calls made before it run to their older, later deadline) and one timer,
  // armed for the oldest, serves them all. Entries of calls already answered
  // are dropped when the timer reaches them.
  std::deque<Deadline> deadlines_;
  EventPtr timeout_timer_;
  bool timeout_armed_ = false;
  uint64_t backoff_ms_ = 0;
  bool reconnect_scheduled_ = false;
  uint64_t next_id_ = 1;
  uint64_t inflight_ = 0;  // commands hiredis still holds callbacks for
  std::unordered_map<uint64_t, std::unique_ptr<Pending>> pending_;
  uint64_t last_error_log_us_ = 0;
};

}  // namespace edge::ratelimit
