// camurerun and signals: SIGINT/SIGTERM forwarded, camurerun SIGKILLed, --timeout; no orphans.
#include "support/probe/camurerun_process.hpp"

#include "support/wait.hpp"

#include <gtest/gtest.h>

#include <filesystem>

using camure::test::CamurerunProcess;
using camure::test::lines_of;
using namespace std::chrono_literals;

namespace {

/// CAMURE_JOB_ID from a running rank's environment.
std::string job_id_of(pid_t pid) {
  FILE *f = std::fopen(("/proc/" + std::to_string(pid) + "/environ").c_str(), "r");
  if (!f) return "";
  std::string env;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) env.append(buf, n);
  std::fclose(f);
  for (std::size_t pos = 0; pos < env.size();) {
    std::string kv = env.c_str() + pos;
    if (kv.rfind("CAMURE_JOB_ID=", 0) == 0) return kv.substr(14);
    pos += kv.size() + 1;
  }
  return "";
}

/// Removes what a failed expectation may have left behind.
void remove_segments(const std::string &job);

std::vector<std::string> segments_of(const std::string &job) {
  std::vector<std::string> out;
  for (const auto &e : std::filesystem::directory_iterator("/dev/shm"))
    if (e.path().filename().string().rfind("camure-" + job + "-", 0) == 0) out.push_back(e.path());
  return out;
}

void remove_segments(const std::string &job) {
  for (const auto &p : segments_of(job)) std::filesystem::remove(p);
}

class LauncherSignals : public ::testing::TestWithParam<int> {};

} // namespace

TEST_P(LauncherSignals, SignalToCamurerunReachesEveryRankAndLeavesNoProcess) {
  const int sig = GetParam();
  camure::test::become_subreaper();
  CamurerunProcess p({"-n", "4", PROBE_PATH, "wait"});
  auto pids = p.wait_ready(4);
  ASSERT_EQ(pids.size(), 4u) << p.err();
  p.signal(sig);
  EXPECT_EQ(p.finish(), 128 + sig);
  EXPECT_NE(p.err().find("signal " + std::to_string(sig)), std::string::npos) << p.err();
  for (pid_t pid : pids) EXPECT_FALSE(camure::test::process_alive(pid)) << pid;
  EXPECT_TRUE(camure::test::no_descendants_left(10s));
}

INSTANTIATE_TEST_SUITE_P(IntAndTerm, LauncherSignals, ::testing::Values(SIGINT, SIGTERM));

TEST(LauncherSignalsMore, SecondSigintKillsRanksThatIgnoreTheFirst) {
  camure::test::become_subreaper();
  CamurerunProcess p({"-n", "2", "--kill-grace", "1000", PROBE_PATH, "wait", "ignore-int-term"});
  auto pids = p.wait_ready(2);
  ASSERT_EQ(pids.size(), 2u);
  // The first signal is forwarded and ignored by the ranks; the grace period is huge. The
  // second (a different one: equal pending signals would coalesce) means "kill now"; without
  // it the ranks would live for the whole grace period and finish() would time out.
  p.signal(SIGTERM);
  p.signal(SIGINT);
  const auto code = p.finish(30s);
  ASSERT_TRUE(code.has_value());
  // Both may be pending together; the kernel then delivers the lower-numbered one first.
  EXPECT_TRUE(*code == 128 + SIGTERM || *code == 128 + SIGINT) << *code;
  EXPECT_TRUE(camure::test::no_descendants_left(10s));
}

TEST(LauncherSignalsMore, SigkilledCamurerunTakesItsRanksAndSegmentsWithIt) {
  camure::test::become_subreaper();
  CamurerunProcess p({"-n", "4", PROBE_PATH, "segment"});
  auto pids = p.wait_ready(4);
  ASSERT_EQ(pids.size(), 4u) << p.err();
  const std::string job = job_id_of(pids[0]);
  ASSERT_FALSE(job.empty());
  EXPECT_EQ(segments_of(job).size(), 4u);

  p.signal(SIGKILL);
  EXPECT_EQ(p.finish(), 128 + SIGKILL);
  // Ranks (pdeathsig) and the janitor (after cleanup) end; all are reaped by us, the subreaper.
  EXPECT_TRUE(camure::test::no_descendants_left(20s));
  for (pid_t pid : pids) EXPECT_FALSE(camure::test::process_alive(pid)) << pid;
  EXPECT_TRUE(segments_of(job).empty());
  remove_segments(job);
}

TEST(LauncherSignalsMore, SigkillOfCamurerunsWholeProcessGroupStillCleansUp) {
  camure::test::become_subreaper();
  CamurerunProcess::Config cfg;
  cfg.own_group = true;
  CamurerunProcess p({"-n", "3", PROBE_PATH, "segment"}, cfg);
  auto pids = p.wait_ready(3);
  ASSERT_EQ(pids.size(), 3u) << p.err();
  const std::string job = job_id_of(pids[0]);
  ASSERT_FALSE(job.empty());
  ASSERT_EQ(segments_of(job).size(), 3u);
  ::kill(-p.pid(), SIGKILL); // as a batch system or a terminal would hit camurerun's group
  EXPECT_EQ(p.finish(), 128 + SIGKILL);
  EXPECT_TRUE(camure::test::no_descendants_left(20s));
  for (pid_t pid : pids) EXPECT_FALSE(camure::test::process_alive(pid)) << pid;
  EXPECT_TRUE(segments_of(job).empty());
  remove_segments(job);
}

