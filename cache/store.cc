#include "cache/store.h"

#include <algorithm>

#include "gateway/loop.h"

namespace edge::cache {
namespace {
constexpr size_t kMaxShards = 16;

std::mutex g_shared_mu;
std::weak_ptr<Store> g_shared;

bool sameVary(const Entry& a, const Entry& b) {
  return a.vary == b.vary;
}
}  // namespace

Store::Store(uint64_t memory, uint64_t max_object) : memory_(memory), max_object_(max_object) {
  // Every shard must be able to hold a few of the largest objects: fewer shards when the
  // memory is small next to max_object.
  size_t n = kMaxShards;
  while (n > 1 && memory / n < 4 * std::max<uint64_t>(max_object, 1)) n /= 2;
  for (size_t i = 0; i < n; ++i) {
    auto s = std::make_unique<Shard>();
    s->order = S3Fifo(static_cast<size_t>(memory / n));
    shards_.push_back(std::move(s));
  }
}

Store::~Store() {
  for (auto& s : shards_)
    for (auto& [key, variants] : s->index)
      for (Node* n : variants) delete n;
}

std::shared_ptr<Store> Store::shared(uint64_t memory, uint64_t max_object) {
  std::lock_guard<std::mutex> lock(g_shared_mu);
  auto s = g_shared.lock();
  if (!s || s->memory() != memory || s->maxObject() != max_object) {
    s = std::make_shared<Store>(memory, max_object);
    g_shared = s;
  }
  return s;
}

std::shared_ptr<Store> Store::current() {
  std::lock_guard<std::mutex> lock(g_shared_mu);
  return g_shared.lock();
}

Store::Shard& Store::shardFor(std::string_view key, uint64_t* hash) {
  uint64_t h = std::hash<std::string_view>{}(key);
  if (hash) *hash = h;
  return *shards_[(h >> 8) % shards_.size()];
}

EntryPtr Store::find(std::string_view key, const std::function<bool(const Entry&)>& match,
                     bool* any_variant) {
  Shard& s = shardFor(key);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.index.find(key);
  if (it == s.index.end()) return nullptr;
  for (Node* n : it->second) {
    if (n->entry->vary.empty() || match(*n->entry)) {
      s.order.touch(&n->ev);
      return n->entry;
    }
  }
  if (any_variant) *any_variant = true;
  return nullptr;
}

void Store::dropNode(Shard& s, Node* n, std::vector<EntryPtr>& dropped) {
  s.order.remove(&n->ev);
  auto it = s.index.find(n->entry->key);
  if (it != s.index.end()) {
    std::erase(it->second, n);
    if (it->second.empty()) s.index.erase(it);
  }
  bytes_.fetch_sub(n->ev.charge, std::memory_order_relaxed);
  objects_.fetch_sub(1, std::memory_order_relaxed);
  dropped.push_back(std::move(n->entry));
  delete n;
}

bool Store::insert(EntryPtr e) {
  size_t charge = e->charge();
  uint64_t hash = 0;
  Shard& s = shardFor(e->key, &hash);
  if (charge > s.order.capacity() || e->body.size() > max_object_) return false;
  std::vector<EntryPtr> dropped;  // freed after the lock
  {
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.index.find(e->key);
    if (it != s.index.end()) {
      Variants& vs = it->second;
      Node* same = nullptr;
      for (Node* n : vs)
        if (sameVary(*n->entry, *e)) same = n;
      if (same) {
        dropNode(s, same, dropped);
      } else if (vs.size() >= kMaxVariants) {
        dropNode(s, vs.front(), dropped);
      }
    }
    while (s.order.used() + charge > s.order.capacity()) {
      EvictNode* victim = s.order.evictOne();
      if (!victim) break;
      // Put it back so dropNode's remove() is a no-op on an untracked node.
      dropNode(s, reinterpret_cast<Node*>(victim), dropped);
      evictions_.fetch_add(1, std::memory_order_relaxed);
    }
    auto* n = new Node;
    n->ev.hash = hash;
    n->ev.charge = charge;
    n->entry = std::move(e);
    s.index[n->entry->key].push_back(n);
    s.order.insert(&n->ev);
    bytes_.fetch_add(charge, std::memory_order_relaxed);
    objects_.fetch_add(1, std::memory_order_relaxed);
  }
  return true;
}

void Store::replace(const EntryPtr& old, EntryPtr fresh) {
  {
    Shard& s = shardFor(old->key);
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.index.find(old->key);
    if (it == s.index.end()) return;
    bool present = false;
    for (Node* n : it->second) present |= n->entry == old;
    if (!present) return;
  }
  insert(std::move(fresh));  // replaces the variant with the same Vary values
}

template <typename Pred>
size_t Store::purgeIf(Pred pred) {
  size_t purged = 0;
  for (auto& sp : shards_) {
    Shard& s = *sp;
    std::vector<EntryPtr> dropped;
    std::lock_guard<std::mutex> lock(s.mu);
    std::vector<Node*> victims;
    for (auto& [key, variants] : s.index)
      for (Node* n : variants)
        if (pred(*n->entry)) victims.push_back(n);
    for (Node* n : victims) dropNode(s, n, dropped);
    purged += victims.size();
  }
  return purged;
}

size_t Store::purgeKey(std::string_view key) {
  Shard& s = shardFor(key);
  std::vector<EntryPtr> dropped;
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.index.find(key);
  if (it == s.index.end()) return 0;
  Variants vs = it->second;
  for (Node* n : vs) dropNode(s, n, dropped);
  return vs.size();
}

size_t Store::purgePrefix(std::string_view prefix) {
  return purgeIf([&](const Entry& e) { return e.key.starts_with(prefix); });
}

size_t Store::purgeTag(std::string_view tag) {
  return purgeIf(
      [&](const Entry& e) { return std::find(e.tags.begin(), e.tags.end(), tag) != e.tags.end(); });
}

bool Store::lead(std::string_view key) {
  Shard& s = shardFor(key);
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.in_flight.find(key) != s.in_flight.end()) return false;
  s.in_flight.emplace(std::string(key), std::vector<CollapseWaiter>{});
  return true;
}

bool Store::leadOrWait(std::string_view key, CollapseWaiter w, bool* queued) {
  Shard& s = shardFor(key);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.in_flight.find(key);
  if (it == s.in_flight.end()) {
    s.in_flight.emplace(std::string(key), std::vector<CollapseWaiter>{});
    *queued = false;
    return true;
  }
  *queued = it->second.size() < kMaxWaiters;
  if (*queued) it->second.push_back(std::move(w));
  return false;
}

void Store::finish(std::string_view key, bool stored) {
  std::vector<CollapseWaiter> waiters;
  {
    Shard& s = shardFor(key);
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.in_flight.find(key);
    if (it == s.in_flight.end()) return;
    waiters = std::move(it->second);
    s.in_flight.erase(it);
  }
  for (auto& w : waiters) w.loop->post([fn = std::move(w.wake), stored] { fn(stored); });
}

}  // namespace edge::cache
