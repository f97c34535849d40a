#pragma once
// Metrics: each worker accumulates into its own WorkerMetrics (a mutex that
// only the admin thread's scrape ever contends for); a scrape merges all
// shards and renders them with prometheus-cpp's text serializer. This keeps
// the request path free of any lock or cache line shared between workers.
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "gateway/latency.h"

namespace prometheus {
struct MetricFamily;
}

namespace edge {

// Latency bucket bounds in seconds, shared by request and upstream histograms.
inline constexpr std::array<double, 14> kLatencyBuckets{
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

struct Histogram {
  std::array<uint64_t, kLatencyBuckets.size() + 1> counts{};  // last = +Inf
  uint64_t count = 0;
  double sum = 0;
  void observe(double seconds);
  void merge(const Histogram& o);
};

// Method names get a small fixed index so the per-request key is an integer.
uint8_t methodIndex(std::string_view method);
const char* methodName(uint8_t index);

class WorkerMetrics {
 public:
  struct RouteStats {
    std::string site;
    std::string route;
    std::unordered_map<uint32_t, uint64_t> by_method_code;  // method << 16 | code
    // The entry of the last pair counted: a route answers most requests with
    // the same method and code, so most requests skip the hash lookup (values
    // of an unordered_map keep their address).
    uint32_t last_key = UINT32_MAX;
    uint64_t* last_count = nullptr;
    void count(uint32_t key) {
      if (key != last_key) {
        last_count = &by_method_code[key];
        last_key = key;
      }
      ++*last_count;
    }
    Histogram duration;
    LatencyWindow latency;  // the last 60 s, for the summary and the status page
  };

  // Whether requests are counted and timed (server.request_metrics): every
  // per-request record below does nothing while this is false.
  bool requestMetricsOn() const { return request_metrics_.load(std::memory_order_relaxed); }

  // Loop thread. The pointer stays valid for the process lifetime.
  RouteStats* routeStats(std::string_view site, std::string_view route);
  void recordRequest(RouteStats* stats, uint8_t method, uint16_t code, double seconds);
  // The same at a known (monotonic) time: also feeds the route's latency window.
  void recordRequest(RouteStats* stats, uint8_t method, uint16_t code, double seconds,
                     uint64_t now_us);
  // How a request to an origin ended (edgegate_upstream_requests_total).
  enum UpstreamOutcome : uint8_t {
    kUpstreamResponse,      // a response head arrived
    kUpstreamRetried,       // failed, and was tried again
    kUpstreamConnectError,  // no connection
    kUpstreamTimeout,       // connect, response or body timeout
    kUpstreamBadResponse,   // closed, reset, malformed or unwritable
    kUpstreamNoServer,      // no server to send it to
    kUpstreamOutcomes
  };
  static const char* upstreamOutcomeName(UpstreamOutcome o);
  void recordUpstreamOutcome(const std::string& upstream, UpstreamOutcome outcome);
  // TLS handshakes by listener, protocol version and result (plugged in by the
  // TLS transport; nothing is exported until one is recorded).
  void recordTlsHandshake(const std::string& listener, std::string_view version, bool ok);
  // A response head came from an origin of `upstream`, `seconds` after the
  // request was sent: its duration and the outcome kUpstreamResponse.
  void recordUpstreamResponse(const std::string& upstream, double seconds);
  // One rate-limit decision of a policy.
  enum RateLimitDecision : uint8_t { kRateAllowed, kRateLimited, kRateError };
  void recordRateLimit(std::string_view policy, RateLimitDecision decision);
  // One cache decision of a policy; result indexes edge::cache::Result (hit, miss,
  // stale, revalidated, bypass).
  static constexpr size_t kCacheResults = 5;
  void recordCache(std::string_view policy, uint8_t result);
  void connectionOpened(const std::string& listener);
  void connectionClosed(const std::string& listener);
  // Bytes buffered by one exchange right now; keeps the maximum ever seen.
  void noteBuffered(size_t bytes) {
    if (bytes > buffered_peak_.load(std::memory_order_relaxed))
      buffered_peak_.store(bytes, std::memory_order_relaxed);
  }

 private:
  friend class Metrics;
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<RouteStats>, std::less<>> routes_;
  std::map<std::string, Histogram> upstreams_;
  std::map<std::string, std::array<uint64_t, 3>, std::less<>> ratelimit_;
  std::map<std::string, std::array<uint64_t, kCacheResults>, std::less<>> cache_;
  std::map<std::string, int64_t> connections_;
  std::map<std::string, uint64_t> accepted_;
  std::map<std::string, std::array<uint64_t, kUpstreamOutcomes>> upstream_outcomes_;
  std::map<std::tuple<std::string, std::string, bool>, uint64_t> tls_handshakes_;
  // The entries of the upstream last answered (map values keep their address):
  // a worker's requests mostly go to one upstream.
  std::string last_upstream_;
  Histogram* last_upstream_duration_ = nullptr;
  uint64_t* last_upstream_responses_ = nullptr;
  std::atomic<size_t> buffered_peak_{0};
  std::atomic<bool> request_metrics_{true};
};

// Process-wide: owns the shards and renders the exposition.
class Metrics {
 public:
  WorkerMetrics* addShard();  // main thread, before workers start
  // Any thread (start, reload): server.request_metrics for every shard.
  void setRequestMetrics(bool on);
  bool requestMetricsOn() const { return request_metrics_.load(std::memory_order_relaxed); }
  void configReloaded(bool ok) { (ok ? reloads_ok_ : reloads_failed_).fetch_add(1); }
  void setDraining(bool d) { draining_.store(d); }
  // Any thread (the admin thread): merged Prometheus text.
  std::string render();
  // The same at a known monotonic time (tests).
  std::string render(uint64_t now_us);

  // One route's last 60 s, merged over the workers (status page, summary).
  struct RouteWindow {
    std::string site, route;
    LatencySketch sketch;
    WindowCounts counts;
    uint64_t total = 0;  // since start
    double sum_seconds = 0;
    std::map<uint16_t, uint64_t> codes;  // since start
  };
  std::vector<RouteWindow> routeWindows(uint64_t now_us);
  // Seconds the windows cover at now_us (less than 60 just after start).
  double windowSeconds(uint64_t now_us) const;
  static uint64_t nowMicros();

 private:
  std::mutex mu_;
  std::vector<std::unique_ptr<WorkerMetrics>> shards_;
  std::atomic<uint64_t> reloads_ok_{0}, reloads_failed_{0};
  std::atomic<bool> draining_{false};
  std::atomic<bool> request_metrics_{true};
  uint64_t start_us_ = nowMicros();
  // Families of the observability work (metrics_obs.cc).
  void appendObservability(std::vector<prometheus::MetricFamily>& families, uint64_t now_us);
};

}  // namespace edge
