// The merged exposition: counts from several worker shards add up.
#include "gateway/metrics.h"

#include <gtest/gtest.h>

namespace edge {
namespace {

TEST(MetricsTest, ShardsMergeIntoOneExposition) {
  Metrics m;
  WorkerMetrics* a = m.addShard();
  WorkerMetrics* b = m.addShard();
  auto* ra = a->routeStats("main", "default");
  auto* rb = b->routeStats("main", "default");
  a->recordRequest(ra, methodIndex("GET"), 200, 0.002);
  a->recordRequest(ra, methodIndex("GET"), 200, 0.02);
  b->recordRequest(rb, methodIndex("GET"), 200, 0.2);
  b->recordRequest(rb, methodIndex("POST"), 502, 0.5);
  a->connectionOpened("http");
  b->connectionOpened("http");
  b->connectionClosed("http");
  a->noteBuffered(1000);
  b->noteBuffered(70000);
  std::string text = m.render();
  EXPECT_NE(text.find("edgegate_requests_total{site=\"main\",route=\"default\",method=\"GET\","
                      "code=\"200\"} 3"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("method=\"POST\",code=\"502\"} 1"), std::string::npos);
  EXPECT_NE(text.find("edgegate_request_duration_seconds_count{site=\"main\",route=\"default\"} 4"),
            std::string::npos);
  // 0.002 and 0.02 are under 25ms, 0.2 and 0.5 are not.
  EXPECT_NE(text.find("edgegate_request_duration_seconds_bucket{site=\"main\",route=\"default\","
                      "le=\"0.025\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("edgegate_connections_active{listener=\"http\"} 1"), std::string::npos);
  EXPECT_NE(text.find("edgegate_buffered_bytes_peak 70000"), std::string::npos);
}

TEST(MetricsTest, UnknownMethodsShareOneLabel) {
  EXPECT_STREQ(methodName(methodIndex("GET")), "GET");
  EXPECT_STREQ(methodName(methodIndex("PROPFIND")), "OTHER");
}

TEST(MetricsTest, HistogramBucketsAreUpperInclusive) {
  Histogram h;
  h.observe(0.001);
  h.observe(0.0011);
  h.observe(100);
  EXPECT_EQ(h.counts[0], 1u);
  EXPECT_EQ(h.counts[1], 1u);
  EXPECT_EQ(h.counts.back(), 1u);
  EXPECT_EQ(h.count, 3u);
}

}  // namespace
}  // namespace edge
