#include "gateway/request_record.h"

#include "gateway/exchange.h"
#include "gateway/worker.h"

namespace edge {

void buildRequestRecord(RequestRecord& r, Exchange& ex) {
  Worker& w = ex.worker();
  const http1::RequestHead& req = ex.request();
  r.stats = w.routeStatsFor(ex.site(), ex.route());
  r.start_us = ex.startMicros();
  r.status = ex.status();
  r.method = methodIndex(req.methodView());
  r.logged = w.accessLogOn();
  if (!r.logged) return;
  using S = AccessLogView;
  AccessLogView v;
  v.status = ex.status();
  v.bytes = ex.bodyBytesSent();
  v.upstream_us = ex.upstreamMicros();
  v.cache = ex.cacheStatus();
  v.ratelimit = ex.rateLimitStatus();
  v.protocol = ex.client().http2 ? "HTTP/2" : req.version_minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
  v.set(S::kRequestId, ex.requestId());
  v.set(S::kClientIp, ex.client().ip);
  v.set(S::kMethod, req.methodView());
  v.set(S::kHost, req.hostView());
  // Path and query only (an absolute-form target's scheme and authority are
  // in host); the query is redacted while formatting.
  thread_local std::string target;
  if (req.has_query) {
    target.assign(req.pathView()).append("?").append(req.queryView());
    v.set(S::kTarget, target);
  } else {
    v.set(S::kTarget, req.pathView());
  }
  if (ex.site()) v.set(S::kSite, ex.site()->name);
  if (ex.route()) {
    v.set(S::kRoute, ex.route()->name);
    // Only when the request went that far (a 429 or a redirect never did).
    if (ex.upstreamEngaged()) v.set(S::kUpstream, ex.route()->upstream);
  }
  // A buffer the last completed request left: no allocation.
  w.takeLogBuffer(r.line.buf);
  formatAccessLogBody(v, w.snapshot()->config().server.access_log.redact_query_params, r.line);
}

void buildRefusedRecord(RequestRecord& r, Worker& w, std::string_view request_id,
                        const ClientInfo& client, uint16_t status, uint64_t start_us) {
  r.stats = w.routeStatsFor(nullptr, nullptr);
  r.start_us = start_us;
  r.status = status;
  r.method = methodIndex("OTHER");
  r.logged = w.accessLogOn();
  if (!r.logged) return;
  AccessLogView v;
  v.status = status;
  // A malformed HTTP/1 head may not have said its version.
  if (client.http2) v.protocol = "HTTP/2";
  v.set(AccessLogView::kRequestId, request_id);
  v.set(AccessLogView::kClientIp, client.ip);
  w.takeLogBuffer(r.line.buf);
  formatAccessLogBody(v, w.snapshot()->config().server.access_log.redact_query_params, r.line);
}

}  // namespace edge
