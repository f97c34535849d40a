#include "gateway/upstream/upstream_policy.h"

#include "gateway/upstream/upstream_request.h"

namespace edge {

PolicyResult UpstreamPolicy::onRequest(Exchange& ex) {
  const conf::Upstream* up = ex.snapshot().upstreamFor(ex.route());
  if (!up) {
    ex.respondError(502, "the route has no upstream");
    return PolicyResult::kRespond;
  }
  auto req = std::make_unique<UpstreamRequest>(ex, *up);
  UpstreamRequest* raw = req.get();
  ex.setUpstream(std::move(req));
  raw->start();
  return PolicyResult::kPause;
}

}  // namespace edge
