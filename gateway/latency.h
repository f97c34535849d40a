#pragma once
// Sliding-window latency quantiles for edgegate_request_latency_seconds.
//
// Why not prometheus-cpp's Summary: it takes a mutex per observation that all
// workers would share. Here each worker records into its own LatencyWindow
// (guarded by that worker's metrics mutex, which only a scrape contends for),
// and a scrape merges the windows of all workers into one LatencySketch and
// reads the quantiles off it.
//
// The sketch is a log-linear histogram (HdrHistogram's layout): below 128 ns
// one bucket per nanosecond, above it 64 buckets per power of two. A quantile
// is answered with the middle of its bucket, so the relative error is at most
// 1/128 (< 0.8%) for any distribution. Values are clamped to [0, 2^37 ns ~ 137 s].
//
// The window is kSlices slices of kSliceNs each, rotated by time: a slice is
// cleared when it is first written in a new period, and a merge takes the
// slices of the last kSlices periods (the current one included), so the
// quantiles cover the last 50 to 60 seconds, as a Prometheus client's
// age-bucketed summary does. Time is passed in (injected clock, no syscall).
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

namespace edge {

class LatencySketch {
 public:
  static constexpr unsigned kSubBits = 6;  // 64 buckets per power of two
  static constexpr uint64_t kSub = 1u << kSubBits;
  static constexpr unsigned kMaxBits = 37;  // values up to 2^37 ns
  static constexpr size_t kBuckets = 2 * kSub + (kMaxBits - kSubBits - 1) * kSub;
  static constexpr uint64_t kMaxValue = (uint64_t{1} << kMaxBits) - 1;

  static size_t bucketOf(uint64_t ns);
  // The smallest value of bucket i and its width (both in ns).
  static uint64_t bucketLow(size_t i);
  static uint64_t bucketWidth(size_t i);

  LatencySketch() : counts_(kBuckets, 0) {}
  void add(uint64_t ns, uint64_t n = 1) {
    counts_[bucketOf(ns)] += n;
    total_ += n;
  }
  void addBucket(size_t i, uint64_t n) {
    counts_[i] += n;
    total_ += n;
  }
  uint64_t total() const { return total_; }
  // The q-quantile (0 < q <= 1) in nanoseconds, by nearest rank: the value v
  // such that ceil(q * total) samples are <= v. NaN when empty.
  double quantileNs(double q) const;

 private:
  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;
};

// Per-window counters besides the latencies, for the status page.
struct WindowCounts {
  uint64_t requests = 0;
  uint64_t errors_5xx = 0;
  uint64_t limited_429 = 0;
  void add(const WindowCounts& o) {
    requests += o.requests;
    errors_5xx += o.errors_5xx;
    limited_429 += o.limited_429;
  }
};

// One writer (a worker's loop thread); merges happen under the same external
// lock as the writes (WorkerMetrics::mu_).
class LatencyWindow {
 public:
  static constexpr unsigned kSlices = 6;
  static constexpr uint64_t kSliceNs = 10'000'000'000ull;  // 10 s

  void record(uint64_t latency_ns, uint16_t status, uint64_t now_ns);
  // Adds the slices that are inside the window at now_ns.
  void mergeInto(LatencySketch& out, WindowCounts& counts, uint64_t now_ns) const;

 private:
  struct Slice {
    uint64_t period = UINT64_MAX;  // now_ns / kSliceNs when it was filled; MAX = never
    WindowCounts counts;
    // Allocated on first use: a route that never sees traffic costs nothing.
    std::unique_ptr<uint32_t[]> buckets;
  };
  std::array<Slice, kSlices> slices_;
};

// How much time a window merged at now_ns covers, given when recording began
// (the process start): 60 s once the process has run that long.
double windowSeconds(uint64_t now_ns, uint64_t start_ns);

}  // namespace edge
