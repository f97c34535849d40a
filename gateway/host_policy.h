#pragma once
#include "gateway/exchange.h"

namespace edge {

// First in the chain: picks the site by Host (421 when none serves it) and
// the first matching route (404 when none matches).
class HostPolicy final : public Policy {
 public:
  const char* name() const override { return "host"; }
  PolicyResult onRequest(Exchange& ex) override;
};

}  // namespace edge
