// The bucket math with an injected clock: no sleeps, exact microseconds.
#include "ratelimit/gcra.h"

#include <gtest/gtest.h>

#include <chrono>

namespace edge::ratelimit {
namespace {

constexpr int64_t kSec = 1'000'000;
constexpr int64_t kStart = 1'000 * kSec;  // an arbitrary monotonic origin

conf::RateLimitPolicy policy(uint64_t rate, std::chrono::milliseconds window, uint64_t burst) {
  conf::RateLimitPolicy p;
  p.name = "p";
  p.rate = rate;
  p.window = window;
  p.burst = burst;
  return p;
}

// Runs a bucket through requests at given times, keeping its TAT.
struct Bucket {
  Limit limit;
  int64_t tat = 0;
  Decision at(int64_t now) {
    int64_t next = 0;
    Decision d = decide(limit, now, tat, &next);
    tat = next;
    return d;
  }
};

TEST(Gcra, LimitFromPolicy) {
  Limit l = limitFor(policy(10, std::chrono::minutes(1), 5));
  EXPECT_EQ(l.interval_us, 6 * kSec);
  EXPECT_EQ(l.burst, 5);
  // burst 0 behaves as a bucket of one token.
  EXPECT_EQ(limitFor(policy(10, std::chrono::minutes(1), 0)).burst, 1);
}

TEST(Gcra, BurstPassesThenRefuses) {
  Bucket b{limitFor(policy(10, std::chrono::minutes(1), 5))};
  for (int i = 0; i < 5; ++i) {
    Decision d = b.at(kStart);
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.remaining, 4 - i);
    EXPECT_EQ(d.reset_us, (i + 1) * 6 * kSec);  // full again after i+1 tokens refill
  }
  Decision d = b.at(kStart);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.remaining, 0);
  EXPECT_EQ(d.retry_after_us, 6 * kSec);
  EXPECT_EQ(ceilSeconds(d.retry_after_us), 6);
  EXPECT_EQ(d.reset_us, 30 * kSec);
}

TEST(Gcra, RefusedRequestsCostNothing) {
  Bucket b{limitFor(policy(1, std::chrono::seconds(1), 1))};
  ASSERT_TRUE(b.at(kStart).allowed);
  const int64_t tat = b.tat;
  for (int i = 0; i < 100; ++i) ASSERT_FALSE(b.at(kStart + i * 1000).allowed);
  EXPECT_EQ(b.tat, tat);
  EXPECT_TRUE(b.at(kStart + kSec).allowed);
}

TEST(Gcra, RefillOneTokenPerInterval) {
  Bucket b{limitFor(policy(10, std::chrono::minutes(1), 5))};
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(b.at(kStart).allowed);
  // One microsecond short of the interval: still refused, Retry-After 1 s.
  Decision d = b.at(kStart + 6 * kSec - 1);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_us, 1);
  EXPECT_EQ(ceilSeconds(d.retry_after_us), 1);
  d = b.at(kStart + 6 * kSec);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 0);
  EXPECT_FALSE(b.at(kStart + 6 * kSec).allowed);
  // After 30 s idle the bucket is full again: 5 more pass.
  const int64_t later = kStart + 6 * kSec + 30 * kSec;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(b.at(later).allowed) << i;
  EXPECT_FALSE(b.at(later).allowed);
}

TEST(Gcra, NeverMoreThanBurstPlusRateOverTime) {
  // 5/1s, burst 3: in 10 s at most 3 + 50 requests, sent as fast as possible
  // (one attempt per millisecond).
  Bucket b{limitFor(policy(5, std::chrono::seconds(1), 3))};
  int allowed = 0;
  for (int64_t t = 0; t <= 10 * kSec; t += 1000) allowed += b.at(kStart + t).allowed;
  EXPECT_EQ(allowed, 3 + 50);
}

TEST(Gcra, RetryAfterIsExactAndRoundedUp) {
  Bucket b{limitFor(policy(10, std::chrono::minutes(1), 2))};
  ASSERT_TRUE(b.at(kStart).allowed);
  ASSERT_TRUE(b.at(kStart).allowed);
  Decision d = b.at(kStart + 2500 * 1000);  // 2.5 s later: 3.5 s to go
  ASSERT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_us, 3500 * 1000);
  EXPECT_EQ(ceilSeconds(d.retry_after_us), 4);
  // Waiting exactly Retry-After (rounded up) always passes.
  EXPECT_TRUE(b.at(kStart + 2500 * 1000 + ceilSeconds(d.retry_after_us) * kSec).allowed);
}

TEST(Gcra, LongWindow30PerHour) {
  Bucket b{limitFor(policy(30, std::chrono::hours(1), 10))};
  EXPECT_EQ(b.limit.interval_us, 120 * kSec);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(b.at(kStart).allowed);
  Decision d = b.at(kStart);
  ASSERT_FALSE(d.allowed);
  EXPECT_EQ(ceilSeconds(d.retry_after_us), 120);
  EXPECT_EQ(ceilSeconds(d.reset_us), 1200);
  // An hour of steady attempts every 10 s earns exactly 30 more.
  int allowed = 0;
  for (int64_t t = 10 * kSec; t <= 3600 * kSec; t += 10 * kSec) allowed += b.at(kStart + t).allowed;
  EXPECT_EQ(allowed, 30);
}

TEST(Gcra, HugeNumbersDoNotOverflow) {
  Limit l = limitFor(policy(1, std::chrono::hours(24 * 365), UINT64_MAX));
  EXPECT_GE(l.burst, 1);
  int64_t tat = 0;
  Decision d = decide(l, kStart, tat, &tat);
  EXPECT_TRUE(d.allowed);
  EXPECT_GE(d.remaining, 0);
}

TEST(Gcra, CeilSeconds) {
  EXPECT_EQ(ceilSeconds(0), 0);
  EXPECT_EQ(ceilSeconds(1), 1);
  EXPECT_EQ(ceilSeconds(kSec), 1);
  EXPECT_EQ(ceilSeconds(kSec + 1), 2);
}

}  // namespace
}  // namespace edge::ratelimit
