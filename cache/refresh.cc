#include "cache/refresh.h"

#include <event2/buffer.h>

#include "cache/cache_policy.h"
#include "gateway/loop.h"
#include "gateway/worker.h"

namespace edge::cache {

Refresh::Refresh(CachePolicy& owner, const http1::RequestHead& req, const ClientInfo& client)
    : owner_(owner), req_(req), client_(client) {
  Worker& w = owner_.worker();
  exchange_ = std::make_unique<Exchange>(w, *this, w.snapshot(), req_, client_, Loop::nowMicros());
}

Refresh::~Refresh() = default;

void Refresh::sendBodyBuffer(evbuffer* buf, size_t len) {
  evbuffer_drain(buf, len);
}

void Refresh::finishResponse() {
  if (done_) return;
  done_ = true;
  owner_.refreshDone(this);
}

void Refresh::abortResponse() {
  finishResponse();
}

}  // namespace edge::cache
