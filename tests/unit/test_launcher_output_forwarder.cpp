// OutputForwarder: line assembly, tags, partial and overlong lines, per-rank files.
#include "launcher/output_forwarder.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <regex>
#include <unistd.h>

using namespace camure::launcher;

namespace {

/// A pipe whose read side we drain after the writes (large enough for these tests).
struct Sink {
  int fds[2];
  Sink() {
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    ::fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
    ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  }
  ~Sink() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
  std::string drain() {
    std::string out;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }
};

std::unique_ptr<OutputForwarder> make(OutputConfig cfg, int n) {
  std::error_code ec;
  std::string why;
  auto f = OutputForwarder::create(cfg, n, ec, why);
  EXPECT_FALSE(ec) << why;
  return f;
}

} // namespace

TEST(LauncherOutputForwarder, AssemblesLinesFromPieces) {
  Sink out, err;
  OutputConfig cfg;
  cfg.tag = true;
  cfg.out_fd = out.fds[1];
  cfg.err_fd = err.fds[1];
  auto f = make(cfg, 2);
  f->data(0, 1, "hel");
  f->data(1, 1, "other ");
  EXPECT_EQ(out.drain(), ""); // nothing until a line is complete
  f->data(0, 1, "lo\nwor");
  f->data(1, 1, "rank\n");
  f->data(0, 1, "ld\n");
  f->data(1, 2, "oops\n");
  EXPECT_EQ(out.drain(), "[0] hello\n[1] other rank\n[0] world\n");
  EXPECT_EQ(err.drain(), "[1] oops\n");
}

TEST(LauncherOutputForwarder, PartialLineIsFlushedOnClose) {
  Sink out;
  OutputConfig cfg;
  cfg.tag = true;
  cfg.out_fd = out.fds[1];
  auto f = make(cfg, 1);
  f->data(0, 1, "a\nno newline");
  f->close(0, 1);
  EXPECT_EQ(out.drain(), "[0] a\n[0] no newline\n");
}

TEST(LauncherOutputForwarder, UntaggedOutputKeepsItsBytesExactly) {
  Sink out;
  OutputConfig cfg;
  cfg.out_fd = out.fds[1];
  auto f = make(cfg, 2);
  f->data(0, 1, "x\ny");
  f->data(1, 1, "z");
  f->close_all();
  EXPECT_EQ(out.drain(), "x\nyz");
}

TEST(LauncherOutputForwarder, OverlongLinesAreEmittedInPieces) {
  Sink out;
  OutputConfig cfg;
  cfg.tag = true;
  cfg.max_line = 8;
  cfg.out_fd = out.fds[1];
  auto f = make(cfg, 1);
  f->data(0, 1, "0123456789");
  EXPECT_EQ(out.drain(), "[0] 0123456789\n");
  f->data(0, 1, "ab\n");
  EXPECT_EQ(out.drain(), "[0] ab\n");
}

TEST(LauncherOutputForwarder, TimestampPrefix) {
  Sink out;
  OutputConfig cfg;
  cfg.timestamp = true;
  cfg.out_fd = out.fds[1];
  auto f = make(cfg, 1);
  f->data(0, 1, "t\n");
  const std::string s = out.drain();
  EXPECT_TRUE(std::regex_match(s, std::regex(R"(\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\] t\n)"))) << s;
}

TEST(LauncherOutputForwarder, PerRankFiles) {
  const auto dir = std::filesystem::temp_directory_path() / ("camure-of-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  OutputConfig cfg;
  cfg.tag = true; // no tags in per-rank files: the path names the rank
  cfg.dir = dir.string();
  {
    auto f = make(cfg, 2);
    f->data(1, 1, "one\n");
    f->data(1, 2, "two");
    f->data(0, 1, "zero\n");
  }
  auto read = [](const std::filesystem::path &p) {
    std::ifstream in(p);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  };
  EXPECT_EQ(read(dir / "1/rank.0/stdout"), "zero\n");
  EXPECT_EQ(read(dir / "1/rank.1/stdout"), "one\n");
  EXPECT_EQ(read(dir / "1/rank.1/stderr"), "two\n");
  EXPECT_EQ(read(dir / "1/rank.0/stderr"), "");
  std::filesystem::remove_all(dir);
}

TEST(LauncherOutputForwarder, UncreatableDirectoryIsAnError) {
  OutputConfig cfg;
  cfg.dir = "/proc/camure-cannot-create-here";
  std::error_code ec;
  std::string why;
  EXPECT_EQ(OutputForwarder::create(cfg, 1, ec, why), nullptr);
  EXPECT_TRUE(ec);
  EXPECT_NE(why.find("/proc/camure-cannot-create-here"), std::string::npos) << why;
}

TEST(LauncherOutputForwarder, MergedStderrGoesToStdoutAsWholeLines) {
  Sink out, err;
  OutputConfig cfg;
  cfg.tag = true;
  cfg.merge_stderr = true;
  cfg.out_fd = out.fds[1];
  cfg.err_fd = err.fds[1];
  auto f = make(cfg, 1);
  f->data(0, 1, "out-a");
  f->data(0, 2, "err\n");
  f->data(0, 1, "-b\n");
  EXPECT_EQ(out.drain(), "[0] err\n[0] out-a-b\n");
  EXPECT_EQ(err.drain(), "");
}
