// The observability additions to the metrics (issue 7): the per-route latency
// windows behind edgegate_request_latency_seconds and the status page, the
// upstream outcomes, accepted connections and TLS handshakes. Kept apart from
// metrics.cc so that the merge and the summary read as one piece.
#include <prometheus/metric_family.h>

#include <ctime>

#include "gateway/metrics.h"

namespace edge {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

void WorkerMetrics::recordRequest(RouteStats* stats, uint8_t method, uint16_t code, double seconds,
                                  uint64_t now_us) {
  if (!requestMetricsOn()) return;
  std::lock_guard<std::mutex> lock(mu_);
  stats->count((static_cast<uint32_t>(method) << 16) | code);
  stats->duration.observe(seconds);
  stats->latency.record(static_cast<uint64_t>(seconds * 1e9), code, now_us * 1000);
}

const char* WorkerMetrics::upstreamOutcomeName(UpstreamOutcome o) {
  static constexpr const char* kNames[] = {"response", "retried",      "connect_error",
                                           "timeout",  "bad_response", "no_server"};
  return o < kUpstreamOutcomes ? kNames[o] : "unknown";
}

void WorkerMetrics::recordUpstreamOutcome(const std::string& upstream, UpstreamOutcome outcome) {
  if (!requestMetricsOn()) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = upstream_outcomes_.find(upstream);
  if (it == upstream_outcomes_.end())
    it = upstream_outcomes_.emplace(upstream, std::array<uint64_t, kUpstreamOutcomes>{}).first;
  ++it->second[outcome];
}

void WorkerMetrics::recordTlsHandshake(const std::string& listener, std::string_view version,
                                       bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  ++tls_handshakes_[{listener, std::string(version), ok}];
}

uint64_t Metrics::nowMicros() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);  // the clock of Loop::nowMicros()
  return static_cast<uint64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

double Metrics::windowSeconds(uint64_t now_us) const {
  return edge::windowSeconds(now_us * 1000, start_us_ * 1000);
}

std::vector<Metrics::RouteWindow> Metrics::routeWindows(uint64_t now_us) {
  std::map<std::pair<std::string, std::string>, RouteWindow> merged;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& shard : shards_) {
    // One worker's lock at a time, each held for one merge (a few µs per route).
    std::lock_guard<std::mutex> shard_lock(shard->mu_);
    for (auto& [key, stats] : shard->routes_) {
      RouteWindow& w = merged[key];
      stats->latency.mergeInto(w.sketch, w.counts, now_us * 1000);
      w.total += stats->duration.count;
      w.sum_seconds += stats->duration.sum;
      for (auto& [mc, n] : stats->by_method_code) w.codes[static_cast<uint16_t>(mc & 0xffff)] += n;
    }
  }
  std::vector<RouteWindow> out;
  out.reserve(merged.size());
  for (auto& [key, w] : merged) {
    w.site = key.first;
    w.route = key.second;
    out.push_back(std::move(w));
  }
  return out;
}

void Metrics::appendObservability(std::vector<MetricFamily>& families, uint64_t now_us) {
  {
    MetricFamily f{"edgegate_request_latency_seconds",
                   "Time from the first request byte to the last response byte written; "
                   "quantiles over the last 60 s (50 to 60 s: six 10 s slices), count and sum "
                   "since start",
                   MetricType::Summary,
                   {}};
    for (auto& w : routeWindows(now_us)) {
      ClientMetric m;
      m.label = {{"site", w.site}, {"route", w.route}};
      m.summary.sample_count = w.total;
      m.summary.sample_sum = w.sum_seconds;
      for (double q : {0.5, 0.95, 0.99}) {
        ClientMetric::Quantile qt;
        qt.quantile = q;
        qt.value = w.sketch.quantileNs(q) / 1e9;  // NaN when the window is empty
        m.summary.quantile.push_back(qt);
      }
      f.metric.push_back(std::move(m));
    }
    families.push_back(std::move(f));
  }

  std::map<std::string, std::array<uint64_t, WorkerMetrics::kUpstreamOutcomes>> outcomes;
  std::map<std::string, uint64_t> accepted;
  std::map<std::tuple<std::string, std::string, bool>, uint64_t> tls;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& shard : shards_) {
      std::lock_guard<std::mutex> shard_lock(shard->mu_);
      for (auto& [name, counts] : shard->upstream_outcomes_) {
        auto& sum = outcomes[name];
        for (size_t i = 0; i < counts.size(); ++i) sum[i] += counts[i];
      }
      for (auto& [name, n] : shard->accepted_) accepted[name] += n;
      for (auto& [key, n] : shard->tls_handshakes_) tls[key] += n;
    }
  }
  {
    MetricFamily f{"edgegate_upstream_requests_total",
                   "Requests sent to origins, by upstream and outcome (every attempt counts: "
                   "a retried one is counted as retried, then by how the retry ended)",
                   MetricType::Counter,
                   {}};
    for (auto& [name, counts] : outcomes) {
      for (size_t i = 0; i < counts.size(); ++i) {
        ClientMetric m;
        m.label = {{"upstream", name},
                   {"outcome", WorkerMetrics::upstreamOutcomeName(
                                   static_cast<WorkerMetrics::UpstreamOutcome>(i))}};
        m.counter.value = static_cast<double>(counts[i]);
        f.metric.push_back(std::move(m));
      }
    }
    families.push_back(std::move(f));
  }
  {
    MetricFamily f{"edgegate_connections_total",
                   "Client connections accepted, by listener",
                   MetricType::Counter,
                   {}};
    for (auto& [name, n] : accepted) {
      ClientMetric m;
      m.label = {{"listener", name}};
      m.counter.value = static_cast<double>(n);
      f.metric.push_back(std::move(m));
    }
    families.push_back(std::move(f));
  }
  if (!tls.empty()) {
    MetricFamily f{"edgegate_tls_handshakes_total",
                   "TLS handshakes, by listener, protocol version and result",
                   MetricType::Counter,
                   {}};
    for (auto& [key, n] : tls) {
      ClientMetric m;
      m.label = {{"listener", std::get<0>(key)},
                 {"version", std::get<1>(key)},
                 {"result", std::get<2>(key) ? "success" : "failure"}};
      m.counter.value = static_cast<double>(n);
      f.metric.push_back(std::move(m));
    }
    families.push_back(std::move(f));
  }
  {
    MetricFamily f{
        "edgegate_uptime_seconds", "Seconds since the process started", MetricType::Gauge, {}};
    ClientMetric m;
    m.gauge.value = now_us > start_us_ ? static_cast<double>(now_us - start_us_) / 1e6 : 0;
    f.metric.push_back(m);
    families.push_back(std::move(f));
  }
}

}  // namespace edge
