// Rank environments (the launcher/runtime contract) and job ids.
#include "launcher/job_spec.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace camure::launcher;

TEST(LauncherJobSpec, ContractVariablesAreSet) {
  const auto env = rank_environment({"PATH=/bin", "HOME=/root"}, {}, 3, 8, 1, 4, 1, 2, "abc123");
  EXPECT_EQ(env_value(env, "PATH"), "/bin");
  EXPECT_EQ(env_value(env, "CAMURE_RANK"), "3");
  EXPECT_EQ(env_value(env, "CAMURE_SIZE"), "8");
  EXPECT_EQ(env_value(env, "CAMURE_LOCAL_RANK"), "1");
  EXPECT_EQ(env_value(env, "CAMURE_LOCAL_SIZE"), "4");
  EXPECT_EQ(env_value(env, "CAMURE_NODE_ID"), "1");
  EXPECT_EQ(env_value(env, "CAMURE_NUM_NODES"), "2");
  EXPECT_EQ(env_value(env, "CAMURE_JOB_ID"), "abc123");
}

TEST(LauncherJobSpec, InheritedContractVariablesAreReplaced) {
  const auto env = rank_environment({"CAMURE_RANK=9", "CAMURE_CONTROL_FD=5", "CAMURE_JOB_ID=old", "KEEP=1"}, {}, 0, 1,
                                    0, 1, 0, 1, "new");
  EXPECT_EQ(env_value(env, "CAMURE_RANK"), "0");
  EXPECT_EQ(env_value(env, "CAMURE_JOB_ID"), "new");
  EXPECT_EQ(env_value(env, "CAMURE_CONTROL_FD"), ""); // the spawner adds the real one
  EXPECT_EQ(env_value(env, "KEEP"), "1");
  std::size_t ranks = 0;
  for (const auto &kv : env) ranks += kv.rfind("CAMURE_RANK=", 0) == 0;
  EXPECT_EQ(ranks, 1u);
}

TEST(LauncherJobSpec, ExportsSetOrKeepVariables) {
  const auto env = rank_environment({"A=old", "B=keep"}, {"A=new", "B", "C=x=y"}, 0, 1, 0, 1, 0, 1, "j");
  EXPECT_EQ(env_value(env, "A"), "new");
  EXPECT_EQ(env_value(env, "B"), "keep");
  EXPECT_EQ(env_value(env, "C"), "x=y");
}

TEST(LauncherJobSpec, JobIdsAreAlphanumericAndDistinct) {
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    const std::string id = make_job_id();
    EXPECT_EQ(id.size(), 16u);
    for (char c : id) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 100u);
}
