#pragma once
#include "gateway/exchange.h"

namespace edge {

// Always last: hands the exchange to its route's upstream.
class UpstreamPolicy final : public Policy {
 public:
  const char* name() const override { return "upstream"; }
  PolicyResult onRequest(Exchange& ex) override;
};

}  // namespace edge
