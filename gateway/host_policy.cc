#include "gateway/host_policy.h"

namespace edge {

PolicyResult HostPolicy::onRequest(Exchange& ex) {
  const conf::Site* site = ex.snapshot().findSite(ex.host());
  if (!site) {
    ex.respondError(421, "no site is configured for this host");
    return PolicyResult::kRespond;
  }
  const conf::Route* route =
      Snapshot::findRoute(*site, ex.request().methodView(), ex.request().pathView());
  ex.setRoute(site, route);
  if (!route) {
    ex.respondError(404, "no route matches this path and method");
    return PolicyResult::kRespond;
  }
  return PolicyResult::kContinue;
}

}  // namespace edge
