// camurerun option parsing: mpirun forms, the split at the program, validation messages.
#include "launcher/options.hpp"

#include <gtest/gtest.h>

using namespace camure::launcher;

namespace {

ParseResult parse(std::vector<std::string> args) {
  args.insert(args.begin(), "camurerun");
  std::vector<const char *> argv;
  for (auto &a : args) argv.push_back(a.c_str());
  return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

std::string error_of(std::vector<std::string> args) {
  const ParseResult r = parse(std::move(args));
  EXPECT_EQ(r.outcome, ParseOutcome::error);
  return r.error;
}

} // namespace

TEST(LauncherOptions, MinimalCommandLine) {
  const ParseResult r = parse({"-n", "4", "./app"});
  ASSERT_EQ(r.outcome, ParseOutcome::run) << r.error;
  EXPECT_EQ(r.options.np, 4u);
  EXPECT_EQ(r.options.program, "./app");
  EXPECT_TRUE(r.options.args.empty());
  EXPECT_EQ(r.options.map_by, "core");
  EXPECT_EQ(r.options.bind_to, "");
  EXPECT_EQ(r.options.stdin_rank, 0);
}

TEST(LauncherOptions, MpirunSpellingsOfTheRankCount) {
  for (auto args : std::vector<std::vector<std::string>>{
           {"-n", "3", "a"}, {"-np", "3", "a"}, {"--np", "3", "a"}, {"--np=3", "a"}, {"-n3", "a"}}) {
    const ParseResult r = parse(args);
    ASSERT_EQ(r.outcome, ParseOutcome::run) << args[0] << ": " << r.error;
    EXPECT_EQ(r.options.np, 3u) << args[0];
  }
}

TEST(LauncherOptions, ProgramArgumentsAreUntouched) {
  const ParseResult r = parse({"-n", "2", "--tag-output", "./app", "-n", "5", "--foo", "--", "-x"});
  ASSERT_EQ(r.outcome, ParseOutcome::run) << r.error;
  EXPECT_EQ(r.options.np, 2u);
  EXPECT_TRUE(r.options.tag_output);
  EXPECT_EQ(r.options.program, "./app");
  EXPECT_EQ(r.options.args, (std::vector<std::string>{"-n", "5", "--foo", "--", "-x"}));
}

TEST(LauncherOptions, DoubleDashEndsOptions) {
  const ParseResult r = parse({"-n", "1", "--", "-weird-program", "arg"});
  ASSERT_EQ(r.outcome, ParseOutcome::run) << r.error;
  EXPECT_EQ(r.options.program, "-weird-program");
  EXPECT_EQ(r.options.args, std::vector<std::string>{"arg"});
}

TEST(LauncherOptions, EveryOptionIsParsed) {
  const ParseResult r = parse({"-np", "8", "--map-by", "socket", "-bind-to", "core:overload-allowed", "--report-bindings",
                               "-x", "A=1", "-x", "B", "--tag-output", "--timestamp-output", "--output-filename", "out",
                               "--wdir", "/tmp", "--stdin", "none", "--timeout", "2.5", "--kill-grace", "0.5",
                               "--keep-going", "--use-hwthread-cpus", "--merge-stderr-to-stdout", "prog"});
  ASSERT_EQ(r.outcome, ParseOutcome::run) << r.error;
  const Options &o = r.options;
  EXPECT_EQ(o.map_by, "socket");
  EXPECT_EQ(o.bind_to, "core");
  EXPECT_TRUE(o.oversubscribe);
  EXPECT_TRUE(o.report_bindings);
  EXPECT_EQ(o.exports, (std::vector<std::string>{"A=1", "B"}));
  EXPECT_TRUE(o.tag_output);
  EXPECT_TRUE(o.timestamp_output);
  EXPECT_EQ(o.output_dir, "out");
  EXPECT_EQ(o.wdir, "/tmp");
  EXPECT_EQ(o.stdin_rank, -1);
  EXPECT_DOUBLE_EQ(o.timeout_s, 2.5);
  EXPECT_DOUBLE_EQ(o.grace_s, 0.5);
  EXPECT_TRUE(o.keep_going);
  EXPECT_TRUE(o.use_hwthreads);
  EXPECT_TRUE(o.merge_stderr);
}

TEST(LauncherOptions, HelpAndVersion) {
  EXPECT_EQ(parse({"--help"}).outcome, ParseOutcome::help);
  EXPECT_EQ(parse({"-h"}).outcome, ParseOutcome::help);
  EXPECT_EQ(parse({"--version"}).outcome, ParseOutcome::version);
  EXPECT_NE(usage_text().find("--bind-to"), std::string::npos);
}

TEST(LauncherOptions, BadInputGivesOneLineErrors) {
  EXPECT_NE(error_of({"-n", "0", "a"}).find("'0'"), std::string::npos);
  EXPECT_NE(error_of({"-n", "abc", "a"}).find("'abc'"), std::string::npos);
  EXPECT_NE(error_of({"-n", "-2", "a"}).find("-n"), std::string::npos);
  EXPECT_NE(error_of({"-n", "99999999999", "a"}).find("-n"), std::string::npos);
  EXPECT_NE(error_of({"a"}).find("-n N"), std::string::npos);
  EXPECT_NE(error_of({"-n", "2"}).find("no program"), std::string::npos);
  EXPECT_NE(error_of({"--frobnicate", "-n", "2", "a"}).find("frobnicate"), std::string::npos);
  EXPECT_NE(error_of({"-n", "2", "--bind-to", "elbow", "a"}).find("elbow"), std::string::npos);
  EXPECT_NE(error_of({"-n", "2", "--bind-to", "core:maybe", "a"}).find("maybe"), std::string::npos);
  EXPECT_NE(error_of({"-n", "2", "--map-by", "galaxy", "a"}).find("galaxy"), std::string::npos);
  EXPECT_NE(error_of({"-n", "2", "--timeout", "-1", "a"}).find("--timeout"), std::string::npos);
  EXPECT_NE(error_of({"-n", "2", "--timeout", "nan", "a"}).find("--timeout"), std::string::npos);
  EXPECT_NE(error_of({"-n", "2", "-x", "1BAD=2", "a"}).find("-x"), std::string::npos);
  EXPECT_NE(error_of({"-n", "2", "--stdin", "2", "a"}).find("--stdin"), std::string::npos);
  EXPECT_NE(error_of({"-n", "2", "-n", "3", "a"}).find("more than once"), std::string::npos);
  for (const auto &e : {error_of({"-n"}), error_of({"-n", "2", "--wdir="})}) EXPECT_EQ(e.find('\n'), std::string::npos);
}

TEST(LauncherOptions, PprPerNodeIsRanksPerHost) {
  ParseResult r = parse({"--map-by", "ppr:3:node", "./app"});
  ASSERT_EQ(r.outcome, ParseOutcome::run) << r.error;
  EXPECT_EQ(r.options.npernode, 3u);
  EXPECT_EQ(r.options.np, 0u); // local mode: 3 ranks on this host
  EXPECT_EQ(r.options.map_by, "core");
  r = parse({"-np", "4", "--map-by", "ppr:2:node", "-H", "a:2,b:2", "./app"});
  ASSERT_EQ(r.outcome, ParseOutcome::run) << r.error;
  EXPECT_EQ(r.options.npernode, 2u);
  r = parse({"-N", "2", "--map-by", "ppr:2:node", "./app"});
  ASSERT_EQ(r.outcome, ParseOutcome::run) << r.error;
  EXPECT_EQ(r.options.npernode, 2u);
  // Without -n, -N alone also sizes a local job.
  r = parse({"-N", "2", "./app"});
  ASSERT_EQ(r.outcome, ParseOutcome::run) << r.error;
}

TEST(LauncherOptions, PprErrorsAreOneLine) {
  EXPECT_NE(error_of({"--map-by", "ppr:2:socket", "./app"}).find("only ppr:N:node"), std::string::npos);
  EXPECT_NE(error_of({"--map-by", "ppr:x:node", "./app"}).find("is not ppr:N:node"), std::string::npos);
  EXPECT_NE(error_of({"--map-by", "ppr:0:node", "./app"}).find("is not ppr:N:node"), std::string::npos);
  EXPECT_NE(error_of({"--map-by", "ppr:2", "./app"}).find("is not ppr:N:node"), std::string::npos);
  EXPECT_NE(error_of({"-N", "3", "--map-by", "ppr:2:node", "./app"}).find("disagree"), std::string::npos);
}