TEST(LauncherSignalsMore, NormalEndRemovesTheJobSegments) {
  // Ranks create segments and are then killed by a failing rank's teardown.
  camure::test::become_subreaper();
  CamurerunProcess p({"-n", "2", PROBE_PATH, "segment"});
  auto pids = p.wait_ready(2);
  ASSERT_EQ(pids.size(), 2u);
  const std::string job = job_id_of(pids[1]);
  ASSERT_FALSE(job.empty());
  ASSERT_EQ(segments_of(job).size(), 2u);
  ::kill(pids[0], SIGKILL);
  EXPECT_EQ(p.finish(), 137);
  EXPECT_TRUE(segments_of(job).empty());
  EXPECT_TRUE(camure::test::no_descendants_left(10s));
  remove_segments(job);
}

TEST(LauncherSignalsMore, TimeoutKillsTheJobWithAClearLine) {
  camure::test::become_subreaper();
  CamurerunProcess p({"-n", "3", "--timeout", "0.5", PROBE_PATH, "wait"});
  EXPECT_EQ(p.finish(30s), 124);
  auto ls = lines_of(p.err());
  ASSERT_EQ(ls.size(), 1u) << p.err();
  EXPECT_NE(ls[0].find("timed out"), std::string::npos) << ls[0];
  EXPECT_TRUE(camure::test::no_descendants_left(10s));
}

TEST(LauncherSignalsMore, Sigusr1IsForwardedAndTheJobGoesOn) {
  CamurerunProcess p({"-n", "2", PROBE_PATH, "wait"});
  auto pids = p.wait_ready(2);
  ASSERT_EQ(pids.size(), 2u);
  p.signal(SIGUSR1); // forwarded; the probe does not handle it, so the ranks die of it
  EXPECT_EQ(p.finish(), 128 + SIGUSR1);
  EXPECT_NE(p.err().find("signal " + std::to_string(SIGUSR1)), std::string::npos) << p.err();
  // Whichever rank the kernel reaped first failed; the other was then torn down by us.
  EXPECT_TRUE(p.err().find("rank 0 ") != std::string::npos || p.err().find("rank 1 ") != std::string::npos) << p.err();
}

TEST(LauncherSignalsMore, SigtstpStopsTheRanksAndSigcontResumesThem) {
  camure::test::become_subreaper();
  CamurerunProcess p({"-n", "2", PROBE_PATH, "wait"});
  auto pids = p.wait_ready(2);
  ASSERT_EQ(pids.size(), 2u);
  using camure::test::process_state;
  p.signal(SIGTSTP);
  EXPECT_TRUE(POLL_FOR(process_state(pids[0]) == 'T' && process_state(pids[1]) == 'T' && process_state(p.pid()) == 'T',
                       10s));
  p.signal(SIGCONT);
  EXPECT_TRUE(POLL_FOR(process_state(pids[0]) != 'T' && process_state(pids[1]) != 'T' && process_state(p.pid()) != 'T',
                       10s));
  p.signal(SIGTERM);
  EXPECT_EQ(p.finish(), 128 + SIGTERM);
  EXPECT_TRUE(camure::test::no_descendants_left(10s));
}

TEST(LauncherSignalsMore, GrandchildrenLeftBehindAreKilledAtJobEnd) {
  camure::test::become_subreaper();
  // Each rank leaves a background sleeper (holding the rank's stdout) and exits 0 at once.
  CamurerunProcess p({"-n", "2", "/bin/sh", "-c", "sleep 1000 & echo bg $!"});
  EXPECT_EQ(p.finish(30s), 0) << p.err();
  std::vector<pid_t> bg;
  for (const auto &l : lines_of(p.out())) {
    int pid = 0;
    if (std::sscanf(l.c_str(), "bg %d", &pid) == 1) bg.push_back(pid);
  }
  ASSERT_EQ(bg.size(), 2u) << p.out();
  EXPECT_TRUE(camure::test::no_descendants_left(10s));
  for (pid_t pid : bg) EXPECT_FALSE(camure::test::process_alive(pid)) << pid;
}

TEST(LauncherSignalsMore, RanksStartWithDefaultDispositionsAndNothingBlocked) {
  // camurerun handles some signals itself and inherits ignored ones (SIGALRM, SIGTTOU here,
  // as a nohup-like parent would leave them): ranks get none of that (exec resets handlers;
  // ignored signals and the mask would survive it).
  struct sigaction ign {}, old_alrm {}, old_ttou {};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGALRM, &ign, &old_alrm);
  ::sigaction(SIGTTOU, &ign, &old_ttou);
  CamurerunProcess p({"-n", "3", PROBE_PATH, "sigstate"});
  ::sigaction(SIGALRM, &old_alrm, nullptr);
  ::sigaction(SIGTTOU, &old_ttou, nullptr);
  ASSERT_EQ(p.finish(), 0) << p.err();
  int seen = 0;
  for (const auto &l : lines_of(p.out())) {
    if (l.rfind("sigstate ", 0) != 0) continue;
    ++seen;
    EXPECT_NE(l.find(" ign=0000000000000000"), std::string::npos) << l;
    EXPECT_NE(l.find(" blk=0000000000000000"), std::string::npos) << l;
    // (Caught signals are the rank program's own business: a sanitizer runtime installs some.)
  }
  EXPECT_EQ(seen, 3) << p.out();
}
