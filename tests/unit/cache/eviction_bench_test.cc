// Hit ratio of S3-FIFO against plain LRU on the same synthetic traces: a Zipf
// workload (web-like popularity) and the same with one-time scans mixed in
// (a crawler or a flood of distinct URLs). Counts, not timings: every number
// is deterministic (fixed seed), printed, and compared.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <unordered_map>
#include <vector>

#include "cache/eviction.h"

namespace edge::cache {
namespace {

// Keys 0..n-1 drawn with probability proportional to 1/(rank^alpha).
std::vector<uint64_t> zipfTrace(size_t n, double alpha, size_t length, uint32_t seed,
                                size_t scan_every = 0, size_t scan_len = 0) {
  std::vector<double> cdf(n);
  double sum = 0;
  for (size_t i = 0; i < n; ++i)
    cdf[i] = (sum += 1.0 / std::pow(static_cast<double>(i + 1), alpha));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, sum);
  std::vector<uint64_t> out;
  out.reserve(length);
  uint64_t next_scan_key = 1ull << 40;  // never repeats
  for (size_t i = 0; i < length; ++i) {
    if (scan_every && i % scan_every == 0)
      for (size_t j = 0; j < scan_len; ++j) out.push_back(next_scan_key++);
    size_t k = static_cast<size_t>(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin());
    // Spread ranks over the key space so hashes do not follow popularity.
    out.push_back(k * 2654435761ull);
  }
  return out;
}

template <typename Order>
double hitRatio(const std::vector<uint64_t>& trace, size_t capacity) {
  Order order(capacity);
  std::unordered_map<uint64_t, EvictNode> nodes;
  size_t hits = 0;
  for (uint64_t key : trace) {
    auto it = nodes.find(key);
    if (it != nodes.end()) {
      ++hits;
      order.touch(&it->second);
      continue;
    }
    while (order.used() + 1 > order.capacity()) {
      EvictNode* victim = order.evictOne();
      if (!victim) break;
      nodes.erase(victim->hash);
    }
    EvictNode& n = nodes[key];
    n.hash = key;
    n.charge = 1;
    order.insert(&n);
  }
  return static_cast<double>(hits) / static_cast<double>(trace.size());
}

TEST(EvictionBenchmark, ZipfS3FifoAtLeastLru) {
  for (double alpha : {0.7, 0.9, 1.1}) {
    for (size_t capacity : {100, 1000}) {
      auto trace = zipfTrace(10000, alpha, 150000, 42);
      double s3 = hitRatio<S3Fifo>(trace, capacity);
      double lru = hitRatio<Lru>(trace, capacity);
      printf("zipf alpha=%.1f objects=10000 capacity=%zu: S3-FIFO %.4f  LRU %.4f\n", alpha,
             capacity, s3, lru);
      EXPECT_GE(s3, lru) << "alpha " << alpha << " capacity " << capacity;
    }
  }
}

TEST(EvictionBenchmark, ScansDoNotFlushThePopularSet) {
  // Every 1000 requests, 2000 one-time URLs: LRU loses its whole working set each time.
  auto trace = zipfTrace(10000, 0.9, 100000, 7, 1000, 2000);
  double s3 = hitRatio<S3Fifo>(trace, 1000);
  double lru = hitRatio<Lru>(trace, 1000);
  printf("zipf alpha=0.9 + scans, capacity=1000: S3-FIFO %.4f  LRU %.4f\n", s3, lru);
  EXPECT_GT(s3, lru * 1.5);
}

}  // namespace
}  // namespace edge::cache
