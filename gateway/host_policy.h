#pragma once
#include "gateway/exchange.h"

namespace edge {

// First in the chain: picks the site by Host (421 when none serves it, so no
// redirect is ever built from an unknown Host), redirects aliases to the
// canonical host and plain HTTP to https:// in one hop (gateway/site_rules.h),
// and notes the first matching route (RedirectPolicy answers 404 when there
// is none, after the redirect map had its say). Being first, it is the last
// to see the response head: the site's header policy (set / remove / HSTS)
// has the final word over the origin and the other steps.
class HostPolicy final : public Policy {
 public:
  const char* name() const override { return "host"; }
  PolicyResult onRequest(Exchange& ex) override;
  void onResponseHead(Exchange& ex, ResponseOut& head) override;
};

}  // namespace edge
