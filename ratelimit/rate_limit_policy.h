#pragma once
// The rate-limit step of the chain (after host and redirects, before the
// cache and the upstream). One instance per worker, built on the main thread
// with the worker; every other call on the worker's loop thread.
//
// For a route naming policies it decides every one of them (all must allow),
// against the process-wide local store or, with `store: redis`, against the
// worker's Redis connection (it then pauses the exchange until the answer or
// the timeout). A refusal is a 429 with Retry-After; every response of such a
// route carries RateLimit-Policy and RateLimit.
#include <cstdint>
#include <memory>
#include <string>

#include "gateway/exchange.h"
#include "ratelimit/local_store.h"
#include "ratelimit/redis_store.h"

namespace edge::ratelimit {

// Routes may name at most this many policies (config lists are short).
inline constexpr size_t kMaxPoliciesPerRoute = 16;

class RateLimitPolicy final : public Policy {
 public:
  // Clock in monotonic microseconds; tests inject their own.
  using Clock = int64_t (*)();
  RateLimitPolicy(Worker& worker, const conf::Config& initial, Clock clock = nullptr);
  ~RateLimitPolicy() override;

  const char* name() const override { return "ratelimit"; }
  PolicyResult onRequest(Exchange& ex) override;
  void onResponseHead(Exchange& ex, ResponseOut& head) override;

 private:
  friend class ExchangeState;
  LocalStore& local(uint64_t max_keys);
  // A policy's decision reached: metrics, a log line when it refuses.
  void record(Exchange& ex, const conf::RateLimitPolicy& p, const Decision* d, bool error,
              std::string_view key);

  Worker& worker_;
  Clock clock_;
  std::shared_ptr<LocalStore> local_;
  std::unique_ptr<RedisStore> redis_;
  std::string key_scratch_;
  // Refusal log lines: at most one a second per worker, the rest counted.
  uint64_t last_log_us_ = 0;
  uint64_t unlogged_ = 0;
};

}  // namespace edge::ratelimit
