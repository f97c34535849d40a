#pragma once
// The in-memory store shared by every worker. Sharded by key hash, one mutex
// per shard, held only to find, insert or drop a reference (never while a
// body is copied or written). Bounded by cache.memory: each shard owns an
// equal part and evicts in S3-FIFO order until a new entry fits.
//
// It also keeps the table of misses in flight (request collapsing): the
// first miss for a key leads, the others wait to be woken on their own loop.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cache/entry.h"
#include "cache/eviction.h"

namespace edge {
class Loop;
}

namespace edge::cache {

using EntryPtr = std::shared_ptr<const Entry>;

// A request waiting for a collapsed miss. The leader posts wake() onto `loop`; the waiter
// clears `alive` (on that loop) when it stops caring.
struct CollapseWaiter {
  Loop* loop = nullptr;
  std::function<void(bool stored)> wake;
};

class Store {
 public:
  // At most this many Vary variants per key; a new one replaces the oldest.
  static constexpr size_t kMaxVariants = 8;
  // At most this many requests wait on one collapsed miss; more go to the origin.
  static constexpr size_t kMaxWaiters = 4096;

  Store(uint64_t memory, uint64_t max_object);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The process-wide store for these sizes. A reload that changes them gets a new, empty
  // store; the old one lives while a worker still holds it. Any thread.
  static std::shared_ptr<Store> shared(uint64_t memory, uint64_t max_object);
  // The current process-wide store, or null (admin purge, metrics).
  static std::shared_ptr<Store> current();

  uint64_t memory() const { return memory_; }
  uint64_t maxObject() const { return max_object_; }

  // The variant under key that `match` accepts; sets *any_variant when the key has
  // variants but none matched (a Vary miss). Any thread.
  EntryPtr find(std::string_view key, const std::function<bool(const Entry&)>& match,
                bool* any_variant);
  // Publishes e (replacing the variant with the same Vary values). False when it is too big.
  bool insert(EntryPtr e);
  // Replaces `old` by `fresh` if `old` is still stored (a revalidation).
  void replace(const EntryPtr& old, EntryPtr fresh);

  // Purges; each returns how many entries (variants) went.
  size_t purgeKey(std::string_view key);
  size_t purgePrefix(std::string_view prefix);
  size_t purgeTag(std::string_view tag);

  // Collapsing. lead(): true if the caller is now the only request in flight for key;
  // false means another one is, and `w` was queued (or, when too many wait, not:
  // *queued says). finish(): the leader is done; every waiter is woken.
  bool lead(std::string_view key);
  bool leadOrWait(std::string_view key, CollapseWaiter w, bool* queued);
  void finish(std::string_view key, bool stored);

  uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  uint64_t objects() const { return objects_.load(std::memory_order_relaxed); }
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }

 private:
  struct Node {
    EvictNode ev;  // first member: EvictNode* converts back to Node*
    EntryPtr entry;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Variants = std::vector<Node*>;
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Variants, StringHash, std::equal_to<>> index;
    std::unordered_map<std::string, std::vector<CollapseWaiter>, StringHash, std::equal_to<>>
        in_flight;
    S3Fifo order{0};
  };

  Shard& shardFor(std::string_view key, uint64_t* hash = nullptr);
  // With the shard's lock held: unlinks and frees one node; the entry reference is moved
  // to `dropped` so that its memory is freed after the lock is released.
  void dropNode(Shard& s, Node* n, std::vector<EntryPtr>& dropped);
  template <typename Pred>
  size_t purgeIf(Pred pred);

  uint64_t memory_;
  uint64_t max_object_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<uint64_t> bytes_{0}, objects_{0}, evictions_{0};
};

}  // namespace edge::cache
