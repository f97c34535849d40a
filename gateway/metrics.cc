#include "gateway/metrics.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <sstream>

#include "cache/store.h"
#include "ratelimit/local_store.h"

namespace edge {
namespace {
constexpr const char* kMethods[] = {"GET",   "HEAD",    "POST",    "PUT",   "DELETE",
                                    "PATCH", "OPTIONS", "CONNECT", "TRACE", "OTHER"};
}

uint8_t methodIndex(std::string_view m) {
  for (uint8_t i = 0; i < 9; ++i)
    if (m == kMethods[i]) return i;
  return 9;
}
const char* methodName(uint8_t i) {
  return kMethods[i < 10 ? i : 9];
}

void Histogram::observe(double s) {
  size_t i = 0;
  while (i < kLatencyBuckets.size() && s > kLatencyBuckets[i]) ++i;
  ++counts[i];
  ++count;
  sum += s;
}

void Histogram::merge(const Histogram& o) {
  for (size_t i = 0; i < counts.size(); ++i) counts[i] += o.counts[i];
  count += o.count;
  sum += o.sum;
}

WorkerMetrics::RouteStats* WorkerMetrics::routeStats(std::string_view site,
                                                     std::string_view route) {
  std::lock_guard<std::mutex> lock(mu_);
  auto key = std::make_pair(std::string(site), std::string(route));
  auto it = routes_.find(key);
  if (it != routes_.end()) return it->second.get();
  auto stats = std::make_unique<RouteStats>();
  stats->site = key.first;
  stats->route = key.second;
  auto* raw = stats.get();
  routes_.emplace(std::move(key), std::move(stats));
  return raw;
}

void WorkerMetrics::recordRequest(RouteStats* stats, uint8_t method, uint16_t code,
                                  double seconds) {
  if (!requestMetricsOn()) return;
  std::lock_guard<std::mutex> lock(mu_);
  stats->count((static_cast<uint32_t>(method) << 16) | code);
  stats->duration.observe(seconds);
}

void WorkerMetrics::recordUpstreamResponse(const std::string& upstream, double seconds) {
  if (!requestMetricsOn()) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (!last_upstream_duration_ || upstream != last_upstream_) {
    last_upstream_duration_ = &upstreams_[upstream];
    auto it = upstream_outcomes_.find(upstream);
    if (it == upstream_outcomes_.end())
      it = upstream_outcomes_.emplace(upstream, std::array<uint64_t, kUpstreamOutcomes>{}).first;
    last_upstream_responses_ = &it->second[kUpstreamResponse];
    last_upstream_ = upstream;
  }
  last_upstream_duration_->observe(seconds);
  ++*last_upstream_responses_;
}

void WorkerMetrics::recordRateLimit(std::string_view policy, RateLimitDecision decision) {
  if (!requestMetricsOn()) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = ratelimit_.find(policy);
  if (it == ratelimit_.end())
    it = ratelimit_.emplace(std::string(policy), std::array<uint64_t, 3>{}).first;
  ++it->second[decision];
}

void WorkerMetrics::recordCache(std::string_view policy, uint8_t result) {
  if (!requestMetricsOn()) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find(policy);
  if (it == cache_.end())
    it = cache_.emplace(std::string(policy), std::array<uint64_t, kCacheResults>{}).first;
  if (result < kCacheResults) ++it->second[result];
}

void WorkerMetrics::connectionOpened(const std::string& listener) {
  std::lock_guard<std::mutex> lock(mu_);
  ++connections_[listener];
  ++accepted_[listener];
}

void WorkerMetrics::connectionClosed(const std::string& listener) {
  std::lock_guard<std::mutex> lock(mu_);
  --connections_[listener];
}

WorkerMetrics* Metrics::addShard() {
  std::lock_guard<std::mutex> lock(mu_);
  shards_.push_back(std::make_unique<WorkerMetrics>());
  shards_.back()->request_metrics_.store(requestMetricsOn(), std::memory_order_relaxed);
  return shards_.back().get();
}

void Metrics::setRequestMetrics(bool on) {
  std::lock_guard<std::mutex> lock(mu_);
  request_metrics_.store(on, std::memory_order_relaxed);
  for (auto& shard : shards_) shard->request_metrics_.store(on, std::memory_order_relaxed);
}

namespace {
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

ClientMetric::Histogram toPrometheus(const Histogram& h) {
  ClientMetric::Histogram out;
  out.sample_count = h.count;
  out.sample_sum = h.sum;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    ClientMetric::Bucket b;
    b.cumulative_count = cumulative;
    b.upper_bound =
        i < kLatencyBuckets.size() ? kLatencyBuckets[i] : std::numeric_limits<double>::infinity();
    out.bucket.push_back(b);
  }
  return out;
}
// One counter per policy and outcome: {policy=NAME, label=names[i]} = counts[i].
template <size_t N>
MetricFamily perPolicyCounters(const char* name, const char* help,
                               const std::map<std::string, std::array<uint64_t, N>>& by_policy,
                               const char* label, const std::array<const char*, N>& names) {
  MetricFamily f{name, help, MetricType::Counter, {}};
  for (auto& [policy, counts] : by_policy) {
    for (size_t i = 0; i < N; ++i) {
      ClientMetric m;
      m.label = {{"policy", policy}, {label, names[i]}};
      m.counter.value = static_cast<double>(counts[i]);
      f.metric.push_back(std::move(m));
    }
  }
  return f;
}
}  // namespace

