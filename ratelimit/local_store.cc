#include "ratelimit/local_store.h"

#include <algorithm>

namespace edge::ratelimit {
namespace {
constexpr uint64_t kMaxShards = 64;

std::mutex g_shared_mu;
std::weak_ptr<LocalStore> g_shared;
}  // namespace

LocalStore::LocalStore(uint64_t max_keys)
    : max_keys_(std::max<uint64_t>(max_keys, 1)),
      // Never more shards than keys: every shard must hold at least one
      // bucket, and the shards' capacities must add up to max_keys exactly.
      shards_(std::min(kMaxShards, max_keys_)) {
  const uint64_t n = shards_.size();
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t cap = max_keys_ / n + (i < max_keys_ % n ? 1 : 0);
    shards_[i].capacity = static_cast<uint32_t>(std::min<uint64_t>(cap, UINT32_MAX - 1));
  }
}

std::shared_ptr<LocalStore> LocalStore::shared(uint64_t max_keys) {
  std::lock_guard<std::mutex> lock(g_shared_mu);
  auto s = g_shared.lock();
  if (!s || s->maxKeys() != std::max<uint64_t>(max_keys, 1)) {
    s = std::make_shared<LocalStore>(max_keys);
    g_shared = s;
  }
  return s;
}

uint64_t LocalStore::sharedSize() {
  std::lock_guard<std::mutex> lock(g_shared_mu);
  auto s = g_shared.lock();
  return s ? s->size() : 0;
}

int64_t LocalStore::peek(Shard& s, uint64_t key) {
  auto it = s.index.find(key);
  return it == s.index.end() ? 0 : s.entries[it->second].tat;
}

void LocalStore::unlink(Shard& s, uint32_t i) {
  Entry& e = s.entries[i];
  if (e.prev != kNil)
    s.entries[e.prev].next = e.next;
  else
    s.head = e.next;
  if (e.next != kNil)
    s.entries[e.next].prev = e.prev;
  else
    s.tail = e.prev;
  e.prev = e.next = kNil;
}

void LocalStore::pushFront(Shard& s, uint32_t i) {
  Entry& e = s.entries[i];
  e.prev = kNil;
  e.next = s.head;
  if (s.head != kNil) s.entries[s.head].prev = i;
  s.head = i;
  if (s.tail == kNil) s.tail = i;
}

void LocalStore::evict(Shard& s, uint32_t i) {
  unlink(s, i);
  s.index.erase(s.entries[i].key);
  s.free.push_back(i);
  size_.fetch_sub(1, std::memory_order_relaxed);
}

void LocalStore::store(Shard& s, uint64_t key, int64_t tat, int64_t now_us) {
  // A full bucket (TAT in the past) is the same as no bucket: dropping the
  // least recently used one when it is idle keeps memory near the number of
  // clients actually being limited, not the number ever seen.
  if (s.tail != kNil && s.entries[s.tail].tat <= now_us && s.entries[s.tail].key != key)
    evict(s, s.tail);
  auto it = s.index.find(key);
  if (it != s.index.end()) {
    Entry& e = s.entries[it->second];
    e.tat = tat;
    if (s.head != it->second) {
      unlink(s, it->second);
      pushFront(s, it->second);
    }
    return;
  }
  if (s.index.size() >= s.capacity) evict(s, s.tail);  // the LRU one, idle or not
  uint32_t i;
  if (!s.free.empty()) {
    i = s.free.back();
    s.free.pop_back();
  } else {
    i = static_cast<uint32_t>(s.entries.size());
    s.entries.emplace_back();
  }
  s.entries[i].key = key;
  s.entries[i].tat = tat;
  pushFront(s, i);
  s.index.emplace(key, i);
  size_.fetch_add(1, std::memory_order_relaxed);
}

Decision LocalStore::decideOne(const BucketRequest& r, int64_t now_us, bool commit) {
  Shard& s = shardFor(r.key);
  std::lock_guard<std::mutex> lock(s.mu);
  int64_t tat = 0;
  Decision d = ratelimit::decide(r.limit, now_us, peek(s, r.key), &tat);
  if (commit && d.allowed) store(s, r.key, tat, now_us);
  return d;
}

void LocalStore::decide(const BucketRequest* reqs, size_t n, int64_t now_us, Decision* out) {
  if (n == 1) {
    out[0] = decideOne(reqs[0], now_us, true);
    return;
  }
  // Two passes: look, then charge. Another worker may move a bucket in
  // between; the second pass decides again under the lock, so a bucket is
  // never overdrawn, at worst a request is refused that would just have passed.
  bool enforced_ok = true;
  for (size_t i = 0; i < n; ++i) {
    out[i] = decideOne(reqs[i], now_us, reqs[i].shadow);
    if (!reqs[i].shadow && !out[i].allowed) enforced_ok = false;
  }
  if (!enforced_ok) return;
  for (size_t i = 0; i < n; ++i)
    if (!reqs[i].shadow) out[i] = decideOne(reqs[i], now_us, true);
}

}  // namespace edge::ratelimit
