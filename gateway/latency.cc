#include "gateway/latency.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace edge {

size_t LatencySketch::bucketOf(uint64_t ns) {
  if (ns > kMaxValue) ns = kMaxValue;
  if (ns < 2 * kSub) return static_cast<size_t>(ns);
  unsigned k = 63 - static_cast<unsigned>(std::countl_zero(ns));  // floor(log2 ns) >= 7
  unsigned shift = k - kSubBits;
  return 2 * kSub + (k - kSubBits - 1) * kSub + ((ns >> shift) - kSub);
}

uint64_t LatencySketch::bucketLow(size_t i) {
  if (i < 2 * kSub) return i;
  size_t j = i - 2 * kSub;
  unsigned shift = static_cast<unsigned>(j / kSub) + 1;
  return (kSub + j % kSub) << shift;
}

uint64_t LatencySketch::bucketWidth(size_t i) {
  if (i < 2 * kSub) return 1;
  return uint64_t{1} << (static_cast<unsigned>((i - 2 * kSub) / kSub) + 1);
}

double LatencySketch::quantileNs(double q) const {
  if (total_ == 0) return std::numeric_limits<double>::quiet_NaN();
  double r = std::ceil(q * static_cast<double>(total_));
  uint64_t rank = r < 1 ? 1 : r > static_cast<double>(total_) ? total_ : static_cast<uint64_t>(r);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      // The middle of the bucket's integer range halves the worst-case error.
      return static_cast<double>(bucketLow(i)) + static_cast<double>(bucketWidth(i) - 1) / 2;
    }
  }
  return static_cast<double>(kMaxValue);
}

void LatencyWindow::record(uint64_t latency_ns, uint16_t status, uint64_t now_ns) {
  uint64_t period = now_ns / kSliceNs;
  Slice& s = slices_[period % kSlices];
  if (s.period != period) {
    // The slice last held a period that has left the window: start it afresh.
    s.period = period;
    s.counts = {};
    if (s.buckets) memset(s.buckets.get(), 0, LatencySketch::kBuckets * sizeof(uint32_t));
  }
  if (!s.buckets) s.buckets = std::make_unique<uint32_t[]>(LatencySketch::kBuckets);
  ++s.buckets[LatencySketch::bucketOf(latency_ns)];
  ++s.counts.requests;
  if (status >= 500) ++s.counts.errors_5xx;
  if (status == 429) ++s.counts.limited_429;
}

void LatencyWindow::mergeInto(LatencySketch& out, WindowCounts& counts, uint64_t now_ns) const {
  uint64_t period = now_ns / kSliceNs;
  for (const Slice& s : slices_) {
    if (s.period == UINT64_MAX || s.period > period || period - s.period >= kSlices) continue;
    counts.add(s.counts);
    if (!s.buckets) continue;
    for (size_t i = 0; i < LatencySketch::kBuckets; ++i)
      if (s.buckets[i]) out.addBucket(i, s.buckets[i]);
  }
}

double windowSeconds(uint64_t now_ns, uint64_t start_ns) {
  uint64_t period = now_ns / LatencyWindow::kSliceNs;
  uint64_t first = period >= LatencyWindow::kSlices - 1 ? period - (LatencyWindow::kSlices - 1) : 0;
  uint64_t from = first * LatencyWindow::kSliceNs;
  if (start_ns > from) from = start_ns;
  if (now_ns <= from) return 0;
  return static_cast<double>(now_ns - from) / 1e9;
}

}  // namespace edge
