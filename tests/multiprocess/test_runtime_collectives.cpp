// Multiprocess tests of barrier, bcast, topics and error paths, in C and C++, through camurerun.
#include "multiprocess/test_runtime_support.hpp"

#include <gtest/gtest.h>

#include <dirent.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using camure::test::sanitized;

using camure::test::run;
using camure::test::RunResult;

struct JobCase {
  const char *lang; // "c" or "cxx"
  int n;
};

std::string prog(const std::string &lang) { return lang == "c" ? PROG_C : PROG_CXX; }

std::string case_name(const ::testing::TestParamInfo<JobCase> &info) {
  return std::string(info.param.lang) + "_n" + std::to_string(info.param.n);
}

RunResult camurerun(int n, std::vector<std::string> args, int timeout_s = 240) {
  std::vector<std::string> argv{CAMURERUN, "-n", std::to_string(n), "--timeout", std::to_string(timeout_s)};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, {}, std::chrono::seconds(timeout_s + 30));
}

std::string temp_path(const char *what) {
  static int counter = 0;
  return "/tmp/camure-rt-test-" + std::to_string(::getpid()) + "-" + what + "-" + std::to_string(++counter);
}

// /dev/shm entries whose name contains s.
std::vector<std::string> shm_entries_with(const std::string &s) {
  std::vector<std::string> found;
  if (DIR *d = ::opendir("/dev/shm")) {
    while (dirent *e = ::readdir(d))
      if (std::string(e->d_name).find(s) != std::string::npos) found.push_back(e->d_name);
    ::closedir(d);
  }
  return found;
}

class RuntimeJob : public ::testing::TestWithParam<JobCase> {};

