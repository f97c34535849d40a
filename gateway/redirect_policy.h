#pragma once
#include "gateway/exchange.h"

namespace edge {

// After HostPolicy: the site's redirect map (old links, campaign URLs), then
// 404 for a request that neither redirects nor matches a route. Stateless;
// one per worker, loop thread only.
class RedirectPolicy final : public Policy {
 public:
  const char* name() const override { return "redirect"; }
  PolicyResult onRequest(Exchange& ex) override;
};

}  // namespace edge
