#pragma once
// Eviction orders for the store, by charge (bytes): S3-FIFO (Yang et al.,
// SOSP 2023), which the store uses, and plain LRU, kept for the unit
// benchmark that compares the two. S3-FIFO is scan-resistant: a new object
// enters a small FIFO and reaches the main FIFO only if it is asked for again
// before it leaves, so a flood of one-time URLs passes through the small
// queue without flushing the popular objects; a ghost FIFO of recently
// evicted key hashes sends a returning object straight to the main queue.
// Not thread-safe: the store calls it under the shard's lock.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_map>

namespace edge::cache {

// Embedded in whatever is evicted; the eviction order never owns it.
struct EvictNode {
  EvictNode* prev = nullptr;
  EvictNode* next = nullptr;
  uint64_t hash = 0;  // of the key: what the ghost queue remembers
  size_t charge = 0;
  uint8_t freq = 0;   // accesses since insertion or the last pass, capped at 3
  uint8_t queue = 0;  // 0 none, 1 small, 2 main
};

class NodeList {
 public:
  void pushFront(EvictNode* n);
  void unlink(EvictNode* n);
  EvictNode* back() const { return tail_; }
  bool empty() const { return head_ == nullptr; }

 private:
  EvictNode* head_ = nullptr;
  EvictNode* tail_ = nullptr;
};

class S3Fifo {
 public:
  explicit S3Fifo(size_t capacity) : capacity_(capacity) {}
  void insert(EvictNode* n);
  void touch(EvictNode* n) {
    if (n->freq < 3) ++n->freq;
  }
  void remove(EvictNode* n);
  // Takes the next victim out of the queues; nullptr when nothing is tracked.
  EvictNode* evictOne();
  size_t used() const { return small_bytes_ + main_bytes_; }
  size_t capacity() const { return capacity_; }

 private:
  void rememberGhost(uint64_t hash);
  bool takeGhost(uint64_t hash);

  size_t capacity_;
  NodeList small_, main_;
  size_t small_bytes_ = 0, main_bytes_ = 0, count_ = 0;
  std::deque<uint64_t> ghost_fifo_;
  std::unordered_map<uint64_t, uint32_t> ghost_;
};

class Lru {
 public:
  explicit Lru(size_t capacity) : capacity_(capacity) {}
  void insert(EvictNode* n);
  void touch(EvictNode* n);
  void remove(EvictNode* n);
  EvictNode* evictOne();
  size_t used() const { return bytes_; }
  size_t capacity() const { return capacity_; }

 private:
  size_t capacity_;
  NodeList list_;
  size_t bytes_ = 0;
};

}  // namespace edge::cache
