// Janitor process: reads rank process groups, and on EOF kills leftovers and removes segments.
#include "launcher/janitor.hpp"

#include "launcher/shm_cleanup.hpp"

#include <camure/error.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <linux/close_range.h>
#include <poll.h>
#include <set>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace camure::launcher {

namespace {

/// Live (non-zombie) processes, other than us, whose process group is in `groups`.
int count_live_members(const std::set<pid_t> &groups) {
  int live = 0;
  DIR *d = ::opendir("/proc");
  if (!d) return 0;
  while (dirent *e = ::readdir(d)) {
    char *end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (!end || *end != '\0' || pid <= 0 || pid == ::getpid()) continue;
    std::ifstream stat("/proc/" + std::string(e->d_name) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // Fields after the parenthesised command name: state ppid pgrp ...
    const auto close = line.rfind(')');
    if (close == std::string::npos || close + 2 >= line.size()) continue;
    char state = 0;
    long ppid = 0, pgrp = 0;
    if (std::sscanf(line.c_str() + close + 2, "%c %ld %ld", &state, &ppid, &pgrp) != 3) continue;
    if (state != 'Z' && state != 'X' && groups.count(static_cast<pid_t>(pgrp))) ++live;
  }
  ::closedir(d);
  return live;
}

/// SIGKILLs every group; returns whether any of them still had a process (zombies included).
bool kill_groups(const std::set<pid_t> &groups) {
  bool any = false;
  for (pid_t g : groups)
    if (::kill(-g, SIGKILL) == 0) any = true;
  return any;
}

constexpr int kIgnored[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2, SIGTSTP, SIGTTIN, SIGTTOU};

sigset_t ignored_set() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : kIgnored) sigaddset(&set, sig);
  return set;
}

} // namespace

[[noreturn]] void janitor_main(int read_fd, const std::string &job_id) {
  // Own session: a kill aimed at camurerun's process group (a terminal, a batch system)
  // must not take the janitor down before it has cleaned up.
  ::setsid();
  // Janitor::start forked us with these signals blocked: ignore them, then unblock (a signal
  // that arrived in between is discarded instead of killing us).
  for (int sig : kIgnored) ::signal(sig, SIG_IGN);
  ::signal(SIGCHLD, SIG_DFL);
  const sigset_t set = ignored_set();
  ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
  // Keep nothing of camurerun's but the pipe: our stdout/stderr must not delay a reader's EOF.
  const int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
  }
  if (read_fd != 3) {
    ::dup2(read_fd, 3);
    read_fd = 3;
  }
  ::syscall(SYS_close_range, 4U, ~0U, 0U);

  std::set<pid_t> groups;
  bool done = false; ///< camurerun saw every group gone and removed the segments itself
  std::string buf;
  char chunk[512];
  for (;;) {
    const ssize_t n = ::read(read_fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break; // EOF: camurerun finished or died
    buf.append(chunk, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      if (buf.compare(0, nl, "done") == 0) done = true;
      const long v = std::strtol(buf.c_str(), nullptr, 10);
      if (v > 1) groups.insert(static_cast<pid_t>(v));
      buf.erase(0, nl + 1);
    }
  }
  // Nothing left to do: and no kill(-g) now, when a reaped group's id may already be reused.
  if (done) ::_exit(0);

  // Leftovers: ranks (if camurerun died) and anything they started in their groups.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!groups.empty()) {
    // Usually every group is already empty (camurerun reaped its ranks): no /proc scan then.
    if (!kill_groups(groups)) break;
    if (count_live_members(groups) == 0 || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  remove_job_segments(job_id);
  ::_exit(0);
}

Janitor Janitor::start(const std::string &job_id, std::error_code &ec) {
  ec.clear();
  Janitor j;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    ec = std::error_code(errno, std::system_category());
    return j;
  }
  // The child must not die of a terminal signal before it has set up to ignore them.
  const sigset_t block = ignored_set();
  sigset_t old;
  ::sigprocmask(SIG_BLOCK, &block, &old);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[1]);
    janitor_main(fds[0], job_id);
  }
  const int fork_errno = errno;
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) {
    ec = std::error_code(fork_errno, std::system_category());
    ::close(fds[0]);
    ::close(fds[1]);
    return j;
  }
  ::close(fds[0]);
  j.pid_ = pid;
  j.fd_ = fds[1];
  j.job_id_ = job_id;
  return j;
}

Janitor::Janitor(Janitor &&o) noexcept
    : pid_(o.pid_), fd_(o.fd_), job_id_(std::move(o.job_id_)), groups_(std::move(o.groups_)) {
  o.pid_ = -1;
  o.fd_ = -1;
}

Janitor &Janitor::operator=(Janitor &&o) noexcept {
  if (this != &o) {
    finish();
    pid_ = o.pid_;
    fd_ = o.fd_;
    job_id_ = std::move(o.job_id_);
    groups_ = std::move(o.groups_);
    o.pid_ = -1;
    o.fd_ = -1;
  }
  return *this;
}

Janitor::~Janitor() { finish(); }

void Janitor::add_group(pid_t pgid) {
  if (fd_ < 0) return;
  groups_.push_back(pgid);
  const std::string line = std::to_string(pgid) + "\n";
  [[maybe_unused]] ssize_t r = ::write(fd_, line.data(), line.size()); // < PIPE_BUF: atomic
}

void Janitor::finish() {
  if (fd_ >= 0) {
    // A group with any process left (a zombie leader too) makes kill() succeed: those are
    // killed here at once and the janitor waits for them. None left: the fast end.
    bool left = false;
    for (pid_t g : groups_)
      if (g > 1 && ::kill(-g, SIGKILL) == 0) left = true;
    if (!left && pid_ > 0) {
      remove_job_segments(job_id_);
      static constexpr char kDone[] = "done\n";
      [[maybe_unused]] ssize_t r = ::write(fd_, kDone, sizeof kDone - 1);
      ::close(fd_);
      fd_ = -1;
      int st = 0;
      ::waitpid(pid_, &st, WNOHANG); // reaped if already gone; else it exits on its own
      pid_ = -1;
      return;
    }
    ::close(fd_);
    fd_ = -1;
  }
  if (pid_ > 0) {
    // The janitor bounds its own work (10 s); wait for it so segments are gone when we exit.
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
}

} // namespace camure::launcher
