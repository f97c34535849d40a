#pragma once
// What the cache does for one exchange of a cached route: the lookup, the
// wait on a collapsed miss, the tap that stores the origin's answer while it
// streams, revalidation and stale serving, and the Cache-Status it reports.
// Owned by the exchange (Exchange::setCacheState); loop thread only.
#include <cstdint>
#include <memory>
#include <string>

#include "cache/cache_policy.h"
#include "cache/freshness.h"
#include "cache/store.h"
#include "conf/config.h"
#include "gateway/exchange.h"

namespace edge::cache {

class CacheState;

// Shared with the wake-up a collapsed miss posts: the state clears it when it goes.
struct WaitToken {
  CacheState* state = nullptr;
};

class CacheState final : public Deletable, public ResponseObserver {
 public:
  CacheState(CachePolicy& owner, Exchange& ex, const conf::CachePolicy& policy,
             std::shared_ptr<Store> store);
  ~CacheState() override;

  // A client's request: kContinue (to the origin), kRespond (answered) or kPause (waiting
  // for a collapsed miss).
  PolicyResult begin();
  // The request is a background refresh of `stale`, whose collapsing slot it holds.
  void prepareRefresh(EntryPtr stale);
  bool isRefresh() const { return refresh_; }
  PolicyResult beginRefresh();
  // The response head is about to go out: Cache-Status, metrics, the access log.
  void decorate(ResponseOut& head);

  // ResponseObserver
  bool onResponseHead(const ResponseOut& head) override;
  void onResponseBody(const char* data, size_t len) override;
  void onResponseEnd(bool complete) override;
  void onTakenOver() override;

 private:
  PolicyResult lookup();
  // Sends the request on to the origin, storing the answer when allowed.
  PolicyResult toOrigin();
  void onWake(bool stored, bool timed_out);
  // Answers from e: 200/304/206/416 as the request's validators and Range say.
  void serve(const EntryPtr& e);
  bool varyMatches(const Entry& e) const;
  void requestValue(std::string_view name, std::string& out) const;
  std::shared_ptr<Entry> startEntry(const ResponseOut& head, int64_t now);
  std::shared_ptr<Entry> refreshed(const Entry& old, const ResponseOut& not_modified,
                                   int64_t now) const;
  void invalidate(const ResponseOut& head);
  void finishLead(bool stored);
  void setStatus(Result r, const char* fwd, const char* detail, bool stored, int64_t ttl,
                 bool with_ttl, uint16_t fwd_status = 0);
  PolicyTimes times() const;

  CachePolicy& owner_;
  Exchange& ex_;
  const conf::CachePolicy& policy_;  // inside the exchange's snapshot
  std::shared_ptr<Store> store_;
  std::string key_;
  RequestDirectives rd_;
  Result result_ = Result::kMiss;
  std::string status_;  // the Cache-Status value
  std::string age_;     // Age of a served entry
  std::string content_range_;
  EntryPtr stale_;                   // the entry being revalidated, or kept for stale-if-error
  EntryPtr serving_;                 // what onTakenOver() answers with
  std::shared_ptr<Entry> building_;  // the origin's answer being stored
  std::shared_ptr<WaitToken> token_;
  EventPtr wait_timer_;
  int64_t request_time_ = 0;
  bool head_ = false;
  bool unsafe_ = false;
  bool authenticated_ = false;
  bool vary_miss_ = false;
  bool leading_ = false;
  bool waiting_ = false;
  bool collapsed_ = false;
  bool refresh_ = false;
  bool revalidating_ = false;
  bool recorded_ = false;
};

}  // namespace edge::cache
