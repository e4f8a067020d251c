// StdinForwarder: bytes and EOF reach the rank's stdin; a rank that stops reading pauses the
// source instead of growing memory; a rank that goes away stops the forwarding.
#include "launcher/stdin_forwarder.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

using namespace camure::launcher;
using namespace std::chrono_literals;

namespace {

/// A Spawner with one rank whose stdin is a pipe we read in the test.
class PipeSpawner final : public Spawner {
public:
  PipeSpawner() {
    EXPECT_EQ(::pipe2(fds_, O_CLOEXEC), 0);
    ::fcntl(fds_[1], F_SETFL, O_NONBLOCK);
    ::fcntl(fds_[0], F_SETFL, O_NONBLOCK);
  }
  ~PipeSpawner() override {
    if (fds_[0] >= 0) ::close(fds_[0]);
    if (fds_[1] >= 0) ::close(fds_[1]);
  }
  std::error_code launch(const JobSpec &, std::string &) override { return {}; }
  void signal_all(int) override {}
  int running() const override { return 1; }
  void reap() override {}
  int stdin_sink(int rank) override { return rank == 0 ? fds_[1] : -1; }
  void close_stdin(int) override {
    if (fds_[1] >= 0) ::close(fds_[1]);
    fds_[1] = -1;
  }
  /// Reads what the rank would read; returns "" when nothing is there, sets eof at EOF.
  std::string rank_reads(bool &eof) {
    std::string out;
    char buf[65536];
    for (;;) {
      const ssize_t n = ::read(fds_[0], buf, sizeof buf);
      if (n > 0) {
        out.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      eof = n == 0;
      return out;
    }
  }
  void rank_closes_stdin() {
    ::close(fds_[0]);
    fds_[0] = -1;
  }

private:
  int fds_[2] = {-1, -1};
};

struct Source {
  int fds[2];
  Source() { EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0); }
  ~Source() {
    ::close(fds[0]);
    if (fds[1] >= 0) ::close(fds[1]);
  }
  void write(const std::string &s) { ASSERT_EQ(::write(fds[1], s.data(), s.size()), static_cast<ssize_t>(s.size())); }
  void close_write() {
    ::close(fds[1]);
    fds[1] = -1;
  }
};

} // namespace

TEST(LauncherStdinForwarder, BytesThenEofReachTheRank) {
  EventLoop loop;
  PipeSpawner sp;
  Source src;
  StdinForwarder f(loop, sp, src.fds[0], 0);
  f.start();
  src.write("hello ");
  src.write("rank zero\n");
  src.close_write();
  std::string got;
  bool eof = false;
  for (int i = 0; i < 100 && !eof; ++i) {
    loop.run_once(100ms);
    got += sp.rank_reads(eof);
  }
  EXPECT_EQ(got, "hello rank zero\n");
  EXPECT_TRUE(eof);
  EXPECT_EQ(sp.stdin_sink(0), -1) << "the rank's stdin was closed";
}

TEST(LauncherStdinForwarder, ARankThatDoesNotReadPausesTheSource) {
  EventLoop loop;
  PipeSpawner sp;
  Source src;
  ::fcntl(src.fds[1], F_SETFL, O_NONBLOCK);
  StdinForwarder f(loop, sp, src.fds[0], 0);
  f.start();
  // Offer far more than the two pipes can hold while the rank reads nothing.
  const std::string chunk(65536, 'x');
  std::size_t offered = 0;
  for (int round = 0; round < 200; ++round) {
    const ssize_t n = ::write(src.fds[1], chunk.data(), chunk.size());
    if (n > 0) offered += static_cast<std::size_t>(n);
    loop.run_once(0ms);
  }
  // The source pipe filled up: the forwarder stopped taking bytes (bounded buffering).
  EXPECT_LT(offered, 200u * chunk.size());
  // Now the rank reads everything and the rest flows.
  src.close_write();
  std::size_t got = 0;
  bool eof = false;
  for (int i = 0; i < 10000 && !eof; ++i) {
    loop.run_once(100ms);
    got += sp.rank_reads(eof).size();
  }
  EXPECT_TRUE(eof);
  EXPECT_EQ(got, offered);
}

TEST(LauncherStdinForwarder, RankClosingItsStdinStopsForwarding) {
  ::signal(SIGPIPE, SIG_IGN); // as in camurerun
  EventLoop loop;
  PipeSpawner sp;
  Source src;
  StdinForwarder f(loop, sp, src.fds[0], 0);
  f.start();
  sp.rank_closes_stdin();
  src.write("nobody listens\n");
  for (int i = 0; i < 10 && loop.watching(src.fds[0]); ++i) loop.run_once(100ms);
  EXPECT_FALSE(loop.watching(src.fds[0]));
}
