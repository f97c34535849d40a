#include "cache/cache_policy.h"

#include "cache/cache_state.h"
#include "cache/refresh.h"
#include "gateway/worker.h"

namespace edge::cache {

const char* resultName(Result r) {
  switch (r) {
    case Result::kHit:
      return "hit";
    case Result::kMiss:
      return "miss";
    case Result::kStale:
      return "stale";
    case Result::kRevalidated:
      return "revalidated";
    case Result::kBypass:
      return "bypass";
  }
  return "miss";
}

CachePolicy::CachePolicy(Worker& worker, const conf::Config& initial)
    : worker_(worker), body_buf_(evbuffer_new()) {
  storeFor(initial);
}

CachePolicy::~CachePolicy() = default;

Store& CachePolicy::storeFor(const conf::Config& cfg) {
  if (!store_ || store_->memory() != cfg.cache.memory ||
      store_->maxObject() != cfg.cache.max_object)
    store_ = Store::shared(cfg.cache.memory, cfg.cache.max_object);
  return *store_;
}

size_t CachePolicy::chainIndex() {
  if (chain_index_ == SIZE_MAX) {
    const auto& chain = worker_.policies();
    for (size_t i = 0; i < chain.size(); ++i)
      if (chain[i].get() == this) chain_index_ = i;
  }
  return chain_index_;
}

PolicyResult CachePolicy::onRequest(Exchange& ex) {
  if (auto* st = static_cast<CacheState*>(ex.cacheState()); st && st->isRefresh())
    return st->beginRefresh();
  const conf::Route* route = ex.route();
  if (!route || route->cache.empty()) return PolicyResult::kContinue;
  const conf::Config& cfg = ex.snapshot().config();
  auto it = cfg.cache.policies.find(route->cache);
  if (it == cfg.cache.policies.end()) return PolicyResult::kContinue;
  storeFor(cfg);
  auto state = std::make_unique<CacheState>(*this, ex, it->second, store_);
  CacheState* raw = state.get();
  ex.setCacheState(std::move(state));
  return raw->begin();
}

void CachePolicy::onResponseHead(Exchange& ex, ResponseOut& head) {
  if (auto* st = static_cast<CacheState*>(ex.cacheState())) st->decorate(head);
}

void CachePolicy::startRefresh(Exchange& ex, EntryPtr stale, std::shared_ptr<Store> store) {
  const conf::Config& cfg = ex.snapshot().config();
  auto it = cfg.cache.policies.find(ex.route()->cache);
  auto r = std::make_unique<Refresh>(*this, ex.request(), ex.client());
  Exchange& rex = r->exchange();
  rex.setRoute(ex.site(), ex.route());
  auto state = std::make_unique<CacheState>(*this, rex, it->second, std::move(store));
  state->prepareRefresh(std::move(stale));
  rex.setCacheState(std::move(state));
  Refresh* raw = r.get();
  refreshes_.emplace(raw, std::move(r));
  // Posted: the refresh must not run inside the exchange that is answering the client.
  worker_.loop().post([this, raw] {
    if (refreshes_.count(raw)) raw->exchange().startAt(chainIndex());
  });
}

void CachePolicy::refreshDone(Refresh* r) {
  auto it = refreshes_.find(r);
  if (it == refreshes_.end()) return;
  worker_.loop().deferDelete(std::move(it->second));
  refreshes_.erase(it);
}

}  // namespace edge::cache
