// The launch agent's command line: shell-like word splitting and OpenSSH's defaults, with the
// user's --ssh-opts able to override every default.
#include "launcher/agent_command.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace camure::launcher;

namespace {
std::vector<std::string> words(const std::string &s) {
  std::vector<std::string> v;
  EXPECT_TRUE(split_words(s, v)) << s;
  return v;
}

std::ptrdiff_t index_of(const std::vector<std::string> &v, const std::string &w) {
  const auto it = std::find(v.begin(), v.end(), w);
  return it == v.end() ? -1 : it - v.begin();
}
} // namespace

TEST(LauncherAgentCommand, SplitsLikeAShellWithoutExpansions) {
  EXPECT_EQ(words("  ssh   -F  cfg "), (std::vector<std::string>{"ssh", "-F", "cfg"}));
  EXPECT_EQ(words("-o 'ProxyCommand=nc %h %p' \"a b\"c d\\ e"),
            (std::vector<std::string>{"-o", "ProxyCommand=nc %h %p", "a bc", "d e"}));
  EXPECT_EQ(words("$HOME ''"), (std::vector<std::string>{"$HOME", ""}));
  std::vector<std::string> v;
  EXPECT_FALSE(split_words("-o 'unbalanced", v));
}

TEST(LauncherAgentCommand, RecognisesSshByFileName) {
  EXPECT_TRUE(is_ssh_agent("ssh"));
  EXPECT_TRUE(is_ssh_agent("/usr/bin/ssh"));
  EXPECT_FALSE(is_ssh_agent("/tmp/agent"));
  EXPECT_FALSE(is_ssh_agent("rsh"));
  EXPECT_FALSE(is_ssh_agent("sshpass"));
}

TEST(LauncherAgentCommand, SshGetsFlagsBeforeAndSettingsAfterTheUserOptions) {
  std::vector<std::string> argv;
  std::string why;
  ASSERT_TRUE(build_agent_command("ssh", "-F cfg -o KexAlgorithms=x -t", argv, why)) << why;
  EXPECT_EQ(argv.front(), "ssh");
  const auto flag = index_of(argv, "-T"), user = index_of(argv, "-F"), user_t = index_of(argv, "-t");
  const auto setting = index_of(argv, "BatchMode=yes");
  ASSERT_GE(flag, 0);
  ASSERT_GE(user, 0);
  ASSERT_GE(setting, 0);
  EXPECT_LT(flag, user);      // the user's later -t overrides our -T (ssh: last flag wins)
  EXPECT_LT(flag, user_t);
  EXPECT_LT(user, setting);   // the user's -o comes first (ssh: first value wins)
  EXPECT_EQ(argv[static_cast<std::size_t>(setting) - 1], "-o");
  EXPECT_GE(index_of(argv, "GSSAPIAuthentication=no"), 0);
  // The user's KexAlgorithms comes before ours, so ssh keeps the user's.
  const auto user_kex = index_of(argv, "KexAlgorithms=x");
  ASSERT_GE(user_kex, 0);
  const auto our_kex = std::find_if(argv.begin(), argv.end(), [](const std::string &w) {
    return w.rfind("KexAlgorithms=curve25519-sha256", 0) == 0;
  });
  ASSERT_NE(our_kex, argv.end());
  EXPECT_LT(user_kex, our_kex - argv.begin());
  EXPECT_GE(index_of(argv, "-x"), 0);
  EXPECT_GE(index_of(argv, "-a"), 0);
}

TEST(LauncherAgentCommand, OtherAgentsGetOnlyTheUserOptions) {
  std::vector<std::string> argv;
  std::string why;
  ASSERT_TRUE(build_agent_command("/tmp/my agent", "", argv, why));
  EXPECT_EQ(argv, (std::vector<std::string>{"/tmp/my", "agent"}));
  ASSERT_TRUE(build_agent_command("'/tmp/my agent' --fast", "-p 22", argv, why));
  EXPECT_EQ(argv, (std::vector<std::string>{"/tmp/my agent", "--fast", "-p", "22"}));
}

TEST(LauncherAgentCommand, BadInputIsOneLine) {
  std::vector<std::string> argv;
  std::string why;
  EXPECT_FALSE(build_agent_command("   ", "", argv, why));
  EXPECT_NE(why.find("--launch-agent"), std::string::npos) << why;
  EXPECT_FALSE(build_agent_command("ssh", "-o 'x", argv, why));
  EXPECT_NE(why.find("--ssh-opts"), std::string::npos) << why;
  EXPECT_EQ(why.find('\n'), std::string::npos);
}
