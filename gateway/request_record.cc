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
  using S = AccessLogEntry;
  AccessLogEntry& e = r.entry;
  w.takeLogBuffer(e.text);  // a buffer the writer already consumed: no allocation
  e.clear();
  e.status = ex.status();
  e.bytes = ex.bodyBytesSent();
  e.upstream_us = ex.upstreamMicros();
  e.cache = ex.cacheStatus();
  e.ratelimit = ex.rateLimitStatus();
  e.protocol = ex.client().http2 ? "HTTP/2" : req.version_minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
  e.set(S::kRequestId, ex.requestId());
  e.set(S::kClientIp, ex.client().ip);
  e.set(S::kMethod, req.methodView());
  e.set(S::kHost, req.hostView());
  // Path and query only (an absolute-form target's scheme and authority are
  // in host); the writer thread redacts the query.
  e.set(S::kTarget, req.pathView());
  if (req.has_query) {
    e.append(S::kTarget, "?");
    e.append(S::kTarget, req.queryView());
  }
  if (ex.site()) e.set(S::kSite, ex.site()->name);
  if (ex.route()) {
    e.set(S::kRoute, ex.route()->name);
    // Only when the request went that far (a 429 or a redirect never did).
    if (ex.upstreamEngaged()) e.set(S::kUpstream, ex.route()->upstream);
  }
}

void buildRefusedRecord(RequestRecord& r, Worker& w, std::string_view request_id,
                        const ClientInfo& client, uint16_t status, uint64_t start_us) {
  r.stats = w.routeStatsFor(nullptr, nullptr);
  r.start_us = start_us;
  r.status = status;
  r.method = methodIndex("OTHER");
  r.logged = w.accessLogOn();
  if (!r.logged) return;
  AccessLogEntry& e = r.entry;
  e.clear();
  e.status = status;
  // A malformed HTTP/1 head may not have said its version.
  if (client.http2) e.protocol = "HTTP/2";
  e.set(AccessLogEntry::kRequestId, request_id);
  e.set(AccessLogEntry::kClientIp, client.ip);
}

}  // namespace edge
