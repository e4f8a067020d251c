// camurerun I/O: stdin to rank 0, whole lines never interleaved, tags, timestamps, files.
#include "support/probe/camurerun_process.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string_view>

using camure::test::CamurerunProcess;
using camure::test::lines_of;
using namespace std::chrono_literals;

namespace {

unsigned fnv1a(const std::string &s) {
  unsigned h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

std::string payload(int rank, int seq, int len) {
  std::string p(static_cast<std::size_t>(len), 'a');
  for (int i = 0; i < len; ++i) p[static_cast<std::size_t>(i)] = static_cast<char>('a' + (rank * 7 + seq + i) % 26);
  return p;
}

/// Parses "<rank> <seq> <payload>" (after an optional "[rank] " tag); false if malformed.
bool parse_spam_line(std::string_view l, bool tagged, int &rank, int &seq, std::string_view &pay) {
  auto number = [&](std::string_view &v, int &out) {
    std::size_t i = 0;
    out = 0;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9') out = out * 10 + (v[i++] - '0');
    if (i == 0) return false;
    v.remove_prefix(i);
    return true;
  };
  int tag = -1;
  if (tagged) {
    if (l.empty() || l[0] != '[') return false;
    l.remove_prefix(1);
    if (!number(l, tag) || l.substr(0, 2) != "] ") return false;
    l.remove_prefix(2);
  }
  if (!number(l, rank) || l.empty() || l[0] != ' ') return false;
  l.remove_prefix(1);
  if (!number(l, seq) || l.empty() || l[0] != ' ') return false;
  l.remove_prefix(1);
  pay = l;
  return !tagged || tag == rank;
}

/// Checks spam output: every line intact, each rank's lines complete and in order.
void check_spam(const std::string &out, int ranks, int lines, int len, bool tagged) {
  std::map<int, int> next;
  std::size_t n = 0;
  for (const auto &l : lines_of(out)) {
    int rank = -1, seq = -1;
    std::string_view pay;
    ASSERT_TRUE(parse_spam_line(l, tagged, rank, seq, pay)) << "mangled line: " << l.substr(0, 120);
    ASSERT_EQ(seq, next[rank]) << "rank " << rank << " out of order";
    ASSERT_EQ(pay, payload(rank, seq, len)) << "rank " << rank << " seq " << seq;
    ++next[rank];
    ++n;
  }
  EXPECT_EQ(n, static_cast<std::size_t>(ranks * lines));
  for (int r = 0; r < ranks; ++r) EXPECT_EQ(next[r], lines) << "rank " << r;
}

} // namespace

TEST(LauncherIo, StdinGoesToRankZeroOnly) {
  CamurerunProcess p({"-n", "3", PROBE_PATH, "stdin"});
  const std::string data = "hello\nworld\nno newline at the end";
  ASSERT_TRUE(p.write_stdin(data));
  p.close_stdin();
  EXPECT_EQ(p.finish(), 0) << p.err();
  auto out = p.out();
  EXPECT_NE(out.find("stdin 0 " + std::to_string(data.size()) + " " + std::to_string(fnv1a(data))), std::string::npos)
      << out;
  EXPECT_NE(out.find("stdin 1 0 "), std::string::npos) << out;
  EXPECT_NE(out.find("stdin 2 0 "), std::string::npos) << out;
}

TEST(LauncherIo, LargeStdinIsForwardedCompletely) {
  CamurerunProcess p({"-n", "2", PROBE_PATH, "stdin"});
  std::string data(4 << 20, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 131) >> 3);
  ASSERT_TRUE(p.write_stdin(data)); // more than any pipe buffer: exercises backpressure
  p.close_stdin();
  EXPECT_EQ(p.finish(), 0) << p.err();
  EXPECT_NE(p.out().find("stdin 0 " + std::to_string(data.size()) + " " + std::to_string(fnv1a(data))),
            std::string::npos)
      << p.out();
}

TEST(LauncherIo, StdinNoneGivesEveryRankEof) {
  CamurerunProcess p({"-n", "2", "--stdin", "none", PROBE_PATH, "stdin"});
  p.write_stdin("ignored\n");
  EXPECT_EQ(p.finish(), 0) << p.err();
  EXPECT_NE(p.out().find("stdin 0 0 "), std::string::npos) << p.out();
}

TEST(LauncherIo, TaggedLinesAreNeverInterleaved) {
  CamurerunProcess p({"-n", "4", "--tag-output", PROBE_PATH, "spam", "2000", "301"});
  p.close_stdin();
  ASSERT_EQ(p.finish(60s), 0) << p.err();
  check_spam(p.out(), 4, 2000, 301, true);
}

TEST(LauncherIo, UntaggedLinesAreNeverInterleavedEither) {
  CamurerunProcess p({"-n", "4", PROBE_PATH, "spam", "600", "5000"});
  p.close_stdin();
  ASSERT_EQ(p.finish(60s), 0) << p.err();
  check_spam(p.out(), 4, 600, 5000, false);
}

TEST(LauncherIo, PartialLastLineIsFlushed) {
  CamurerunProcess p({"-n", "1", "--tag-output", "/bin/sh", "-c", "printf 'first\\nno-newline'"});
  EXPECT_EQ(p.finish(), 0);
  EXPECT_EQ(p.out(), "[0] first\n[0] no-newline\n");
  CamurerunProcess q({"-n", "1", "/bin/sh", "-c", "printf 'raw-partial'"});
  EXPECT_EQ(q.finish(), 0);
  EXPECT_EQ(q.out(), "raw-partial");
}

TEST(LauncherIo, StderrIsForwardedToStderrTagged) {
  CamurerunProcess p({"-n", "2", "--tag-output", "/bin/sh", "-c", "echo to-err >&2"});
  EXPECT_EQ(p.finish(), 0);
  EXPECT_EQ(p.out(), "");
  auto ls = lines_of(p.err());
  std::sort(ls.begin(), ls.end());
  EXPECT_EQ(ls, (std::vector<std::string>{"[0] to-err", "[1] to-err"}));
}

TEST(LauncherIo, TimestampPrefixesEveryLine) {
  CamurerunProcess p({"-n", "2", "--timestamp-output", "--tag-output", PROBE_PATH, "args", "x"});
  EXPECT_EQ(p.finish(), 0);
  const std::regex re(R"(^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\] \[[01]\] args [01] x$)");
  auto ls = lines_of(p.out());
  ASSERT_EQ(ls.size(), 2u) << p.out();
  for (const auto &l : ls) EXPECT_TRUE(std::regex_match(l, re)) << l;
}

TEST(LauncherIo, OutputFilenameWritesPerRankFiles) {
  const auto dir = std::filesystem::temp_directory_path() / ("camure-outfiles-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  CamurerunProcess p({"-n", "3", "--output-filename", dir.string(), "/bin/sh", "-c",
                      "echo out-$CAMURE_RANK; echo err-$CAMURE_RANK >&2"});
  EXPECT_EQ(p.finish(), 0) << p.err();
  EXPECT_EQ(p.out(), "");
  EXPECT_EQ(p.err(), "");
  for (int r = 0; r < 3; ++r) {
    for (const char *s : {"stdout", "stderr"}) {
      std::ifstream f(dir / "1" / ("rank." + std::to_string(r)) / s);
      std::string content((std::istreambuf_iterator<char>(f)), {});
      EXPECT_EQ(content, std::string(s == std::string("stdout") ? "out-" : "err-") + std::to_string(r) + "\n");
    }
  }
  std::filesystem::remove_all(dir);
}