TEST_P(RuntimeJob, BarrierOrdering) {
  const auto c = GetParam();
  const std::string file = temp_path("barrier");
  auto r = camurerun(c.n, {prog(c.lang), "barrier", "300", file});
  ::unlink(file.c_str());
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST_P(RuntimeJob, BcastEverySizeAndRoot) {
  const auto c = GetParam();
  std::vector<std::string> args{prog(c.lang), "bcast"};
  // 64 MiB from every root at small N; at larger N from three roots (from root 0 only under
  // sanitizers, which make each 64 MiB copy and check ~10x slower; the release build covers
  // the others). Every root for the other sizes.
  if (c.n <= (sanitized ? 2 : 4))
    args.push_back("all");
  else if (sanitized)
    args.push_back("first");
  auto r = camurerun(c.n, args);
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST_P(RuntimeJob, PubSubCountsAndOrder) {
  const auto c = GetParam();
  auto r = camurerun(c.n, {prog(c.lang), "pubsub", "100"});
  EXPECT_EQ(r.status, 0) << r.output;
}

INSTANTIATE_TEST_SUITE_P(All, RuntimeJob,
                         ::testing::Values(JobCase{"c", 1}, JobCase{"c", 2}, JobCase{"c", 4}, JobCase{"c", 8},
                                           JobCase{"c", 16}, JobCase{"cxx", 1}, JobCase{"cxx", 2},
                                           JobCase{"cxx", 4}, JobCase{"cxx", 8}, JobCase{"cxx", 16}),
                         case_name);

class RuntimeLang : public ::testing::TestWithParam<const char *> {};

TEST_P(RuntimeLang, ErrorPathsBeforeInitBadRootAfterFinalize) {
  auto r = camurerun(2, {prog(GetParam()), "errors"});
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST_P(RuntimeLang, SingletonWithoutCamurerun) {
  // No launcher variables at all: one rank, everything still works.
  for (const char *mode : {"bcast", "pubsub"}) {
    std::vector<std::string> argv{prog(GetParam()), mode};
    if (std::string(mode) == "pubsub") argv.push_back("50");
    auto r = run(argv);
    EXPECT_EQ(r.status, 0) << mode << ": " << r.output;
  }
  const std::string file = temp_path("single");
  auto r = run({prog(GetParam()), "barrier", "50", file});
  ::unlink(file.c_str());
  EXPECT_EQ(r.status, 0) << r.output;
}

INSTANTIATE_TEST_SUITE_P(Both, RuntimeLang, ::testing::Values("c", "cxx"));

// CAMURE_BARRIER_RELEASE=leader: local rank 0 ends every barrier round; ordering and bcast
// (whose root waits on nobody) must hold as with the default, also oversubscribed.
TEST(RuntimeBarrierRelease, LeaderReleaseKeepsBarrierOrderingAndBcast) {
  for (int n : {4, 16}) {
    const std::string file = temp_path("leader");
    auto r = camurerun(n, {"-x", "CAMURE_BARRIER_RELEASE=leader", PROG_C, "barrier", "300", file});
    ::unlink(file.c_str());
    EXPECT_EQ(r.status, 0) << "n=" << n << ": " << r.output;
  }
  auto r = camurerun(4, {"-x", "CAMURE_BARRIER_RELEASE=leader", PROG_CXX, "bcast", "first"});
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST(RuntimeBarrierRelease, UnknownValueFailsInitNamingTheVariable) {
  auto r = camurerun(2, {"-x", "CAMURE_BARRIER_RELEASE=first", PROG_C, "info"});
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("CAMURE_BARRIER_RELEASE='first' is neither 'last' nor 'leader'"), std::string::npos)
      << r.output;
}

TEST(RuntimeSingleton, ReportsRankZeroOfOne) {
  auto r = run({PROG_C, "info"});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("rank=0 size=1 local_rank=0 local_size=1 node=0"), std::string::npos) << r.output;
}

TEST(RuntimeJobInfo, EveryRankSeesItsPlace) {
  auto r = camurerun(4, {PROG_C, "info"});
  ASSERT_EQ(r.status, 0) << r.output;
  for (int i = 0; i < 4; ++i)
    EXPECT_NE(r.output.find("rank=" + std::to_string(i) + " size=4 local_rank=" + std::to_string(i) + " local_size=4"),
              std::string::npos)
        << r.output;
}

TEST(RuntimeBootstrapEnv, MalformedEnvironmentFailsInitWithOneLine) {
  auto r = run({PROG_C, "info"}, {{"CAMURE_RANK", "abc"}, {"CAMURE_SIZE", "2"}, {"CAMURE_JOB_ID", "x1"}});
  EXPECT_EQ(r.status, 3) << r.output;
  EXPECT_NE(r.output.find("CAMURE_RANK"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("invalid argument"), std::string::npos) << r.output;
}

TEST(RuntimeAbort, AbortEndsTheJobWithItsCode) {
  auto r = camurerun(4, {PROG_C, "abort", "7"});
  EXPECT_EQ(r.status, 7) << r.output;
}

TEST(RuntimePeerLost, SurvivorsOfADeadRankGetPeerLostAndNothingIsLeftInDevShm) {
  // By hand, without camurerun, which would end the job as soon as the rank dies.
  const std::string job = "rtdie" + std::to_string(::getpid());
  std::string out;
  bool timed_out = false;
  auto st = camure::test::run_ranks(4, {PROG_C, "die"}, job, out, std::chrono::seconds(60), timed_out);
  ASSERT_FALSE(timed_out) << "survivors hung: " << out;
  for (std::size_t i = 0; i < st.size(); ++i) EXPECT_EQ(st[i], 0) << "rank " << i << ": " << out;
  EXPECT_TRUE(shm_entries_with(job).empty()) << "segments left behind";
}

TEST(RuntimePeerLost, DeadReaderDuringABigBcastFailsEverySurvivor) {
  const std::string job = "rtdieb" + std::to_string(::getpid());
  std::string out;
  bool timed_out = false;
  auto st = camure::test::run_ranks(4, {PROG_C, "die_bcast"}, job, out, std::chrono::seconds(60), timed_out);
  ASSERT_FALSE(timed_out) << "survivors hung: " << out;
  for (std::size_t i = 0; i < st.size(); ++i) EXPECT_EQ(st[i], 0) << "rank " << i << ": " << out;
  EXPECT_TRUE(shm_entries_with(job).empty()) << "segments left behind";
}

TEST(RuntimePeerLost, WorldUnwoundByAnExceptionFailsTheOthersInsteadOfHanging) {
  const std::string marker = temp_path("throw");
  auto r = camurerun(3, {PROG_CXX, "throw", marker}, 60);
  ::unlink(marker.c_str());
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST(RuntimeCleanup, CleanJobLeavesNothingInDevShm) {
  const std::string job = "rtclean" + std::to_string(::getpid());
  std::string out;
  bool timed_out = false;
  auto st = camure::test::run_ranks(3, {PROG_CXX, "pubsub", "10"}, job, out, std::chrono::seconds(60), timed_out);
  ASSERT_FALSE(timed_out) << out;
  for (std::size_t i = 0; i < st.size(); ++i) EXPECT_EQ(st[i], 0) << "rank " << i << ": " << out;
  EXPECT_TRUE(shm_entries_with(job).empty());
}

} // namespace
