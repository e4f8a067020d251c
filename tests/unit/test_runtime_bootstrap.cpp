// Unit tests for runtime/bootstrap: the launcher environment contract and singleton mode.
#include "runtime/bootstrap/job_info.hpp"

#include <camure/error.hpp>

#include <gtest/gtest.h>

#include <map>
#include <string>

using camure::bootstrap::job_from_environment;
using camure::bootstrap::JobInfo;

namespace {

struct FakeEnv {
  std::map<std::string, std::string> vars;
  camure::bootstrap::EnvLookup lookup() const {
    return [this](const char *name) -> const char * {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

FakeEnv full_env() {
  return FakeEnv{{{"CAMURE_RANK", "5"},
                  {"CAMURE_SIZE", "8"},
                  {"CAMURE_LOCAL_RANK", "1"},
                  {"CAMURE_LOCAL_SIZE", "4"},
                  {"CAMURE_NODE_ID", "1"},
                  {"CAMURE_NUM_NODES", "2"},
                  {"CAMURE_JOB_ID", "abc123"},
                  {"CAMURE_CONTROL_FD", "7"},
                  {"CAMURE_NODE_ADDR", "10.77.0.2"},
                  {"CAMURE_MCAST", "239.77.1.2:30000"},
                  {"CAMURE_MCAST_TTL", "1"}}};
}

} // namespace

TEST(RuntimeBootstrap, FullEnvironmentIsParsed) {
  auto env = full_env();
  std::error_code ec;
  std::string detail;
  JobInfo job = job_from_environment(env.lookup(), ec, detail);
  ASSERT_FALSE(ec) << detail;
  EXPECT_FALSE(job.singleton);
  EXPECT_EQ(job.rank, 5);
  EXPECT_EQ(job.size, 8);
  EXPECT_EQ(job.local_rank, 1);
  EXPECT_EQ(job.local_size, 4);
  EXPECT_EQ(job.node_id, 1);
  EXPECT_EQ(job.node_addr, "10.77.0.2");
  EXPECT_EQ(job.mcast, "239.77.1.2:30000");
  EXPECT_EQ(job.mcast_ttl, 1);
  EXPECT_EQ(job.num_nodes, 2);
  EXPECT_EQ(job.job_id, "abc123");
  EXPECT_EQ(job.control_fd, 7);
  EXPECT_EQ(job.segment_prefix(), "camure-abc123-n1");
}

TEST(RuntimeBootstrap, EmptyEnvironmentIsSingleton) {
  FakeEnv env;
  std::error_code ec;
  std::string detail;
  JobInfo a = job_from_environment(env.lookup(), ec, detail);
  ASSERT_FALSE(ec);
  EXPECT_TRUE(a.singleton);
  EXPECT_EQ(a.rank, 0);
  EXPECT_EQ(a.size, 1);
  EXPECT_EQ(a.local_size, 1);
  EXPECT_EQ(a.control_fd, -1);
  EXPECT_TRUE(camure::bootstrap::valid_job_id(a.job_id)) << a.job_id;
  JobInfo b = job_from_environment(env.lookup(), ec, detail);
  EXPECT_NE(a.job_id, b.job_id) << "singleton job ids must not collide";
}

TEST(RuntimeBootstrap, LocalValuesDefaultToOneHost) {
  FakeEnv env{{{"CAMURE_RANK", "2"}, {"CAMURE_SIZE", "3"}, {"CAMURE_JOB_ID", "j"}}};
  std::error_code ec;
  std::string detail;
  JobInfo job = job_from_environment(env.lookup(), ec, detail);
  ASSERT_FALSE(ec) << detail;
  EXPECT_EQ(job.local_rank, 2);
  EXPECT_EQ(job.local_size, 3);
  EXPECT_EQ(job.num_nodes, 1);
}

struct BadCase {
  const char *var;
  const char *value; // nullptr: remove the variable
  const char *mention;
};

class RuntimeBootstrapBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(RuntimeBootstrapBad, IsRejectedWithDetail) {
  auto env = full_env();
  const BadCase c = GetParam();
  if (c.value == nullptr)
    env.vars.erase(c.var);
  else
    env.vars[c.var] = c.value;
  std::error_code ec;
  std::string detail;
  job_from_environment(env.lookup(), ec, detail);
  EXPECT_EQ(ec, camure::errc::invalid_argument);
  EXPECT_NE(detail.find(c.mention), std::string::npos) << detail;
  EXPECT_EQ(detail.find('\n'), std::string::npos) << "detail must be one line";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RuntimeBootstrapBad,
    ::testing::Values(BadCase{"CAMURE_RANK", "8", "CAMURE_RANK"}, BadCase{"CAMURE_RANK", "-1", "CAMURE_RANK"},
                      BadCase{"CAMURE_RANK", "1x", "CAMURE_RANK"}, BadCase{"CAMURE_RANK", nullptr, "CAMURE_RANK"},
                      BadCase{"CAMURE_SIZE", "0", "CAMURE_SIZE"}, BadCase{"CAMURE_SIZE", "", "CAMURE_SIZE"},
                      BadCase{"CAMURE_SIZE", "99999999999", "CAMURE_SIZE"},
                      BadCase{"CAMURE_LOCAL_SIZE", "9", "CAMURE_LOCAL_SIZE"},
                      BadCase{"CAMURE_LOCAL_RANK", "4", "CAMURE_LOCAL_RANK"},
                      BadCase{"CAMURE_NODE_ID", "2", "CAMURE_NODE_ID"},
                      BadCase{"CAMURE_NUM_NODES", "0", "CAMURE_NUM_NODES"},
                      BadCase{"CAMURE_NODE_ADDR", "", "CAMURE_NODE_ADDR"},
                      BadCase{"CAMURE_MCAST", "", "CAMURE_MCAST"},
                      BadCase{"CAMURE_MCAST_TTL", "300", "CAMURE_MCAST_TTL"},
                      BadCase{"CAMURE_CONTROL_FD", "", "CAMURE_CONTROL_FD"},
                      BadCase{"CAMURE_JOB_ID", nullptr, "CAMURE_JOB_ID"},
                      BadCase{"CAMURE_JOB_ID", "a/b", "CAMURE_JOB_ID"},
                      BadCase{"CAMURE_JOB_ID", "", "CAMURE_JOB_ID"},
                      BadCase{"CAMURE_CONTROL_FD", "x", "CAMURE_CONTROL_FD"},
                      BadCase{"CAMURE_COLLECTIVE_TIMEOUT", "-3", "CAMURE_COLLECTIVE_TIMEOUT"}));

TEST(RuntimeBootstrap, JobIdValidation) {
  EXPECT_TRUE(camure::bootstrap::valid_job_id("A9z"));
  EXPECT_FALSE(camure::bootstrap::valid_job_id(""));
  EXPECT_FALSE(camure::bootstrap::valid_job_id("a-b"));
  EXPECT_FALSE(camure::bootstrap::valid_job_id(std::string(65, 'a')));
  EXPECT_TRUE(camure::bootstrap::valid_job_id(std::string(64, 'a')));
}
