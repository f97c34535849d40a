#pragma once
// The admin listener's status page (GET /), its data (GET /status.json) and
// the whole /metrics exposition. Runs on the admin thread.
//
// Data owned elsewhere reaches the admin thread through StatusSources: the
// server registers one function each for the health checker, the TLS layer
// (only with a TLS listener) and the cache, called on the admin thread at
// every scrape or page refresh. Without one the page shows that data as
// unavailable, /status.json says "available": false, and /metrics has no such
// family (an absent series, not a made-up 1 or 0).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace edge {

class Server;

struct UpstreamServerHealth {
  std::string upstream;
  std::string server;  // host:port as configured
  bool healthy = true;
};

struct CertificateExpiry {
  std::string certificate;  // its file path, as in the config
  int64_t not_after = 0;    // Unix seconds
};

struct RouteCacheCounts {
  std::string site, route;
  uint64_t hits = 0;     // hit + stale + revalidated, over the last 60 s
  uint64_t lookups = 0;  // every cache decision over the last 60 s
};

struct StatusSources {
  // edgegate_upstream_healthy{upstream, server}; the status page's health column.
  std::function<std::vector<UpstreamServerHealth>()> upstream_health;
  // edgegate_tls_certificate_expiry_timestamp_seconds{certificate}; the page's certificates.
  std::function<std::vector<CertificateExpiry>()> certificates;
  // The page's cache hit ratio per route (the cache exports its own counters).
  std::function<std::vector<RouteCacheCounts>()> cache;
};

// The page: self-contained HTML, CSS and JS (no external asset), polling
// /status.json every 2 s.
const std::string& statusPageHtml();
// Per route over the last 60 s: requests/s, p50/p95/p99, error ratio, cache
// hit ratio, rate-limit refusals, the p95 objective; upstreams and
// certificates.
nlohmann::json statusJson(Server& server, const StatusSources& sources, uint64_t now_us);
// GET /metrics: the workers' merged metrics, the access log's, the routes'
// p95 objectives and what the sources provide.
std::string renderAllMetrics(Server& server, const StatusSources& sources);

}  // namespace edge
