#include "gateway/host_policy.h"

#include "gateway/site_rules.h"

namespace edge {

PolicyResult HostPolicy::onRequest(Exchange& ex) {
  const HostMatch match = ex.snapshot().matchHost(ex.host());
  if (!match.site) {
    ex.respondError(421, "no site is configured for this host");
    return PolicyResult::kRespond;
  }
  const RequestFacts req = RequestFacts::of(ex.request(), ex.client().tls);
  // The site is set before any answer so that metrics, the access log and
  // the header policy (HSTS on a redirect too) know it.
  ex.setRoute(match.site, Snapshot::findRoute(*match.site, req.method, req.path));
  if (const Redirect r = canonicalRedirect(ex.snapshot(), match, req)) {
    ex.respondRedirect(r.status, r.location);
    return PolicyResult::kRespond;
  }
  return PolicyResult::kContinue;
}

void HostPolicy::onResponseHead(Exchange& ex, ResponseOut& head) {
  if (ex.site()) applySiteHeaders(*ex.site(), ex.client().tls, head);
}

}  // namespace edge
