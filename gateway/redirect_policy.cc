#include "gateway/redirect_policy.h"

#include "gateway/site_rules.h"

namespace edge {

PolicyResult RedirectPolicy::onRequest(Exchange& ex) {
  const RequestFacts req = RequestFacts::of(ex.request(), ex.client().tls);
  if (const Redirect r = mapRedirect(ex.snapshot(), *ex.site(), req)) {
    ex.respondRedirect(r.status, r.location);
    return PolicyResult::kRespond;
  }
  if (!ex.route()) {
    ex.respondError(404, "no route matches this path and method");
    return PolicyResult::kRespond;
  }
  return PolicyResult::kContinue;
}

}  // namespace edge
