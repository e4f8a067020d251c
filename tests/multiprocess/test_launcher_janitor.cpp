// Janitor: when its pipe closes it kills what is left in the rank groups and removes segments.
#include "launcher/janitor.hpp"
#include "launcher/job_spec.hpp"
#include "support/probe/camurerun_process.hpp"
#include "support/wait.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <filesystem>
#include <sys/mman.h>

using namespace std::chrono_literals;

namespace {

/// A process in a new process group of its own that sleeps until killed; returns its pid.
pid_t start_group_sleeper() {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (;;) ::pause();
  }
  ::setpgid(pid, pid);
  return pid;
}

bool segment_exists(const std::string &name) { return std::filesystem::exists("/dev/shm/" + name); }

void make_segment(const std::string &name) {
  const int fd = ::shm_open(("/" + name).c_str(), O_CREAT | O_RDWR, 0600);
  ASSERT_GE(fd, 0);
  ::close(fd);
}

} // namespace

TEST(LauncherJanitor, CleansUpWhenItsPipeCloses) {
  camure::test::become_subreaper();
  const std::string job = camure::launcher::make_job_id();
  make_segment("camure-" + job + "-n0-ring");
  make_segment("camure-" + job + "-x");
  make_segment("camure-" + job + "x-not-ours"); // another job's prefix: must stay
  const pid_t sleeper = start_group_sleeper();

  std::error_code ec;
  camure::launcher::Janitor j = camure::launcher::Janitor::start(job, ec);
  ASSERT_FALSE(ec) << ec.message();
  j.add_group(sleeper);
  EXPECT_TRUE(camure::test::process_alive(sleeper));
  j.finish(); // closes the pipe, waits for the janitor

  EXPECT_TRUE(POLL_FOR(!camure::test::process_alive(sleeper), 10s));
  EXPECT_FALSE(segment_exists("camure-" + job + "-n0-ring"));
  EXPECT_FALSE(segment_exists("camure-" + job + "-x"));
  ::shm_unlink(("/camure-" + job + "-n0-ring").c_str()); // leave nothing behind if this failed
  ::shm_unlink(("/camure-" + job + "-x").c_str());
  EXPECT_TRUE(segment_exists("camure-" + job + "x-not-ours"));
  ::shm_unlink(("/camure-" + job + "x-not-ours").c_str());
  EXPECT_TRUE(camure::test::no_descendants_left(10s));
}

TEST(LauncherJanitor, IgnoresTerminalSignalsUntilItsPipeCloses) {
  const std::string job = camure::launcher::make_job_id();
  make_segment("camure-" + job + "-seg");
  std::error_code ec;
  camure::launcher::Janitor j = camure::launcher::Janitor::start(job, ec);
  ASSERT_FALSE(ec);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::kill(j.pid(), sig);
  // Still there and still responsible: the segment survives until the pipe closes.
  int st = 0;
  EXPECT_EQ(::waitpid(j.pid(), &st, WNOHANG), 0);
  EXPECT_TRUE(segment_exists("camure-" + job + "-seg"));
  j.finish();
  EXPECT_FALSE(segment_exists("camure-" + job + "-seg"));
  ::shm_unlink(("/camure-" + job + "-seg").c_str()); // leave nothing behind if this failed
}

TEST(LauncherJanitor, UsualEndRemovesSegmentsWithoutWaitingForTheJanitor) {
  // Every rank group already gone (reaped, nothing left): finish() removes the segments itself
  // and the janitor, told it is done, exits on its own.
  const std::string job = camure::launcher::make_job_id();
  make_segment("camure-" + job + "-seg");
  std::error_code ec;
  camure::launcher::Janitor j = camure::launcher::Janitor::start(job, ec);
  ASSERT_FALSE(ec) << ec.message();
  const pid_t janitor = j.pid();
  const pid_t rank = start_group_sleeper();
  j.add_group(rank);
  ::kill(rank, SIGKILL);
  int st = 0;
  ASSERT_EQ(::waitpid(rank, &st, 0), rank);
  j.finish();
  EXPECT_EQ(j.pid(), -1);
  EXPECT_FALSE(segment_exists("camure-" + job + "-seg")); // by finish() itself, at once
  ::shm_unlink(("/camure-" + job + "-seg").c_str());      // leave nothing behind if this failed
  // The janitor exits by itself (it may already have been reaped by finish()).
  const pid_t r = ::waitpid(janitor, &st, 0);
  if (r == janitor) {
    EXPECT_TRUE(WIFEXITED(st)) << st;
    EXPECT_EQ(WEXITSTATUS(st), 0);
  } else {
    EXPECT_EQ(errno, ECHILD);
  }
}