std::string Metrics::render() {
  return render(nowMicros());
}

std::string Metrics::render(uint64_t now_us) {
  std::map<std::tuple<std::string, std::string, uint8_t, uint16_t>, uint64_t> requests;
  std::map<std::pair<std::string, std::string>, Histogram> durations;
  std::map<std::string, Histogram> upstreams;
  std::map<std::string, int64_t> connections;
  std::map<std::string, std::array<uint64_t, 3>> ratelimit;
  std::map<std::string, std::array<uint64_t, WorkerMetrics::kCacheResults>> cache;
  size_t buffered_peak = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& shard : shards_) {
      std::lock_guard<std::mutex> shard_lock(shard->mu_);
      for (auto& [key, stats] : shard->routes_) {
        for (auto& [mc, n] : stats->by_method_code)
          requests[{key.first, key.second, static_cast<uint8_t>(mc >> 16),
                    static_cast<uint16_t>(mc & 0xffff)}] += n;
        durations[key].merge(stats->duration);
      }
      for (auto& [name, h] : shard->upstreams_) upstreams[name].merge(h);
      for (auto& [name, n] : shard->connections_) connections[name] += n;
      for (auto& [name, counts] : shard->ratelimit_)
        for (size_t i = 0; i < counts.size(); ++i) ratelimit[name][i] += counts[i];
      for (auto& [name, counts] : shard->cache_)
        for (size_t i = 0; i < counts.size(); ++i) cache[name][i] += counts[i];
      buffered_peak = std::max(buffered_peak, shard->buffered_peak_.load());
    }
  }

  std::vector<MetricFamily> families;
  {
    MetricFamily f{"edgegate_requests_total",
                   "Requests answered, by site, route, method and status",
                   MetricType::Counter,
                   {}};
    for (auto& [key, n] : requests) {
      ClientMetric m;
      m.label = {{"site", std::get<0>(key)},
                 {"route", std::get<1>(key)},
                 {"method", methodName(std::get<2>(key))},
                 {"code", std::to_string(std::get<3>(key))}};
      m.counter.value = static_cast<double>(n);
      f.metric.push_back(std::move(m));
    }
    families.push_back(std::move(f));
  }
  {
    MetricFamily f{"edgegate_request_duration_seconds",
                   "Time from the first request byte to the last response byte written",
                   MetricType::Histogram,
                   {}};
    for (auto& [key, h] : durations) {
      ClientMetric m;
      m.label = {{"site", key.first}, {"route", key.second}};
      m.histogram = toPrometheus(h);
      f.metric.push_back(std::move(m));
    }
    families.push_back(std::move(f));
  }
  {
    MetricFamily f{"edgegate_upstream_duration_seconds",
                   "Time from sending the request to the origin to its response head",
                   MetricType::Histogram,
                   {}};
    for (auto& [name, h] : upstreams) {
      ClientMetric m;
      m.label = {{"upstream", name}};
      m.histogram = toPrometheus(h);
      f.metric.push_back(std::move(m));
    }
    families.push_back(std::move(f));
  }
  {
    MetricFamily f{"edgegate_connections_active",
                   "Open client connections, by listener",
                   MetricType::Gauge,
                   {}};
    for (auto& [name, n] : connections) {
      ClientMetric m;
      m.label = {{"listener", name}};
      m.gauge.value = static_cast<double>(n);
      f.metric.push_back(std::move(m));
    }
    families.push_back(std::move(f));
  }
  families.push_back(
      perPolicyCounters("edgegate_ratelimit_decisions_total",
                        "Rate-limit decisions, by policy and decision (limited includes what a "
                        "shadow-mode policy would have refused)",
                        ratelimit, "decision", {"allowed", "limited", "error"}));
  {
    MetricFamily f{"edgegate_ratelimit_keys",
                   "Buckets held by the local rate-limit store (bounded by rate_limits.max_keys)",
                   MetricType::Gauge,
                   {}};
    ClientMetric m;
    m.gauge.value = static_cast<double>(ratelimit::LocalStore::sharedSize());
    f.metric = {m};
    families.push_back(std::move(f));
  }
  {
    families.push_back(perPolicyCounters(
        "edgegate_cache_requests_total", "Requests of cached routes, by cache policy and result",
        cache, "result", {"hit", "miss", "stale", "revalidated", "bypass"}));
    auto store = cache::Store::current();
    auto gauge = [&](const char* name, const char* help, MetricType type, uint64_t v) {
      MetricFamily g{name, help, type, {}};
      ClientMetric m;
      if (type == MetricType::Counter)
        m.counter.value = static_cast<double>(v);
      else
        m.gauge.value = static_cast<double>(v);
      g.metric = {m};
      families.push_back(std::move(g));
    };
    gauge("edgegate_cache_bytes", "Bytes held by the cache (headers, bodies, bookkeeping)",
          MetricType::Gauge, store ? store->bytes() : 0);
    gauge("edgegate_cache_objects", "Responses (Vary variants included) held by the cache",
          MetricType::Gauge, store ? store->objects() : 0);
    gauge("edgegate_cache_evictions_total", "Entries evicted to stay within cache.memory",
          MetricType::Counter, store ? store->evictions() : 0);
  }
  {
    MetricFamily f{"edgegate_config_reloads_total",
                   "Configuration reloads, by result",
                   MetricType::Counter,
                   {}};
    ClientMetric ok, failed;
    ok.label = {{"result", "success"}};
    ok.counter.value = static_cast<double>(reloads_ok_.load());
    failed.label = {{"result", "failure"}};
    failed.counter.value = static_cast<double>(reloads_failed_.load());
    f.metric = {ok, failed};
    families.push_back(std::move(f));
  }
  {
    MetricFamily f{"edgegate_buffered_bytes_peak",
                   "Most bytes any single exchange held in its buffers since start",
                   MetricType::Gauge,
                   {}};
    ClientMetric m;
    m.gauge.value = static_cast<double>(buffered_peak);
    f.metric = {m};
    families.push_back(std::move(f));
  }
  {
    MetricFamily f{
        "edgegate_draining", "1 while the process drains before exit", MetricType::Gauge, {}};
    ClientMetric m;
    m.gauge.value = draining_.load() ? 1 : 0;
    f.metric = {m};
    families.push_back(std::move(f));
  }
  appendObservability(families, now_us);
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace edge
