// WaitPolicy (yield-spin or block) and Handover (when the progress thread gets the sockets
// back), driven by a fake clock.
#include <gtest/gtest.h>

#include "runtime/net/wait_policy.hpp"

using camure::net::Handover;
using camure::net::Nanos;
using camure::net::WaitPolicy;
using Action = WaitPolicy::Action;

namespace {
WaitPolicy::Config config() {
  WaitPolicy::Config c;
  c.spin = 200'000;
  c.contended = 100'000;
  c.remember = 20'000'000;
  return c;
}
} // namespace

TEST(NetWaitPolicy, YieldSpinsWhileOthersOnlyWaitToo) {
  WaitPolicy p(config());
  p.start(0);
  EXPECT_EQ(p.next(1'000), Action::yield);
  p.yielded(1'000, 1'300); // nobody else wanted the CPU
  EXPECT_EQ(p.next(2'000), Action::yield);
  p.yielded(2'000, 30'000); // other waiters ran briefly
  EXPECT_EQ(p.next(30'500), Action::yield);
  EXPECT_EQ(p.yields(), 2u);
  EXPECT_EQ(p.contended_yields(), 0u);
}

TEST(NetWaitPolicy, BlocksOnceTheSpinBudgetIsSpent) {
  WaitPolicy p(config());
  p.start(10'000);
  EXPECT_EQ(p.next(209'999), Action::yield);
  EXPECT_EQ(p.next(210'000), Action::block);
  EXPECT_EQ(p.next(5'000'000), Action::block);
  p.start(6'000'000); // the next wait spins again
  EXPECT_EQ(p.next(6'001'000), Action::yield);
}

TEST(NetWaitPolicy, AfterAYieldLostTheCpuForLongItBlocksAtOnceForAWhile) {
  WaitPolicy p(config());
  p.start(0);
  ASSERT_EQ(p.next(1'000), Action::yield);
  p.yielded(1'000, 2'001'000); // a CPU hog ran for 2 ms: yielding hands it whole slices
  EXPECT_EQ(p.contended_yields(), 1u);
  EXPECT_EQ(p.next(2'001'500), Action::block); // the rest of this wait
  p.start(5'000'000);
  EXPECT_EQ(p.next(5'000'100), Action::block); // and the waits soon after it
  p.start(22'001'000);                          // `remember` later: try a yield again
  EXPECT_EQ(p.next(22'001'100), Action::yield);
  p.yielded(22'001'100, 22'011'100);            // the hog is gone
  EXPECT_EQ(p.next(22'012'000), Action::yield);
}

TEST(NetWaitPolicy, ZeroBudgetBlocksAtOnce) {
  auto c = config();
  c.spin = 0;
  WaitPolicy p(c);
  p.start(0);
  EXPECT_EQ(p.next(0), Action::block);
}

TEST(NetHandover, TheFirstWaitHandsTheSocketsBack) {
  Handover h(50'000);
  h.wait_started(1'000'000);
  EXPECT_TRUE(h.hand_back(1'100'000));
}

TEST(NetHandover, ALoopOfWaitsKeepsThemParkedUntilTheApplicationGoesElsewhere) {
  Handover h(50'000);
  h.wait_started(0);
  EXPECT_TRUE(h.hand_back(100'000));  // nothing known yet: hand back
  h.wait_started(101'000);            // came back within 1 us: a loop
  EXPECT_FALSE(h.hand_back(200'000)); // keep them for the next round
  h.wait_started(201'000);
  EXPECT_FALSE(h.hand_back(300'000));
  h.wait_started(2'300'000);          // 2 ms of other work: not a loop
  EXPECT_TRUE(h.hand_back(2'400'000));
}
