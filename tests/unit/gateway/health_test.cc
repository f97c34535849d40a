// Passive ejection counting (ServerHealth, with an injected clock) and health kept
// across a snapshot rebuild (reload).
#include "gateway/upstream/health.h"

#include <gtest/gtest.h>

#include "gateway/snapshot.h"

namespace edge {
namespace {

using namespace std::chrono_literals;

conf::OutlierDetection detection(unsigned failures, unsigned five_xx) {
  conf::OutlierDetection od;
  od.consecutive_failures = failures;
  od.consecutive_5xx = five_xx;
  od.eject_for = 10s;
  return od;
}

TEST(ServerHealthTest, ConsecutiveFailuresEjectForAWhile) {
  ServerHealth h;
  auto od = detection(3, 0);
  EXPECT_FALSE(h.recordFailure(od, 1000));
  EXPECT_FALSE(h.recordFailure(od, 1000));
  EXPECT_TRUE(h.available(1000));
  EXPECT_TRUE(h.recordFailure(od, 1000));  // the third one ejects, reported once
  EXPECT_FALSE(h.available(1000));
  EXPECT_TRUE(h.ejected(1000 + 9'999'999));
  EXPECT_TRUE(h.available(1000 + 10'000'000));
}

TEST(ServerHealthTest, AResponseBreaksTheFailureRun) {
  ServerHealth h;
  auto od = detection(2, 0);
  EXPECT_FALSE(h.recordFailure(od, 0));
  EXPECT_FALSE(h.recordResponse(200, od, 0));
  EXPECT_FALSE(h.recordFailure(od, 0));
  EXPECT_TRUE(h.available(0));
  // 5xx counting is off (0): any number of them keeps the server in.
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(h.recordResponse(503, od, 0));
  EXPECT_TRUE(h.available(0));
}

TEST(ServerHealthTest, Consecutive5xxEject) {
  ServerHealth h;
  auto od = detection(0, 2);
  EXPECT_FALSE(h.recordResponse(500, od, 0));
  EXPECT_FALSE(h.recordResponse(404, od, 0));  // a non-5xx answer restarts the count
  EXPECT_FALSE(h.recordResponse(502, od, 0));
  EXPECT_TRUE(h.recordResponse(504, od, 0));
  EXPECT_FALSE(h.available(5'000'000));
  // Failures are off (0): they never eject.
  ServerHealth g;
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(g.recordFailure(od, 0));
  EXPECT_TRUE(g.available(0));
}

TEST(ServerHealthTest, ActiveVerdictAndEjectionBothCount) {
  ServerHealth h;
  EXPECT_TRUE(h.available(0));
  h.setActiveOk(false);
  EXPECT_FALSE(h.available(0));
  h.setActiveOk(true);
  EXPECT_TRUE(h.available(0));
}

std::shared_ptr<const conf::Config> configWith(std::vector<conf::HostPort> servers) {
  auto cfg = std::make_shared<conf::Config>();
  conf::Upstream up;
  up.name = "app";
  up.servers = std::move(servers);
  cfg->upstreams["app"] = up;
  return cfg;
}

TEST(SnapshotHealthTest, AReloadKeepsTheHealthOfServersThatRemain) {
  auto first = Snapshot::build(configWith({{"127.0.0.1", 3000}, {"127.0.0.1", 3001}}), 1);
  const conf::Upstream& up1 = first->config().upstreams.at("app");
  first->health(up1, 0).setActiveOk(false);
  first->health(up1, 1).setActiveOk(false);
  // 3001 stays (now first), 3000 goes, 3002 is new.
  auto second =
      Snapshot::build(configWith({{"127.0.0.1", 3001}, {"127.0.0.1", 3002}}), 2, first.get());
  const conf::Upstream& up2 = second->config().upstreams.at("app");
  EXPECT_EQ(&second->health(up2, 0), &first->health(up1, 1));
  EXPECT_FALSE(second->health(up2, 0).activeOk());
  EXPECT_TRUE(second->health(up2, 1).activeOk());
  ASSERT_EQ(second->healthEntries().size(), 2u);
  EXPECT_EQ(second->healthEntries()[1].server->str(), "127.0.0.1:3002");
}

}  // namespace
}  // namespace edge
