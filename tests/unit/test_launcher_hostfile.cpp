// Host lists (-H) and host files (Open MPI and MPICH forms): parsing and error lines.
#include "launcher/hostfile.hpp"

#include <gtest/gtest.h>

using namespace camure::launcher;

TEST(LauncherHostList, NamesAndSlots) {
  std::vector<HostEntry> h;
  std::string why;
  ASSERT_TRUE(parse_host_list("h1:2,h2,h3:4", h, why)) << why;
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].name, "h1");
  EXPECT_EQ(h[0].slots, 2u);
  EXPECT_EQ(h[1].name, "h2");
  EXPECT_EQ(h[1].slots, 1u);
  EXPECT_EQ(h[2].slots, 4u);
}

TEST(LauncherHostList, RepeatedHostsAddSlots) {
  std::vector<HostEntry> h;
  std::string why;
  ASSERT_TRUE(parse_host_list("a,b,a", h, why));
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].slots, 2u);
}

TEST(LauncherHostList, BracketedIpv6AndAddresses) {
  std::vector<HostEntry> h;
  std::string why;
  ASSERT_TRUE(parse_host_list("[fe80::1]:3,10.77.1.2:2,::1", h, why)) << why;
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].name, "fe80::1");
  EXPECT_EQ(h[0].slots, 3u);
  EXPECT_EQ(h[1].name, "10.77.1.2");
  EXPECT_EQ(h[2].name, "::1");
  EXPECT_EQ(h[2].slots, 1u);
}

TEST(LauncherHostList, Errors) {
  for (const char *bad : {"", "a,,b", "a:0", "a:x", "a:-1", ",a", "a,", "h o", "a:99999999", "-x"}) {
    std::vector<HostEntry> h;
    std::string why;
    EXPECT_FALSE(parse_host_list(bad, h, why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
    EXPECT_EQ(why.find('\n'), std::string::npos);
  }
}

TEST(LauncherHostFile, OpenMpiForm) {
  std::vector<HostEntry> h;
  std::string why;
  ASSERT_TRUE(parse_hostfile("# cluster\n\nnode01 slots=4\nnode02 slots=2 max_slots=8  # big\n  node03\n", "hf", h, why))
      << why;
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].slots, 4u);
  EXPECT_EQ(h[1].slots, 2u);
  EXPECT_EQ(h[1].max_slots, 8u);
  EXPECT_EQ(h[2].name, "node03");
  EXPECT_EQ(h[2].slots, 1u);
}

TEST(LauncherHostFile, MpichFormAndCrlf) {
  std::vector<HostEntry> h;
  std::string why;
  ASSERT_TRUE(parse_hostfile("node01:4\r\nnode02:1\r\n", "hf", h, why)) << why;
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].slots, 4u);
  EXPECT_EQ(h[1].name, "node02");
}

TEST(LauncherHostFile, ErrorsNameFileAndLine) {
  struct Case {
    const char *text;
    const char *expect; ///< substring
  } cases[] = {
      {"a slots=2\nb slots=x\n", "hf:2: slots 'x'"},
      {"a\n\n# c\nb foo=1\n", "hf:4: unknown attribute 'foo'"},
      {"a:2 slots=3\n", "hf:1: slots given twice"},
      {"a slots=4 max_slots=2\n", "hf:1: slots 4 exceed max_slots 2"},
      {"bad$host\n", "hf:1:"},
      {"a b\n", "hf:1: unexpected 'b'"},
      {"# only comments\n\n", "hf: no hosts"},
      {"a:0\n", "hf:1:"},
  };
  for (const auto &c : cases) {
    std::vector<HostEntry> h;
    std::string why;
    EXPECT_FALSE(parse_hostfile(c.text, "hf", h, why)) << c.text;
    EXPECT_NE(why.find(c.expect), std::string::npos) << "got: " << why;
    EXPECT_EQ(why.find('\n'), std::string::npos);
  }
}

TEST(LauncherHostFile, MissingFileNamesIt) {
  std::vector<HostEntry> h;
  std::string why;
  EXPECT_FALSE(read_hostfile("/nonexistent/camure-hosts", h, why));
  EXPECT_NE(why.find("/nonexistent/camure-hosts"), std::string::npos);
}
