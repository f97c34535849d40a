#include "ratelimit/local_store.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "ratelimit/key.h"

namespace edge::ratelimit {
namespace {

constexpr int64_t kSec = 1'000'000;
constexpr int64_t kStart = 1'000 * kSec;

BucketRequest req(uint64_t key, int64_t interval_us, int64_t burst, bool shadow = false) {
  BucketRequest r;
  r.key = key;
  r.limit.interval_us = interval_us;
  r.limit.burst = burst;
  r.shadow = shadow;
  return r;
}

Decision one(LocalStore& s, const BucketRequest& r, int64_t now) {
  Decision d;
  s.decide(&r, 1, now, &d);
  return d;
}

TEST(LocalStore, KeysAreIndependent) {
  LocalStore s(1000);
  auto a = req(localHash("a"), kSec, 2), b = req(localHash("b"), kSec, 2);
  EXPECT_TRUE(one(s, a, kStart).allowed);
  EXPECT_TRUE(one(s, a, kStart).allowed);
  EXPECT_FALSE(one(s, a, kStart).allowed);
  EXPECT_TRUE(one(s, b, kStart).allowed);
  EXPECT_EQ(s.size(), 2u);
}

TEST(LocalStore, FloodOfDistinctKeysStaysUnderMaxKeys) {
  LocalStore s(1000);
  // 200k distinct keys, none idle (a long interval): the LRU ones go.
  for (uint64_t i = 0; i < 200000; ++i) {
    ASSERT_TRUE(one(s, req(localHash(std::to_string(i)), 3600 * kSec, 5), kStart).allowed);
    ASSERT_LE(s.size(), 1000u);
  }
  EXPECT_EQ(s.size(), 1000u);
}

TEST(LocalStore, SmallMaxKeysIsExact) {
  for (uint64_t max : {1, 3, 63, 64, 65, 130}) {
    LocalStore s(max);
    // The hash is seeded per process: enough keys that every shard (capacity
    // 1-3 here) fills up whatever the seed, not only on average.
    for (uint64_t i = 0; i < 200 * max + 200; ++i)
      one(s, req(localHash("k" + std::to_string(i)), 3600 * kSec, 5), kStart);
    EXPECT_EQ(s.size(), max) << max;
  }
}

TEST(LocalStore, RecentlyUsedKeySurvivesEviction) {
  LocalStore s(1);  // one shard, one slot: the extreme case
  auto hot = req(localHash("hot"), 3600 * kSec, 1);
  EXPECT_TRUE(one(s, hot, kStart).allowed);
  EXPECT_FALSE(one(s, hot, kStart).allowed);
  // A second key evicts it (capacity 1): the bound wins over memory of a key.
  EXPECT_TRUE(one(s, req(localHash("other"), 3600 * kSec, 1), kStart).allowed);
  EXPECT_EQ(s.size(), 1u);
}

TEST(LocalStore, IdleBucketsAreDroppedOnTheWay) {
  LocalStore s(100000);
  for (int i = 0; i < 500; ++i) one(s, req(localHash(std::to_string(i)), kSec, 5), kStart);
  EXPECT_EQ(s.size(), 500u);
  // Much later all of them are full (idle): new traffic drops them as it
  // passes through their shards, though max_keys is far away.
  for (int i = 0; i < 5000; ++i)
    one(s, req(localHash("new" + std::to_string(i % 1000)), kSec, 5), kStart + 3600 * kSec);
  EXPECT_EQ(s.size(), 1000u);
}

// Room for many keys per shard in the next two: with a small max_keys, two keys
// may share a one-bucket shard (the hash seed is random) and evict each other.
TEST(LocalStore, AllEnforcedMustAllowAndOnlyThenCharge) {
  LocalStore s(100000);
  BucketRequest r[2] = {req(localHash("x"), 3600 * kSec, 3), req(localHash("y"), 3600 * kSec, 1)};
  Decision d[2];
  s.decide(r, 2, kStart, d);
  EXPECT_TRUE(d[0].allowed && d[1].allowed);
  s.decide(r, 2, kStart, d);
  EXPECT_TRUE(d[0].allowed);
  EXPECT_FALSE(d[1].allowed);
  // The refusal by y did not cost x a token: x alone still has 2.
  EXPECT_TRUE(one(s, r[0], kStart).allowed);
  EXPECT_TRUE(one(s, r[0], kStart).allowed);
  EXPECT_FALSE(one(s, r[0], kStart).allowed);
}

TEST(LocalStore, ShadowNeverBlocksOthers) {
  LocalStore s(100000);
  BucketRequest r[2] = {req(localHash("e"), 3600 * kSec, 5),
                        req(localHash("s"), 3600 * kSec, 1, /*shadow=*/true)};
  Decision d[2];
  s.decide(r, 2, kStart, d);
  EXPECT_TRUE(d[0].allowed && d[1].allowed);
  s.decide(r, 2, kStart, d);
  EXPECT_FALSE(d[1].allowed);  // reported ...
  EXPECT_TRUE(d[0].allowed);
  EXPECT_EQ(d[0].remaining, 3);  // ... and the enforced bucket was charged
}

TEST(LocalStore, ConcurrentWorkersNeverOverdraw) {
  LocalStore s(1000);
  const auto r = req(localHash("shared"), 3600 * kSec, 100);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) allowed += one(s, r, kStart).allowed;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 100);
}

TEST(LocalStore, SharedStoreIsPerMaxKeys) {
  auto a = LocalStore::shared(77);
  auto b = LocalStore::shared(77);
  EXPECT_EQ(a.get(), b.get());
  auto c = LocalStore::shared(78);
  EXPECT_NE(a.get(), c.get());
  EXPECT_EQ(c->maxKeys(), 78u);
}

}  // namespace
}  // namespace edge::ratelimit
