// camurerun's environment contract for N = 1..16, -x, --wdir, argument passthrough, fd hygiene.
#include "support/probe/camurerun_process.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <sys/resource.h>

using camure::test::CamurerunProcess;
using camure::test::lines_of;
using namespace std::chrono_literals;

namespace {

/// "env <rank> K=V K=V ..." lines -> rank -> (K -> V)
std::map<int, std::map<std::string, std::string>> parse_env(const std::string &out) {
  std::map<int, std::map<std::string, std::string>> res;
  for (const auto &l : lines_of(out)) {
    if (l.rfind("env ", 0) != 0) continue;
    std::istringstream in(l.substr(4));
    int rank = -1;
    in >> rank;
    std::string kv;
    while (in >> kv) {
      auto eq = kv.find('=');
      res[rank][kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  }
  return res;
}

class LauncherEnv : public ::testing::TestWithParam<int> {};

} // namespace

TEST_P(LauncherEnv, EveryRankGetsTheContractVariables) {
  const int n = GetParam();
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  const auto own_nofile = rl.rlim_cur; // camurerun inherits it from us
  CamurerunProcess p({"-n", std::to_string(n), PROBE_PATH, "env"},
                     CamurerunProcess::Config{{"CAMURE_RANK=77", "CAMURE_JOB_ID=stale"}, -1, true});
  p.close_stdin();
  ASSERT_EQ(p.finish(60s), 0) << p.err();
  auto env = parse_env(p.out());
  ASSERT_EQ(env.size(), static_cast<std::size_t>(n)) << p.out();
  std::set<std::string> jobs;
  for (int r = 0; r < n; ++r) {
    auto &e = env[r];
    EXPECT_EQ(e["CAMURE_RANK"], std::to_string(r));
    EXPECT_EQ(e["CAMURE_SIZE"], std::to_string(n));
    EXPECT_EQ(e["CAMURE_LOCAL_RANK"], std::to_string(r));
    EXPECT_EQ(e["CAMURE_LOCAL_SIZE"], std::to_string(n));
    EXPECT_EQ(e["CAMURE_NODE_ID"], "0");
    EXPECT_EQ(e["CAMURE_NUM_NODES"], "1");
    EXPECT_EQ(e["control_socket"], "yes");
    EXPECT_EQ(e["extra_fds"], "0") << "rank " << r << " inherited fds it should not have";
    EXPECT_EQ(e["nofile"], std::to_string(own_nofile)) << "ranks get camurerun's original fd limit";
    const std::string job = e["CAMURE_JOB_ID"];
    EXPECT_FALSE(job.empty());
    for (char c : job) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << job;
    jobs.insert(job);
  }
  EXPECT_EQ(jobs.size(), 1u) << "all ranks of a job share one job id";
  EXPECT_EQ(jobs.count("stale"), 0u);
}

INSTANTIATE_TEST_SUITE_P(Sizes, LauncherEnv, ::testing::Values(1, 2, 4, 8, 16));

TEST(LauncherEnvMore, JobIdsDifferBetweenJobs) {
  CamurerunProcess a({"-n", "1", PROBE_PATH, "env"});
  CamurerunProcess b({"-n", "1", PROBE_PATH, "env"});
  ASSERT_EQ(a.finish(), 0);
  ASSERT_EQ(b.finish(), 0);
  EXPECT_NE(parse_env(a.out())[0]["CAMURE_JOB_ID"], parse_env(b.out())[0]["CAMURE_JOB_ID"]);
}

TEST(LauncherEnvMore, DashXSetsAndExportsVariables) {
  CamurerunProcess p({"-n", "2", "-x", "CAMURE_TEST_SET=hello", "-x", "CAMURE_TEST_INHERITED", PROBE_PATH, "env",
                      "CAMURE_TEST_SET", "CAMURE_TEST_INHERITED"},
                     CamurerunProcess::Config{{"CAMURE_TEST_INHERITED=from-parent"}, -1, true});
  ASSERT_EQ(p.finish(), 0) << p.err();
  auto env = parse_env(p.out());
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(env[r]["CAMURE_TEST_SET"], "hello");
    EXPECT_EQ(env[r]["CAMURE_TEST_INHERITED"], "from-parent");
  }
}

TEST(LauncherEnvMore, ProgramArgumentsPassUntouched) {
  CamurerunProcess p({"-n", "2", PROBE_PATH, "args", "-n", "5", "--foo", "--tag-output", "--", "-x"});
  ASSERT_EQ(p.finish(), 0) << p.err();
  auto ls = lines_of(p.out());
  std::sort(ls.begin(), ls.end());
  EXPECT_EQ(ls, (std::vector<std::string>{"args 0 -n 5 --foo --tag-output -- -x", "args 1 -n 5 --foo --tag-output -- -x"}));
}

TEST(LauncherEnvMore, DoubleDashEndsOptions) {
  CamurerunProcess p({"-np", "1", "--", PROBE_PATH, "args", "ok"});
  ASSERT_EQ(p.finish(), 0) << p.err();
  EXPECT_EQ(p.out(), "args 0 ok\n");
}

TEST(LauncherEnvMore, WdirRunsRanksThere) {
  const auto dir = std::filesystem::canonical(std::filesystem::temp_directory_path());
  CamurerunProcess p({"-n", "2", "--wdir", dir.string(), PROBE_PATH, "pwd"});
  ASSERT_EQ(p.finish(), 0) << p.err();
  auto ls = lines_of(p.out());
  std::sort(ls.begin(), ls.end());
  EXPECT_EQ(ls, (std::vector<std::string>{"pwd 0 " + dir.string(), "pwd 1 " + dir.string()}));
}

TEST(LauncherEnvMore, ProgramIsFoundInPath) {
  CamurerunProcess p({"-n", "2", "sh", "-c", "echo via-path"});
  ASSERT_EQ(p.finish(), 0) << p.err();
  EXPECT_EQ(p.out(), "via-path\nvia-path\n");
}
