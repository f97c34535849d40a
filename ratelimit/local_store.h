#pragma once
// The in-process bucket store shared by all workers: sharded by key hash, one
// mutex per shard (a decision holds one lock for a few hundred nanoseconds,
// so workers meet on a shard only by chance), O(1) per decision, and bounded:
// at most max_keys buckets, the least recently used evicted first, idle ones
// (full buckets, which carry no information) dropped on the way.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "ratelimit/gcra.h"

namespace edge::ratelimit {

// One bucket to decide: its key hash, its limit, and whether a refusal counts
// (enforce) or is only reported (shadow).
struct BucketRequest {
  uint64_t key = 0;
  Limit limit;
  bool shadow = false;
};

class LocalStore {
 public:
  explicit LocalStore(uint64_t max_keys);
  LocalStore(const LocalStore&) = delete;
  LocalStore& operator=(const LocalStore&) = delete;

  // The process-wide store for this max_keys. A reload that changes max_keys
  // gets a new, empty store; the old one lives while a worker still holds it.
  // Any thread.
  static std::shared_ptr<LocalStore> shared(uint64_t max_keys);
  // Buckets held by the current shared store (for the metrics scrape).
  static uint64_t sharedSize();

  // Any thread. Decides n buckets at now_us (monotonic µs). A request is
  // charged to its enforced buckets only when all of them allow it, so a
  // refusal by one policy does not also drain another; a shadow bucket is
  // charged when it alone allows.
  void decide(const BucketRequest* reqs, size_t n, int64_t now_us, Decision* out);

  uint64_t maxKeys() const { return max_keys_; }
  uint64_t size() const { return size_.load(std::memory_order_relaxed); }

 private:
  static constexpr uint32_t kNil = UINT32_MAX;
  struct Entry {
    uint64_t key = 0;
    int64_t tat = 0;
    uint32_t prev = kNil, next = kNil;  // LRU list, head = most recent
  };
  struct alignas(64) Shard {
    std::mutex mu;
    std::unordered_map<uint64_t, uint32_t> index;
    std::vector<Entry> entries;
    std::vector<uint32_t> free;
    uint32_t head = kNil, tail = kNil;
    uint32_t capacity = 0;
  };

  Shard& shardFor(uint64_t key) { return shards_[(key >> 7) % shards_.size()]; }
  // With the shard's lock held.
  int64_t peek(Shard& s, uint64_t key);
  void store(Shard& s, uint64_t key, int64_t tat, int64_t now_us);
  void unlink(Shard& s, uint32_t i);
  void pushFront(Shard& s, uint32_t i);
  void evict(Shard& s, uint32_t i);
  Decision decideOne(const BucketRequest& r, int64_t now_us, bool commit);

  uint64_t max_keys_;
  std::vector<Shard> shards_;
  std::atomic<uint64_t> size_{0};
};

}  // namespace edge::ratelimit
