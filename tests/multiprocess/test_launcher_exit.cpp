// camurerun exit-status rules: all zero, lowest failing rank, signals, abort, teardown.
#include "support/probe/camurerun_process.hpp"

#include <gtest/gtest.h>

#include <climits>

using camure::test::CamurerunProcess;
using camure::test::lines_of;
using namespace std::chrono_literals;

namespace {

std::string host() {
  char buf[HOST_NAME_MAX + 1] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

/// The single camurerun line on stderr (asserts there is exactly one).
std::string only_line(const std::string &err) {
  auto ls = lines_of(err);
  EXPECT_EQ(ls.size(), 1u) << err;
  return ls.empty() ? "" : ls[0];
}

} // namespace

TEST(LauncherExit, AllRanksZeroGivesZeroAndNoMessage) {
  CamurerunProcess p({"-n", "4", PROBE_PATH, "exit", ""});
  EXPECT_EQ(p.finish(), 0);
  EXPECT_EQ(p.err(), "");
}

TEST(LauncherExit, OneRankExitsThreeEndsTheJobWithThree) {
  camure::test::become_subreaper();
  CamurerunProcess p({"-n", "4", "--kill-grace", "5", PROBE_PATH, "fail-then-wait", "1=3"});
  EXPECT_EQ(p.finish(), 3);
  const std::string line = only_line(p.err());
  EXPECT_NE(line.find("rank 1 "), std::string::npos) << line;
  EXPECT_NE(line.find("code 3"), std::string::npos) << line;
  EXPECT_NE(line.find("host " + host()), std::string::npos) << line;
  EXPECT_TRUE(camure::test::no_descendants_left(10s));
}

TEST(LauncherExit, LowestFailingRankWinsWhenSeveralFail) {
  // --keep-going: every rank runs to its end, so ranks 1 and 3 both fail whatever the timing.
  CamurerunProcess p({"-n", "5", "--keep-going", PROBE_PATH, "exit", "3=9,1=4,4=2"});
  EXPECT_EQ(p.finish(), 4);
  const std::string line = only_line(p.err());
  EXPECT_NE(line.find("rank 1 "), std::string::npos) << line;
  EXPECT_NE(line.find("code 4"), std::string::npos) << line;
  EXPECT_NE(line.find("3 ranks failed"), std::string::npos) << line;
}

TEST(LauncherExit, SignalledRankGives128PlusSignal) {
  CamurerunProcess p({"-n", "3", PROBE_PATH, "raise", "2=15"});
  EXPECT_EQ(p.finish(), 128 + SIGTERM);
  const std::string line = only_line(p.err());
  EXPECT_NE(line.find("rank 2 "), std::string::npos) << line;
  EXPECT_NE(line.find("signal 15"), std::string::npos) << line;
}

TEST(LauncherExit, SigkillOfOneRankEndsTheJobWith137) {
  camure::test::become_subreaper();
  CamurerunProcess p({"-n", "3", PROBE_PATH, "wait"});
  auto pids = p.wait_ready(3);
  ASSERT_EQ(pids.size(), 3u) << p.out() << p.err();
  // Find rank 1's pid from its ready line.
  pid_t victim = -1;
  for (const auto &l : lines_of(p.out())) {
    int r = 0, pid = 0;
    if (std::sscanf(l.c_str(), "ready %d %d", &r, &pid) == 2 && r == 1) victim = pid;
  }
  ASSERT_GT(victim, 0);
  ::kill(victim, SIGKILL);
  EXPECT_EQ(p.finish(), 137);
  const std::string line = only_line(p.err());
  EXPECT_NE(line.find("rank 1 "), std::string::npos) << line;
  EXPECT_NE(line.find("signal 9"), std::string::npos) << line;
  for (pid_t pid : pids) EXPECT_FALSE(camure::test::process_alive(pid)) << pid;
  EXPECT_TRUE(camure::test::no_descendants_left(10s));
}

TEST(LauncherExit, AbortOnControlFdEndsTheJobWithItsCode) {
  camure::test::become_subreaper();
  CamurerunProcess p({"-n", "4", PROBE_PATH, "abort", "2", "42"});
  EXPECT_EQ(p.finish(), 42);
  const std::string line = only_line(p.err());
  EXPECT_NE(line.find("rank 2 "), std::string::npos) << line;
  EXPECT_NE(line.find("abort"), std::string::npos) << line;
  EXPECT_NE(line.find("42"), std::string::npos) << line;
  EXPECT_TRUE(camure::test::no_descendants_left(10s));
}

TEST(LauncherExit, RanksIgnoringSigtermAreKilledAfterTheGracePeriod) {
  camure::test::become_subreaper();
  CamurerunProcess p({"-n", "3", "--kill-grace", "0.2", PROBE_PATH, "wait", "ignore-term"});
  auto pids = p.wait_ready(3);
  ASSERT_EQ(pids.size(), 3u);
  ::kill(pids[0], SIGKILL); // one rank fails; the others ignore SIGTERM
  const auto code = p.finish(30s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 137);
  for (pid_t pid : pids) EXPECT_FALSE(camure::test::process_alive(pid)) << pid;
  EXPECT_TRUE(camure::test::no_descendants_left(10s));
}

TEST(LauncherExit, KeepGoingLetsOtherRanksFinish) {
  CamurerunProcess p({"-n", "3", "--keep-going", PROBE_PATH, "exit", "0=5"});
  EXPECT_EQ(p.finish(), 5);
  EXPECT_NE(only_line(p.err()).find("rank 0 "), std::string::npos);
}
