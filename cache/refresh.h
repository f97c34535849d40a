#pragma once
// A background refresh (stale-while-revalidate): an exchange of its own, with
// a copy of the request that found the stale entry, run from the cache step
// on; its "client" discards the response, the cache step stores it. Owned by
// the worker's CachePolicy; loop thread only.
#include <memory>

#include "gateway/exchange.h"

namespace edge::cache {

class CachePolicy;

class Refresh final : public Deletable, public Downstream {
 public:
  Refresh(CachePolicy& owner, const http1::RequestHead& req, const ClientInfo& client);
  ~Refresh() override;
  // The exchange, to be prepared (cache state) and started by the policy.
  Exchange& exchange() { return *exchange_; }

  // Downstream: everything is dropped.
  void sendHead(const ResponseOut&) override {}
  void sendBody(const char*, size_t) override {}
  void sendBodyBuffer(evbuffer* buf, size_t len) override;
  void finishResponse() override;
  void abortResponse() override;
  void flush() override {}
  size_t bufferedOut() const override { return 0; }
  size_t bufferedIn() const override { return 0; }
  void resumeRequestBody() override {}

 private:
  CachePolicy& owner_;
  http1::RequestHead req_;
  ClientInfo client_;
  std::unique_ptr<Exchange> exchange_;
  bool done_ = false;
};

}  // namespace edge::cache
