#include "gateway/http2/flood_guard.h"

#include <gtest/gtest.h>

namespace edge::http2 {
namespace {

TEST(FloodGuard, RateWithinOneSecond) {
  FloodGuard::Limits l;
  l.per_second[static_cast<int>(Flood::kPing)] = 3;
  FloodGuard g(l);
  uint64_t t = 5000000;
  EXPECT_TRUE(g.note(Flood::kPing, t));
  EXPECT_TRUE(g.note(Flood::kPing, t + 1));
  EXPECT_TRUE(g.note(Flood::kPing, t + 2));
  EXPECT_FALSE(g.note(Flood::kPing, t + 3));
  EXPECT_TRUE(g.tripped());
  EXPECT_FALSE(g.note(Flood::kPing, t + 10000000));  // tripped stays tripped
}

TEST(FloodGuard, WindowRestarts) {
  FloodGuard::Limits l;
  l.per_second[static_cast<int>(Flood::kSettings)] = 2;
  FloodGuard g(l);
  uint64_t t = 1000000;
  for (int round = 0; round < 10; ++round) {
    EXPECT_TRUE(g.note(Flood::kSettings, t));
    EXPECT_TRUE(g.note(Flood::kSettings, t + 10));
    t += 1000000;
  }
  EXPECT_FALSE(g.tripped());
}

TEST(FloodGuard, KindsAreCountedApart) {
  FloodGuard::Limits l;
  l.per_second[static_cast<int>(Flood::kPing)] = 1;
  l.per_second[static_cast<int>(Flood::kEmptyData)] = 1;
  FloodGuard g(l);
  EXPECT_TRUE(g.note(Flood::kPing, 1));
  EXPECT_TRUE(g.note(Flood::kEmptyData, 2));
  EXPECT_FALSE(g.note(Flood::kEmptyData, 3));
}

TEST(FloodGuard, ResetsAgainstCompletedResponses) {
  FloodGuard::Limits l;
  l.reset_allowance = 10;
  FloodGuard g(l);
  uint64_t t = 0;
  // Spread out in time: only the ratio can trip.
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(g.note(Flood::kReset, t += 100000));
  EXPECT_FALSE(g.note(Flood::kReset, t += 100000));  // 11 resets, nothing completed
}

TEST(FloodGuard, BrowserLikeCancelsPass) {
  FloodGuard::Limits l;
  l.reset_allowance = 10;
  FloodGuard g(l);
  uint64_t t = 0;
  for (int i = 0; i < 1000; ++i) {
    g.noteCompleted();
    g.noteCompleted();
    EXPECT_TRUE(g.note(Flood::kReset, t += 20000));  // one in three streams cancelled
  }
  EXPECT_EQ(g.resets(), 1000u);
}

}  // namespace
}  // namespace edge::http2
