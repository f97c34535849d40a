#include <gtest/gtest.h>

#include <string>

#include "gateway/metrics.h"

namespace edge {
namespace {

bool hasLine(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(MetricsSummary, QuantilesOverTheWindowCountAndSumSinceStart) {
  Metrics m;
  WorkerMetrics* a = m.addShard();
  WorkerMetrics* b = m.addShard();
  uint64_t t0 = Metrics::nowMicros();
  auto* ra = a->routeStats("main", "login");
  auto* rb = b->routeStats("main", "login");
  // 1..100 ms, split over two workers.
  for (int i = 1; i <= 100; ++i)
    (i % 2 ? a : b)->recordRequest(i % 2 ? ra : rb, 2, 200, i / 1000.0, t0);
  std::string text = m.render(t0 + 1000);
  EXPECT_TRUE(hasLine(text, "# TYPE edgegate_request_latency_seconds summary")) << text;
  EXPECT_TRUE(
      hasLine(text, "edgegate_request_latency_seconds_count{site=\"main\",route=\"login\"} 100"))
      << text;
  // Nearest rank: p50 = 50 ms, p95 = 95 ms, p99 = 99 ms, each within the sketch's 1/128.
  for (auto [q, want] : {std::pair{"0.5", 0.050}, {"0.95", 0.095}, {"0.99", 0.099}}) {
    std::string key = "edgegate_request_latency_seconds{site=\"main\",route=\"login\",quantile=\"" +
                      std::string(q) + "\"} ";
    size_t at = text.find(key);
    ASSERT_NE(at, std::string::npos) << key;
    double got = std::stod(text.substr(at + key.size()));
    EXPECT_NEAR(got, want, want / 128) << q;
  }
  // Two minutes later the window is empty (NaN quantiles), the count stays.
  text = m.render(t0 + 120'000'000);
  EXPECT_TRUE(hasLine(
      text,
      "edgegate_request_latency_seconds{site=\"main\",route=\"login\",quantile=\"0.95\"} Nan"))
      << text;
  EXPECT_TRUE(
      hasLine(text, "edgegate_request_latency_seconds_count{site=\"main\",route=\"login\"} 100"));
  auto windows = m.routeWindows(t0 + 1000);
  ASSERT_EQ(windows.size(), 1u);
  EXPECT_EQ(windows[0].counts.requests, 100u);
  EXPECT_EQ(windows[0].codes[200], 100u);
}

TEST(MetricsUpstream, OutcomesAndAcceptedConnections) {
  Metrics m;
  WorkerMetrics* a = m.addShard();
  a->recordUpstreamOutcome("app", WorkerMetrics::kUpstreamResponse);
  a->recordUpstreamOutcome("app", WorkerMetrics::kUpstreamRetried);
  a->recordUpstreamOutcome("app", WorkerMetrics::kUpstreamConnectError);
  a->connectionOpened("http");
  a->connectionOpened("http");
  a->connectionClosed("http");
  std::string text = m.render();
  EXPECT_TRUE(
      hasLine(text, "edgegate_upstream_requests_total{upstream=\"app\",outcome=\"response\"} 1"));
  EXPECT_TRUE(
      hasLine(text, "edgegate_upstream_requests_total{upstream=\"app\",outcome=\"retried\"} 1"));
  EXPECT_TRUE(
      hasLine(text, "edgegate_upstream_requests_total{upstream=\"app\",outcome=\"timeout\"} 0"));
  EXPECT_TRUE(hasLine(text, "edgegate_connections_total{listener=\"http\"} 2"));
  EXPECT_TRUE(hasLine(text, "edgegate_connections_active{listener=\"http\"} 1"));
  // No TLS handshake recorded: no family (an absent series, not a zero).
  EXPECT_EQ(text.find("edgegate_tls_handshakes_total"), std::string::npos);
  a->recordTlsHandshake("https", "TLSv1.3", true);
  text = m.render();
  EXPECT_TRUE(hasLine(text,
                      "edgegate_tls_handshakes_total{listener=\"https\",version=\"TLSv1.3\",result="
                      "\"success\"} 1"));
}

}  // namespace
}  // namespace edge
