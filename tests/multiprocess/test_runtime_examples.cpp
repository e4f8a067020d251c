// Runs every runtime example through camurerun and checks its exit status and output.
#include "multiprocess/test_runtime_support.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

struct Example {
  const char *name;
  const char *expect; // a line every run prints
};

class RuntimeExample : public ::testing::TestWithParam<Example> {};

TEST_P(RuntimeExample, RunsWithFourRanks) {
  const Example e = GetParam();
  auto r = camure::test::run({CAMURERUN, "-n", "4", "--timeout", "60", std::string(EXAMPLES_DIR) + "/" + e.name},
                             {}, std::chrono::seconds(90));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(e.expect), std::string::npos) << r.output;
}

INSTANTIATE_TEST_SUITE_P(
    All, RuntimeExample,
    ::testing::Values(Example{"hello_c", "hello from rank 3 of 4"}, Example{"hello_cxx", "hello from rank 2 of 4"},
                      Example{"barrier_c", "4 ranks passed 1000 barriers"},
                      Example{"barrier_cxx", "4 ranks passed 1000 barriers"},
                      Example{"bcast_c", "rank 3: parameters and tokens received"},
                      Example{"bcast_cxx", "rank 1: sum 5000050000, message 'greetings from the last rank'"},
                      Example{"pubsub_c", "rank 0 got 103 on /status/3"},
                      Example{"pubsub_cxx", "rank 2 handled 50 of 50 items"}),
    [](const ::testing::TestParamInfo<Example> &i) { return std::string(i.param.name); });

} // namespace
