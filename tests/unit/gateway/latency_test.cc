#include "gateway/latency.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace edge {
namespace {

constexpr uint64_t kSec = 1'000'000'000ull;

// The nearest-rank quantile of the samples: the value with ceil(q * n) samples <= it.
double exactQuantile(std::vector<uint64_t> v, double q) {
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  if (rank < 1) rank = 1;
  return static_cast<double>(v[rank - 1]);
}

void expectClose(const std::vector<uint64_t>& samples, const char* what) {
  LatencySketch sketch;
  for (uint64_t s : samples) sketch.add(s);
  for (double q : {0.5, 0.9, 0.95, 0.99, 0.999}) {
    double exact = exactQuantile(samples, q);
    double got = sketch.quantileNs(q);
    double rel = std::fabs(got - exact) / exact;
    EXPECT_LT(rel, 0.02) << what << " q=" << q << " exact=" << exact << " got=" << got;
    // The layout promises better than the 2% the issue asks for.
    EXPECT_LE(rel, 1.0 / 128) << what << " q=" << q;
  }
}

TEST(LatencySketch, BucketsCoverTheRangeContiguously) {
  uint64_t next = 0;
  for (size_t i = 0; i < LatencySketch::kBuckets; ++i) {
    ASSERT_EQ(LatencySketch::bucketLow(i), next) << "bucket " << i;
    ASSERT_EQ(LatencySketch::bucketOf(next), i);
    uint64_t last = next + LatencySketch::bucketWidth(i) - 1;
    ASSERT_EQ(LatencySketch::bucketOf(last), i);
    // No bucket is wider than 1/64 of its lowest value (above the exact range).
    if (next >= 128) {
      ASSERT_LE(LatencySketch::bucketWidth(i) * 64, next);
    }
    next = last + 1;
  }
  EXPECT_EQ(next - 1, LatencySketch::kMaxValue);
  EXPECT_EQ(LatencySketch::bucketOf(LatencySketch::kMaxValue + 12345), LatencySketch::kBuckets - 1);
}

TEST(LatencySketch, EmptyIsNaN) {
  LatencySketch s;
  EXPECT_TRUE(std::isnan(s.quantileNs(0.5)));
}

TEST(LatencySketch, UniformWithinTwoPercent) {
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<uint64_t> d(1'000'000, 200'000'000);  // 1 ms .. 200 ms
  std::vector<uint64_t> v(200000);
  for (auto& x : v) x = d(rng);
  expectClose(v, "uniform 1-200ms");
}

TEST(LatencySketch, ExponentialWithinTwoPercent) {
  std::mt19937_64 rng(2);
  std::exponential_distribution<double> d(1.0 / 20e6);  // mean 20 ms
  std::vector<uint64_t> v(200000);
  for (auto& x : v) x = static_cast<uint64_t>(d(rng)) + 1000;
  expectClose(v, "exponential mean 20ms");
}

TEST(LatencySketch, LogNormalHeavyTailWithinTwoPercent) {
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> d(std::log(5e6), 1.5);  // median 5 ms, long tail
  std::vector<uint64_t> v(200000);
  for (auto& x : v) x = std::min<uint64_t>(static_cast<uint64_t>(d(rng)), 100 * kSec);
  expectClose(v, "lognormal");
}

TEST(LatencySketch, BimodalCacheHitsAndMissesWithinTwoPercent) {
  std::mt19937_64 rng(4);
  std::normal_distribution<double> fast(300e3, 50e3);  // 300 us hits
  std::normal_distribution<double> slow(80e6, 10e6);   // 80 ms misses
  std::bernoulli_distribution miss(0.07);
  std::vector<uint64_t> v(200000);
  for (auto& x : v) x = static_cast<uint64_t>(std::max(1000.0, miss(rng) ? slow(rng) : fast(rng)));
  expectClose(v, "bimodal");
}

TEST(LatencySketch, SubMicrosecondValuesAreExact) {
  std::vector<uint64_t> v;
  for (uint64_t i = 1; i <= 100; ++i) v.push_back(i);
  LatencySketch s;
  for (uint64_t x : v) s.add(x);
  EXPECT_EQ(s.quantileNs(0.5), 50);
  EXPECT_EQ(s.quantileNs(0.99), 99);
  EXPECT_EQ(s.quantileNs(1.0), 100);
}

TEST(LatencyWindow, KeepsTheLastSixtySecondsOnly) {
  LatencyWindow w;
  uint64_t t0 = 1000 * kSec;  // a slice boundary
  // 10 ms samples at t0 .. t0+9s, then 100 ms samples from t0+30s on.
  for (int i = 0; i < 100; ++i) w.record(10'000'000, 200, t0 + i * kSec / 10);
  for (int i = 0; i < 100; ++i) w.record(100'000'000, 200, t0 + 30 * kSec + i * kSec / 10);

  auto p50At = [&](uint64_t now, uint64_t* n) {
    LatencySketch s;
    WindowCounts c;
    w.mergeInto(s, c, now);
    *n = c.requests;
    EXPECT_EQ(s.total(), c.requests);
    return s.quantileNs(0.5);
  };
  uint64_t n = 0;
  // At t0+45s both groups are inside the window.
  double p = p50At(t0 + 45 * kSec, &n);
  EXPECT_EQ(n, 200u);
  EXPECT_NEAR(p, 10e6, 10e6 * 0.01);
  // At t0+60s the first slice (t0 .. t0+10s) has left the window.
  p = p50At(t0 + 60 * kSec, &n);
  EXPECT_EQ(n, 100u);
  EXPECT_NEAR(p, 100e6, 100e6 * 0.01);
  // Just before, at t0+59.9s, it is still in.
  p50At(t0 + 59 * kSec + 900'000'000, &n);
  EXPECT_EQ(n, 200u);
  // Long after, nothing is left.
  EXPECT_TRUE(std::isnan(p50At(t0 + 200 * kSec, &n)));
  EXPECT_EQ(n, 0u);
}

TEST(LatencyWindow, ReusedSliceIsClearedFirst) {
  LatencyWindow w;
  uint64_t t0 = 600 * kSec;
  w.record(5'000'000, 500, t0);
  // Same slot (period + 6), a minute later: the old sample must be gone.
  w.record(7'000'000, 429, t0 + 60 * kSec);
  LatencySketch s;
  WindowCounts c;
  w.mergeInto(s, c, t0 + 60 * kSec);
  EXPECT_EQ(c.requests, 1u);
  EXPECT_EQ(c.errors_5xx, 0u);
  EXPECT_EQ(c.limited_429, 1u);
  EXPECT_NEAR(s.quantileNs(0.5), 7e6, 7e6 * 0.01);
}

TEST(LatencyWindow, MergesWorkersExactlyAsOneStream) {
  // Two workers' windows merged give the quantiles of all samples together.
  std::mt19937_64 rng(5);
  std::exponential_distribution<double> d(1.0 / 30e6);
  LatencyWindow a, b;
  std::vector<uint64_t> all;
  uint64_t t0 = 5000 * kSec;
  for (int i = 0; i < 50000; ++i) {
    uint64_t x = static_cast<uint64_t>(d(rng)) + 1;
    all.push_back(x);
    (i % 3 ? a : b).record(x, 200, t0 + static_cast<uint64_t>(i) * 1'000'000);  // 50 s of samples
  }
  LatencySketch s;
  WindowCounts c;
  a.mergeInto(s, c, t0 + 50 * kSec);
  b.mergeInto(s, c, t0 + 50 * kSec);
  EXPECT_EQ(c.requests, all.size());
  for (double q : {0.5, 0.95, 0.99}) {
    double exact = exactQuantile(all, q);
    EXPECT_LT(std::fabs(s.quantileNs(q) - exact) / exact, 0.02) << q;
  }
}

TEST(LatencyWindow, WindowSecondsAtStartAndSteadyState) {
  uint64_t start = 1003 * kSec;
  EXPECT_DOUBLE_EQ(windowSeconds(start + 2 * kSec, start), 2.0);
  // Long after start: the 5 previous slices and the elapsed part of this one.
  EXPECT_DOUBLE_EQ(windowSeconds(2004 * kSec, start), 54.0);
  EXPECT_DOUBLE_EQ(windowSeconds(2000 * kSec, start), 50.0);
}

}  // namespace
}  // namespace edge
