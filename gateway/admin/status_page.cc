#include "gateway/admin/status_page.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <cmath>
#include <ctime>
#include <set>
#include <sstream>

#include "gateway/access_log.h"
#include "gateway/metrics.h"
#include "gateway/server.h"

namespace edge {
namespace {

using nlohmann::json;

json msOrNull(double ns) {
  if (std::isnan(ns)) return nullptr;
  return std::round(ns / 1e3) / 1e3;  // ms with µs precision
}

json ratioOrNull(uint64_t part, uint64_t whole) {
  if (whole == 0) return nullptr;
  return static_cast<double>(part) / static_cast<double>(whole);
}

std::string isoTime(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json routeRow(const Metrics::RouteWindow* w, const std::string& site, const std::string& route,
              double slo_ms, double window_s, const RouteCacheCounts* cache, bool in_config) {
  json r;
  r["site"] = site;
  r["route"] = route;
  r["in_config"] = in_config;
  r["slo_p95_ms"] = slo_ms > 0 ? json(slo_ms) : json(nullptr);
  WindowCounts c = w ? w->counts : WindowCounts{};
  r["requests_window"] = c.requests;
  r["requests_per_second"] = window_s > 0 ? static_cast<double>(c.requests) / window_s : 0.0;
  double p95 = w ? w->sketch.quantileNs(0.95) : NAN;
  r["p50_ms"] = msOrNull(w ? w->sketch.quantileNs(0.5) : NAN);
  r["p95_ms"] = msOrNull(p95);
  r["p99_ms"] = msOrNull(w ? w->sketch.quantileNs(0.99) : NAN);
  r["error_ratio"] = ratioOrNull(c.errors_5xx, c.requests);
  r["ratelimited_window"] = c.limited_429;
  uint64_t limited_total = 0;
  if (w) {
    auto it = w->codes.find(429);
    if (it != w->codes.end()) limited_total = it->second;
  }
  r["ratelimited_total"] = limited_total;
  r["requests_total"] = w ? w->total : 0;
  r["cache_hit_ratio"] = cache ? ratioOrNull(cache->hits, cache->lookups) : json(nullptr);
  r["over_slo"] = slo_ms > 0 && !std::isnan(p95) && p95 / 1e6 > slo_ms;
  return r;
}

}  // namespace

json statusJson(Server& server, const StatusSources& sources, uint64_t now_us) {
  auto snap = server.snapshot();
  const conf::Config& cfg = snap->config();
  Metrics& metrics = server.metrics();
  double window_s = metrics.windowSeconds(now_us);
  std::vector<Metrics::RouteWindow> windows = metrics.routeWindows(now_us);
  std::map<std::pair<std::string, std::string>, const Metrics::RouteWindow*> by_name;
  for (const auto& w : windows) by_name[{w.site, w.route}] = &w;

  std::vector<RouteCacheCounts> cache;
  if (sources.cache) cache = sources.cache();
  auto cacheFor = [&](const std::string& site,
                      const std::string& route) -> const RouteCacheCounts* {
    for (const auto& c : cache)
      if (c.site == site && c.route == route) return &c;
    return nullptr;
  };

  json routes = json::array();
  std::set<std::pair<std::string, std::string>> shown;
  for (const auto& site : cfg.sites) {
    for (const auto& route : site.routes) {
      auto key = std::make_pair(site.name, route.name);
      auto it = by_name.find(key);
      routes.push_back(routeRow(it == by_name.end() ? nullptr : it->second, site.name, route.name,
                                static_cast<double>(route.slo_p95.count()), window_s,
                                cacheFor(site.name, route.name), true));
      shown.insert(key);
    }
  }
  // Traffic that matched no configured route ("-": unknown host, malformed
  // request) or a route a reload removed.
  for (const auto& w : windows) {
    if (shown.count({w.site, w.route}) || w.total == 0) continue;
    routes.push_back(routeRow(&w, w.site, w.route, 0, window_s, nullptr, false));
  }

  json upstreams = json::array();
  std::vector<UpstreamServerHealth> health;
  if (sources.upstream_health) health = sources.upstream_health();
  for (const auto& [name, up] : cfg.upstreams) {
    json servers = json::array();
    for (const auto& s : up.servers) {
      json entry{{"server", s.str()}, {"healthy", nullptr}};
      for (const auto& h : health)
        if (h.upstream == name && h.server == s.str()) entry["healthy"] = h.healthy;
      servers.push_back(entry);
    }
    upstreams.push_back({{"upstream", name},
                         {"health_checked", static_cast<bool>(sources.upstream_health)},
                         {"servers", servers}});
  }

  json certs = {{"available", static_cast<bool>(sources.certificates)},
                {"certificates", json::array()}};
  if (sources.certificates) {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    for (const auto& c : sources.certificates())
      certs["certificates"].push_back(
          {{"certificate", c.certificate},
           {"not_after", isoTime(c.not_after)},
           {"days_left", static_cast<double>(c.not_after - ts.tv_sec) / 86400.0}});
  } else {
    certs["reason"] = "no TLS listener: no certificates are loaded";
  }

  AccessLog& log = server.accessLog();
  return {{"version", EDGEGATE_VERSION},
          {"generated_at", isoTime(time(nullptr))},
          {"window_seconds", window_s},
          {"draining", server.draining()},
          {"request_metrics", metrics.requestMetricsOn()},
          {"routes", routes},
          {"upstreams", upstreams},
          {"upstream_health_available", static_cast<bool>(sources.upstream_health)},
          {"health_reason", sources.upstream_health ? "" : "no health data"},
          {"cache_available", static_cast<bool>(sources.cache)},
          {"cache_reason", sources.cache ? "" : "no cache data"},
          {"certificates", certs},
          {"access_log",
           {{"path", cfg.server.access_log.path},
            {"lines_written", log.linesWritten()},
            {"lines_dropped", log.linesDropped()}}}};
}

std::string renderAllMetrics(Server& server, const StatusSources& sources) {
  using prometheus::ClientMetric;
  using prometheus::MetricFamily;
  using prometheus::MetricType;
  std::string out = server.metrics().render();
  out += server.accessLog().renderMetrics();

  std::vector<MetricFamily> families;
  auto snap = server.snapshot();
  {
    MetricFamily f{"edgegate_route_p95_objective_seconds",
                   "The p95 latency objective of each route (routes[].slo_p95)",
                   MetricType::Gauge,
                   {}};
    for (const auto& site : snap->config().sites) {
      for (const auto& route : site.routes) {
        ClientMetric m;
        m.label = {{"site", site.name}, {"route", route.name}};
        m.gauge.value = static_cast<double>(route.slo_p95.count()) / 1000.0;
        f.metric.push_back(std::move(m));
      }
    }
    families.push_back(std::move(f));
  }
  if (sources.upstream_health) {
    MetricFamily f{"edgegate_upstream_healthy",
                   "1 when the health checks pass for that server",
                   MetricType::Gauge,
                   {}};
    for (const auto& h : sources.upstream_health()) {
      ClientMetric m;
      m.label = {{"upstream", h.upstream}, {"server", h.server}};
      m.gauge.value = h.healthy ? 1 : 0;
      f.metric.push_back(std::move(m));
    }
    families.push_back(std::move(f));
  }
  if (sources.certificates) {
    MetricFamily f{"edgegate_tls_certificate_expiry_timestamp_seconds",
                   "When each loaded certificate expires (Unix time)",
                   MetricType::Gauge,
                   {}};
    for (const auto& c : sources.certificates()) {
      ClientMetric m;
      m.label = {{"certificate", c.certificate}};
      m.gauge.value = static_cast<double>(c.not_after);
      f.metric.push_back(std::move(m));
    }
    families.push_back(std::move(f));
  }
  std::ostringstream s;
  prometheus::TextSerializer().Serialize(s, families);
  return out + s.str();
}

const std::string& statusPageHtml() {
  static const std::string kPage = R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edgegate status</title>
<style>
  :root { --bg:#f7f7f8; --fg:#1d1d22; --mute:#6b6b76; --line:#dcdce2; --bad:#c62828; --badbg:#fdecea; --ok:#2e7d32; }
  body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; background: var(--bg); color: var(--fg); }
  header { padding: 12px 20px; background: #202028; color: #fff; display: flex; gap: 24px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  header span { color: #c8c8d0; }
  main { padding: 12px 20px; }
  h2 { font-size: 15px; margin: 20px 0 6px; }
  table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
  th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
  th { background: #efeff3; font-weight: 600; }
  td.name, th.name { text-align: left; }
  tr.over td { background: var(--badbg); }
  tr.over td.p95 { color: var(--bad); font-weight: 700; }
  .na { color: var(--mute); }
  .bad { color: var(--bad); font-weight: 600; }
  .good { color: var(--ok); }
  .note { color: var(--mute); margin: 4px 0; }
  #error { color: var(--bad); }
</style>
</head>
<body>
<header><h1>edgegate</h1><span id="meta">loading…</span><span id="error"></span></header>
<main>
<h2>Routes <span class="note" id="window"></span></h2>
<table id="routes">
<thead><tr><th class="name">site</th><th class="name">route</th><th>req/s</th><th>p50 ms</th><th>p95 ms</th>
<th>p99 ms</th><th>p95 objective</th><th>errors (5xx)</th><th>cache hit</th><th>rate-limited (60 s)</th>
<th>rate-limited (total)</th><th>requests (total)</th></tr></thead>
<tbody></tbody>
</table>
<p class="note">Rows in red are over their p95 objective (<code>slo_p95</code>, default 300 ms). Rates and quantiles cover the last 60 s.</p>
<h2>Upstreams</h2>
<p class="note" id="health-note"></p>
<table id="upstreams"><thead><tr><th class="name">upstream</th><th class="name">server</th><th class="name">health</th></tr></thead><tbody></tbody></table>
<h2>Certificates</h2>
<p class="note" id="cert-note"></p>
<table id="certs"><thead><tr><th class="name">certificate</th><th class="name">expires</th><th>days left</th></tr></thead><tbody></tbody></table>
<h2>Access log</h2>
<p class="note" id="accesslog"></p>
</main>
<script>
"use strict";
function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}
function num(v, digits) { return v === null || v === undefined ? "–" : Number(v).toFixed(digits); }
function pct(v) { return v === null || v === undefined ? "–" : (v * 100).toFixed(2) + " %"; }
function fill(id, rows, build) {
  const body = document.querySelector("#" + id + " tbody");
  body.replaceChildren();
  for (const r of rows) body.appendChild(build(r));
}
function render(s) {
  document.getElementById("meta").textContent = "version " + s.version + " · " + s.generated_at +
      (s.draining ? " · DRAINING" : "") +
      (s.request_metrics ? "" : " · request metrics are off (server.request_metrics: false)");
  document.getElementById("window").textContent = "(window " + s.window_seconds.toFixed(0) + " s)";
  fill("routes", s.routes, r => {
    const tr = document.createElement("tr");
    tr.dataset.route = r.route;
    if (r.over_slo) tr.className = "over";
    cell(tr, r.site, "name");
    cell(tr, r.route, "name");
    cell(tr, num(r.requests_per_second, 2));
    cell(tr, num(r.p50_ms, 1));
    cell(tr, num(r.p95_ms, 1), "p95");
    cell(tr, num(r.p99_ms, 1));
    cell(tr, r.slo_p95_ms === null ? "–" : r.slo_p95_ms + " ms");
    cell(tr, pct(r.error_ratio), r.error_ratio > 0.01 ? "bad" : "");
    if (s.cache_available) cell(tr, pct(r.cache_hit_ratio)); else cell(tr, "n/a", "na");
    cell(tr, String(r.ratelimited_window), r.ratelimited_window > 0 ? "bad" : "");
    cell(tr, String(r.ratelimited_total));
    cell(tr, String(r.requests_total));
    return tr;
  });
  document.getElementById("health-note").textContent =
      s.upstream_health_available ? "" : "Server health: " + s.health_reason + ".";
  const servers = [];
  for (const u of s.upstreams) for (const sv of u.servers) servers.push([u.upstream, sv]);
  fill("upstreams", servers, ([name, sv]) => {
    const tr = document.createElement("tr");
    cell(tr, name, "name");
    cell(tr, sv.server, "name");
    if (sv.healthy === null) cell(tr, "not checked", "name na");
    else cell(tr, sv.healthy ? "healthy" : "UNHEALTHY", "name " + (sv.healthy ? "good" : "bad"));
    return tr;
  });
  document.getElementById("cert-note").textContent =
      s.certificates.available ? "" : s.certificates.reason + ".";
  fill("certs", s.certificates.certificates, c => {
    const tr = document.createElement("tr");
    cell(tr, c.certificate, "name");
    cell(tr, c.not_after, "name");
    cell(tr, num(c.days_left, 1), c.days_left < 14 ? "bad" : "");
    return tr;
  });
  const a = s.access_log;
  document.getElementById("accesslog").textContent = "path " + a.path + " · " + a.lines_written +
      " lines written · " + a.lines_dropped + " dropped";
}
async function refresh() {
  try {
    const r = await fetch("status.json", {cache: "no-store"});
    if (!r.ok) throw new Error("status.json answered " + r.status);
    render(await r.json());
    document.getElementById("error").textContent = "";
  } catch (e) {
    document.getElementById("error").textContent = "refresh failed: " + e.message;
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
)HTML";
  return kPage;
}

}  // namespace edge
