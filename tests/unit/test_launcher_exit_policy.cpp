// ExitPolicy: which event ends the job and with which status, as pure logic.
#include "launcher/exit_policy.hpp"

#include <gtest/gtest.h>

#include <csignal>

using camure::launcher::ExitPolicy;

namespace {
int exited(int code) { return (code & 0xff) << 8; } // raw wait status of exit(code)
int signalled(int sig) { return sig; }              // raw wait status of a signal death
} // namespace

TEST(LauncherExitPolicy, AllZeroIsZero) {
  ExitPolicy p(3, "h", false);
  for (int r = 0; r < 3; ++r) EXPECT_FALSE(p.on_rank_exit(r, 100 + r, exited(0)));
  EXPECT_EQ(p.exit_code(), 0);
  EXPECT_EQ(p.summary(), "");
}

TEST(LauncherExitPolicy, FirstFailureTearsDownAndLaterEndsAreNotFailures) {
  ExitPolicy p(4, "node7", false);
  EXPECT_FALSE(p.on_rank_exit(0, 10, exited(0)));
  EXPECT_TRUE(p.on_rank_exit(2, 12, exited(3)));
  EXPECT_TRUE(p.tearing_down());
  p.signals_sent();
  EXPECT_FALSE(p.on_rank_exit(1, 11, signalled(SIGTERM))); // killed by us
  EXPECT_FALSE(p.on_rank_exit(3, 13, exited(1)));           // ended during teardown
  EXPECT_EQ(p.exit_code(), 3);
  EXPECT_EQ(p.summary(), "camurerun: rank 2 (pid 12) on host node7 exited with code 3");
}

TEST(LauncherExitPolicy, RanksFailingInTheSameRoundAllCountAndTheLowestWins) {
  ExitPolicy p(4, "h", false);
  // Rank 3 crashed; rank 1 noticed and exited 1 before any teardown signal was sent.
  EXPECT_TRUE(p.on_rank_exit(1, 11, exited(1)));
  EXPECT_FALSE(p.on_rank_exit(3, 13, signalled(SIGSEGV))); // teardown already asked for
  p.signals_sent();
  EXPECT_FALSE(p.on_rank_exit(0, 10, signalled(SIGTERM)));
  EXPECT_FALSE(p.on_rank_exit(2, 12, signalled(SIGTERM)));
  EXPECT_EQ(p.exit_code(), 1);
  const std::string s = p.summary();
  EXPECT_NE(s.find("rank 1 (pid 11)"), std::string::npos) << s;
  EXPECT_NE(s.find("2 ranks failed"), std::string::npos) << s;
}

TEST(LauncherExitPolicy, LowestFailingRankWinsWithKeepGoing) {
  ExitPolicy p(5, "h", true);
  EXPECT_FALSE(p.on_rank_exit(4, 14, exited(9)));
  EXPECT_FALSE(p.on_rank_exit(1, 11, signalled(SIGSEGV)));
  EXPECT_FALSE(p.on_rank_exit(3, 13, exited(2)));
  EXPECT_FALSE(p.tearing_down());
  EXPECT_EQ(p.exit_code(), 128 + SIGSEGV);
  const std::string s = p.summary();
  EXPECT_NE(s.find("rank 1 (pid 11)"), std::string::npos) << s;
  EXPECT_NE(s.find("signal 11"), std::string::npos) << s;
  EXPECT_NE(s.find("3 ranks failed"), std::string::npos) << s;
}

TEST(LauncherExitPolicy, AbortCodeWins) {
  ExitPolicy p(3, "h", false);
  EXPECT_TRUE(p.on_abort(1, 42));
  p.signals_sent();
  EXPECT_FALSE(p.on_rank_exit(1, 11, exited(42)));
  EXPECT_FALSE(p.on_rank_exit(0, 10, signalled(SIGTERM)));
  EXPECT_FALSE(p.on_abort(2, 7)); // only the first abort counts
  EXPECT_EQ(p.exit_code(), 42);
  EXPECT_EQ(p.summary(), "camurerun: rank 1 on host h aborted the job with code 42");
}

TEST(LauncherExitPolicy, AbortCodesAreMadeValidExitStatuses) {
  ExitPolicy a(1, "h", false);
  a.on_abort(0, 256);
  EXPECT_EQ(a.exit_code(), 1);
  ExitPolicy b(1, "h", false);
  b.on_abort(0, 0);
  EXPECT_EQ(b.exit_code(), 0);
  ExitPolicy c(1, "h", false);
  c.on_abort(0, 300);
  EXPECT_EQ(c.exit_code(), 300 & 0xff);
}

TEST(LauncherExitPolicy, SignalToLauncherGives128PlusSignal) {
  ExitPolicy p(2, "h", false);
  EXPECT_TRUE(p.on_signal(SIGINT));
  EXPECT_FALSE(p.on_signal(SIGTERM));
  p.signals_sent();
  p.on_rank_exit(0, 10, signalled(SIGINT));
  p.on_rank_exit(1, 11, exited(1));
  EXPECT_EQ(p.exit_code(), 130);
  EXPECT_NE(p.summary().find("signal 2"), std::string::npos);
}

TEST(LauncherExitPolicy, FailureBeforeSignalKeepsTheFailureCode) {
  ExitPolicy p(2, "h", false);
  EXPECT_TRUE(p.on_rank_exit(1, 11, exited(5)));
  EXPECT_FALSE(p.on_signal(SIGINT));
  EXPECT_EQ(p.exit_code(), 5);
}

TEST(LauncherExitPolicy, TimeoutGives124) {
  ExitPolicy p(2, "h", false);
  EXPECT_TRUE(p.on_timeout());
  p.signals_sent();
  p.on_rank_exit(0, 10, signalled(SIGTERM));
  p.on_rank_exit(1, 11, signalled(SIGKILL));
  EXPECT_EQ(p.exit_code(), camure::launcher::kTimeoutExitCode);
  EXPECT_NE(p.summary().find("timed out"), std::string::npos);
}

TEST(LauncherExitPolicy, CodeOfWaitStatuses) {
  EXPECT_EQ(ExitPolicy::code_of(exited(0)), 0);
  EXPECT_EQ(ExitPolicy::code_of(exited(255)), 255);
  EXPECT_EQ(ExitPolicy::code_of(signalled(SIGKILL)), 137);
}

TEST(LauncherExitPolicy, OutOfRangeRanksAreIgnored) {
  ExitPolicy p(2, "h", false);
  EXPECT_FALSE(p.on_rank_exit(-1, 1, exited(3)));
  EXPECT_FALSE(p.on_rank_exit(2, 1, exited(3)));
  EXPECT_FALSE(p.on_rank_exit(0, 10, exited(0)));
  EXPECT_FALSE(p.on_rank_exit(0, 10, exited(3))); // a second report of the same rank
  EXPECT_EQ(p.exit_code(), 0);
}
