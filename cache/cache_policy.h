#pragma once
// The cache step of the chain, between rate limiting and the upstream. One
// instance per worker, built with it; every call on the worker's loop thread.
//
// For a route naming a cache policy it answers fresh hits from the shared
// store (the body written by reference, never copied), collapses concurrent
// misses for one key into one origin request, stores what RFC 9111 and
// SPEC.md allow while it streams to the client, revalidates stale entries,
// serves stale ones per RFC 5861, and puts Cache-Status on every response of
// the route. Per-exchange work lives in CacheState (cache_state.h).
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "cache/hit_window.h"
#include "cache/store.h"
#include "gateway/exchange.h"
#include "gateway/loop.h"

namespace edge::cache {

class Refresh;

// What happened to a request, as edgegate_cache_requests_total{result} and the access log's
// `cache` field say it.
enum class Result : uint8_t { kHit, kMiss, kStale, kRevalidated, kBypass };
inline constexpr size_t kResultCount = 5;
const char* resultName(Result r);

class CachePolicy final : public Policy {
 public:
  CachePolicy(Worker& worker, const conf::Config& initial);
  ~CachePolicy() override;

  const char* name() const override { return "cache"; }
  PolicyResult onRequest(Exchange& ex) override;
  void onResponseHead(Exchange& ex, ResponseOut& head) override;

  // For CacheState.
  Worker& worker() { return worker_; }
  // An empty buffer for handing a stored body to the client by reference.
  evbuffer* bodyBuffer() { return body_buf_.get(); }
  // Refreshes `stale` in the background with a copy of ex's request; the caller leads the
  // key's collapsing slot, which the refresh releases.
  void startRefresh(Exchange& ex, EntryPtr stale, std::shared_ptr<Store> store);
  void refreshDone(Refresh* r);
  // The status page's per-route hit ratio.
  HitWindow& hitWindow() { return hit_window_; }

 private:
  Store& storeFor(const conf::Config& cfg);
  size_t chainIndex();

  Worker& worker_;
  std::shared_ptr<Store> store_;
  EvbufferPtr body_buf_;
  size_t chain_index_ = SIZE_MAX;
  std::unordered_map<Refresh*, std::unique_ptr<Refresh>> refreshes_;
  HitWindow hit_window_;
};

}  // namespace edge::cache
