// camurerun bad input: one clear line on stderr, exit status 2, nothing started, never a hang.
#include "support/probe/camurerun_process.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using camure::test::CamurerunProcess;
using camure::test::lines_of;
using namespace std::chrono_literals;

namespace {

struct BadCase {
  const char *name;
  std::vector<std::string> args;
  const char *needle; ///< must appear in the error line
};

std::string non_executable_file() {
  const auto p = std::filesystem::temp_directory_path() / ("camure-noexec-" + std::to_string(::getpid()));
  std::ofstream(p) << "#!/bin/sh\necho no\n";
  std::filesystem::permissions(p, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return p.string();
}

void expect_usage_error(const std::vector<std::string> &args, const char *needle) {
  camure::test::become_subreaper();
  CamurerunProcess p(args);
  const auto code = p.finish(20s);
  ASSERT_TRUE(code.has_value()) << "camurerun hung";
  EXPECT_EQ(*code, 2) << p.err();
  const auto ls = lines_of(p.err());
  ASSERT_EQ(ls.size(), 1u) << p.err();
  EXPECT_EQ(ls[0].rfind("camurerun: ", 0), 0u) << ls[0];
  EXPECT_NE(ls[0].find(needle), std::string::npos) << ls[0];
  EXPECT_EQ(p.out(), "");
  EXPECT_TRUE(camure::test::no_descendants_left(5s)) << "nothing may be started on bad input";
}

void PrintTo(const BadCase &c, std::ostream *os) { *os << c.name; }

class LauncherBadInput : public ::testing::TestWithParam<BadCase> {};

} // namespace

TEST_P(LauncherBadInput, OneLineAndExitTwo) { expect_usage_error(GetParam().args, GetParam().needle); }

INSTANTIATE_TEST_SUITE_P(
    Cases, LauncherBadInput,
    ::testing::Values(BadCase{"UnknownOption", {"--no-such-option", "-n", "2", "true"}, "no-such-option"},
                      BadCase{"ZeroRanks", {"-n", "0", "true"}, "-n"},
                      BadCase{"NonNumericRanks", {"-n", "abc", "true"}, "abc"},
                      BadCase{"NegativeRanks", {"-n", "-1", "true"}, "-n"},
                      BadCase{"MissingRankCount", {"true"}, "-n"},
                      BadCase{"MissingProgram", {"-n", "2"}, "program"},
                      BadCase{"MissingOptionValue", {"-n"}, "np"},
                      BadCase{"ProgramNotFound", {"-n", "2", "camure-no-such-program-xyz"}, "not found"},
                      BadCase{"ProgramIsDirectory", {"-n", "2", "/tmp"}, "directory"},
                      BadCase{"BadBindTo", {"-n", "2", "--bind-to", "elbow", "true"}, "elbow"},
                      BadCase{"BadBindQualifier", {"-n", "2", "--bind-to", "core:sometimes", "true"}, "sometimes"},
                      BadCase{"BadMapBy", {"-n", "2", "--map-by", "planet", "true"}, "planet"},
                      BadCase{"BadTimeout", {"-n", "2", "--timeout", "soon", "true"}, "soon"},
                      BadCase{"BadExport", {"-n", "2", "-x", "=x", "true"}, "-x"},
                      BadCase{"BadWdir", {"-n", "2", "--wdir", "/no/such/dir", "true"}, "/no/such/dir"},
                      BadCase{"BadStdinRank", {"-n", "2", "--stdin", "7", "true"}, "--stdin"},
                      BadCase{"BindingOverload", {"-n", "4097", "--bind-to", "core", "true"}, "--oversubscribe"}),
    [](const ::testing::TestParamInfo<BadCase> &i) { return std::string(i.param.name); });

TEST(LauncherBadInputMore, NonExecutableProgram) {
  const std::string f = non_executable_file();
  expect_usage_error({"-n", "2", f}, "not executable");
  std::filesystem::remove(f);
}

TEST(LauncherBadInputMore, HelpAndVersionSucceed) {
  CamurerunProcess h({"--help"});
  EXPECT_EQ(h.finish(), 0);
  EXPECT_NE(h.out().find("Usage: camurerun"), std::string::npos);
  EXPECT_NE(h.out().find("--bind-to"), std::string::npos);
  CamurerunProcess v({"--version"});
  EXPECT_EQ(v.finish(), 0);
  EXPECT_EQ(v.out().rfind("camurerun (camure) ", 0), 0u) << v.out();
}

TEST(LauncherBadInputMore, ClosedStdioDoesNotBreakTheLauncher) {
  // stdin /dev/null (as in CI): ranks see EOF, job succeeds.
  CamurerunProcess p({"-n", "2", PROBE_PATH, "stdin"}, CamurerunProcess::Config{{}, -1, false});
  EXPECT_EQ(p.finish(), 0) << p.err();
  EXPECT_NE(p.out().find("stdin 0 0 "), std::string::npos);
}

TEST(LauncherBadInputMore, ProgramThatCannotBeExecutedIsReportedInOneLine) {
  // Passes the executable check but exec fails (its interpreter does not exist).
  const auto p = std::filesystem::temp_directory_path() / ("camure-badinterp-" + std::to_string(::getpid()));
  std::ofstream(p) << "#!/nonexistent/interpreter\n";
  std::filesystem::permissions(p, std::filesystem::perms::owner_all);
  camure::test::become_subreaper();
  CamurerunProcess run({"-n", "2", p.string()});
  EXPECT_EQ(run.finish(20s), 127);
  const auto ls = lines_of(run.err());
  ASSERT_EQ(ls.size(), 1u) << run.err();
  EXPECT_NE(ls[0].find("could not start"), std::string::npos) << ls[0];
  EXPECT_NE(ls[0].find("cannot execute '" + p.string() + "'"), std::string::npos) << ls[0];
  EXPECT_TRUE(camure::test::no_descendants_left(10s));
  std::filesystem::remove(p);
}
