// LocalSpawner: fork/exec with pdeathsig, process groups, pinning, pipes and control sockets.
#include "launcher/local_spawner.hpp"

#include "launcher/signals.hpp"
#include "runtime/common/load.hpp"
#include "runtime/topology/affinity.hpp"

#include <camure/error.hpp>

#include <cerrno>
#include <cstdint>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace camure::launcher {

namespace {

/// Everything the child needs, prepared before fork so the child allocates nothing.
struct ChildPlan {
  const char *path;
  char *const *argv;
  char *const *envp;
  const char *wdir;
  int in, out, err, ctl;
  int status; ///< CLOEXEC pipe: closed by a successful exec, else gets a StartFailure
  pid_t parent;
  const topology::AffinityMask *mask;
  const rlimit *fd_limit; ///< restored before exec, or null
  const SignalResets *resets; ///< dispositions to reset before exec
};

/// What a child reports on its status pipe when it cannot become the rank.
struct StartFailure {
  std::int32_t stage; ///< 1 binding, 2 chdir, 3 exec
  std::int32_t error; ///< errno
};

[[noreturn]] void child_fail(int status_fd, int stage, int err) noexcept {
  const StartFailure f{stage, err};
  [[maybe_unused]] ssize_t r = ::write(status_fd, &f, sizeof f); // < PIPE_BUF: atomic
  ::_exit(127);
}

std::string describe_failure(const StartFailure &f, const std::string &program, const std::string &wdir) {
  std::string what;
  switch (f.stage) {
  case 1: what = "cannot apply its cpu binding"; break;
  case 2: what = "cannot change to --wdir '" + wdir + "'"; break;
  default: what = "cannot execute '" + program + "'"; break;
  }
  return what + ": " + std::strerror(f.error);
}

[[noreturn]] void child_main(const ChildPlan &p) noexcept {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != p.parent) ::_exit(127); // the launcher died before prctl took effect
  ::setpgid(0, 0);
  p.resets->apply();
  if (::dup2(p.in, 0) < 0 || ::dup2(p.out, 1) < 0 || ::dup2(p.err, 2) < 0) ::_exit(127);
  // Nothing but 0-2 and the control fd may leak into the rank.
  ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  ::fcntl(p.ctl, F_SETFD, 0);
  if (p.fd_limit) ::setrlimit(RLIMIT_NOFILE, p.fd_limit);
  if (p.mask) {
    if (int e = p.mask->apply()) child_fail(p.status, 1, e);
  }
  if (p.wdir && ::chdir(p.wdir) != 0) child_fail(p.status, 2, errno);
  ::execve(p.path, p.argv, p.envp);
  child_fail(p.status, 3, errno);
}

// Sanitizers keep per-thread state that a child sharing our memory would corrupt (they turn
// vfork into fork themselves): plain fork there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CAMURE_SPAWN_WITH_FORK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define CAMURE_SPAWN_WITH_FORK 1
#endif
#endif

#ifndef CAMURE_SPAWN_WITH_FORK
int child_entry(void *plan) { child_main(*static_cast<const ChildPlan *>(plan)); }

/// The stack vfork-style children run child_main on until they exec (one at a time: the
/// parent sleeps meanwhile, so one stack serves every child).
void *child_stack_top() {
  static constexpr std::size_t kBytes = 256 * 1024;
  static void *const base = [] {
    void *p = ::mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }();
  return base ? static_cast<char *>(base) + kBytes : nullptr;
}
#endif

/// Whether every cpu of this host already has a runnable task besides us right now
/// (/proc/loadavg's fourth field, "running/total").
bool host_saturated() { return common::more_runnable_than_cpus(common::runnable_tasks()); }

/// Starts a child that runs child_main(plan) and returns its pid (-1 and errno on failure).
/// Signals must be blocked by the caller.
///
/// Like vfork: clone(CLONE_VM | CLONE_VFORK) on a private stack. No page table is copied and
/// nothing is copied on write afterwards, and we sleep until the child has exec'd or died, so
/// the child may read `plan` in our memory; it writes nothing but its own stack and fds.
/// Measured on this 2-core VM, 16 x /bin/true with nothing else competing for the cpus
/// (chrt -f): 8.45 ms against 10.23 ms with fork(), CPU 13.7 against 17.2 ms. On a host
/// saturated by other work, fork() fares better (49 against 62 ms median at load 11): each
/// rank then waits for the launcher to be scheduled again after the child's exec. So
/// `share_memory` (chosen once per launch with host_saturated()) picks fork on a busy host.
pid_t spawn_child(const ChildPlan &plan, bool share_memory) {
#ifndef CAMURE_SPAWN_WITH_FORK
  if (void *stack = share_memory ? child_stack_top() : nullptr)
    return ::clone(child_entry, stack, CLONE_VM | CLONE_VFORK | SIGCHLD, const_cast<ChildPlan *>(&plan));
#else
  (void)share_memory;
#endif
  const pid_t pid = ::fork();
  if (pid == 0) child_main(plan);
  return pid;
}

bool set_nonblock(int fd) {
  const int fl = ::fcntl(fd, F_GETFL);
  return fl >= 0 && ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

std::vector<char *> c_array(std::vector<std::string> &v) {
  std::vector<char *> out;
  out.reserve(v.size() + 1);
  for (auto &s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

} // namespace

LocalSpawner::LocalSpawner(EventLoop &loop, RankEvents &events) : loop_(loop), events_(events) {}

LocalSpawner::~LocalSpawner() {
  for (auto &r : ranks_) {
    if (!r.ended && r.pid > 0) {
      ::kill(-r.pid, SIGKILL);
      ::kill(r.pid, SIGKILL);
      int st = 0;
      ::waitpid(r.pid, &st, 0);
    }
    for (int *fd : {&r.out, &r.err, &r.ctl, &r.in, &r.status}) close_fd(*fd);
  }
}

void LocalSpawner::close_fd(int &fd) {
  if (fd < 0) return;
  loop_.unwatch(fd);
  ::close(fd);
  fd = -1;
}

LocalSpawner::Rank *LocalSpawner::find(int rank) {
  for (auto &r : ranks_)
    if (r.rank == rank) return &r;
  return nullptr;
}

std::error_code LocalSpawner::launch(const JobSpec &job, std::string &why) {
  ranks_.reserve(ranks_.size() + job.ranks.size());
  program_ = job.program;
  wdir_ = job.wdir;
  std::vector<std::string> argv = job.argv;
  std::vector<char *> cargv = c_array(argv);
  const pid_t self = ::getpid();
  const SignalResets resets = SignalResets::current(); // our handlers are installed by now
  const bool share_memory = !host_saturated();

  for (const RankSpec &spec : job.ranks) {
    int out[2] = {-1, -1}, err[2] = {-1, -1}, ctl[2] = {-1, -1}, in[2] = {-1, -1}, st[2] = {-1, -1};
    auto cleanup = [&] {
      for (int fd : {out[0], out[1], err[0], err[1], ctl[0], ctl[1], in[0], in[1], st[0], st[1]})
        if (fd >= 0) ::close(fd);
    };
    const bool gets_stdin = spec.rank == job.stdin_rank;
    bool ok = ::pipe2(out, O_CLOEXEC) == 0 && ::pipe2(err, O_CLOEXEC) == 0 && ::pipe2(st, O_CLOEXEC) == 0 &&
              ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) == 0;
    if (ok && gets_stdin) ok = ::pipe2(in, O_CLOEXEC) == 0;
    if (ok && !gets_stdin) ok = (in[0] = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;
    if (!ok) {
      const int e = errno;
      cleanup();
      why = "cannot set up rank " + std::to_string(spec.rank) + ": " + std::strerror(e);
      signal_all(SIGKILL);
      return {e, std::system_category()};
    }

    std::vector<std::string> env = spec.env;
    env.push_back("CAMURE_CONTROL_FD=" + std::to_string(ctl[1]));
    std::vector<char *> cenv = c_array(env);
    topology::AffinityMask mask;
    if (spec.binding.bound) mask = topology::AffinityMask(spec.binding.cpus);
    const ChildPlan plan{job.program.c_str(), cargv.data(), cenv.data(), job.wdir.empty() ? nullptr : job.wdir.c_str(),
                         in[0], out[1], err[1], ctl[1], st[1], self, mask.empty() ? nullptr : &mask,
                         fd_limit_ ? &*fd_limit_ : nullptr, &resets};

    // Signals stay blocked across fork until the child has reset every handler: a signal
    // reaching the child before that would run camurerun's handler and feed our signal pipe.
    sigset_t all, old;
    sigfillset(&all);
    ::sigprocmask(SIG_SETMASK, &all, &old);
    const pid_t pid = spawn_child(plan, share_memory); // the child unblocks after resetting dispositions
    const int fork_errno = errno;
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    if (pid < 0) {
      const int e = fork_errno;
      cleanup();
      why = "cannot start rank " + std::to_string(spec.rank) + ": fork: " + std::strerror(e);
      signal_all(SIGKILL);
      return {e, std::system_category()};
    }
    ::setpgid(pid, pid); // also in the child: whichever runs first, no window without a group
    ::close(out[1]);
    ::close(err[1]);
    ::close(ctl[1]);
    ::close(in[0]);
    ::close(st[1]);

    Rank r;
    r.rank = spec.rank;
    r.pid = pid;
    r.out = out[0];
    r.err = err[0];
    r.ctl = ctl[0];
    r.in = in[1];
    r.status = st[0];
    for (int fd : {r.out, r.err, r.ctl, r.in, r.status})
      if (fd >= 0) set_nonblock(fd);
    ranks_.push_back(r);
    ++running_;
    const std::size_t idx = ranks_.size() - 1;
    loop_.watch(r.out, POLLIN, [this, idx](short) { on_readable(ranks_[idx], 1, false); });
    loop_.watch(r.err, POLLIN, [this, idx](short) { on_readable(ranks_[idx], 2, false); });
    loop_.watch(r.ctl, POLLIN, [this, idx](short) { on_control(ranks_[idx], false); });
    loop_.watch(r.status, POLLIN, [this, idx](short) { on_status(ranks_[idx]); });
    events_.on_started(spec.rank, pid);
  }
  return {};
}

void LocalSpawner::on_readable(Rank &r, int stream, bool drain_all) {
  int &fd = stream == 1 ? r.out : r.err;
  char buf[65536];
  // Bounded per call so one chatty rank cannot starve the others; a final drain reads more.
  for (int round = 0; fd >= 0 && round < (drain_all ? 1024 : 4); ++round) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      events_.on_output(r.rank, stream, std::string_view(buf, static_cast<std::size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    close_fd(fd); // EOF or error
    events_.on_output_closed(r.rank, stream);
    return;
  }
}

void LocalSpawner::on_control(Rank &r, bool drain_all) {
  char buf[4096];
  for (int round = 0; r.ctl >= 0 && round < (drain_all ? 256 : 16); ++round) {
    const ssize_t n = ::recv(r.ctl, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      close_fd(r.ctl);
      return;
    }
    r.ctl_buf.append(buf, static_cast<std::size_t>(n));
    if (r.ctl_buf.back() != '\n') r.ctl_buf += '\n'; // one message is one line at most
    std::size_t nl;
    while ((nl = r.ctl_buf.find('\n')) != std::string::npos) {
      std::string line = r.ctl_buf.substr(0, nl);
      r.ctl_buf.erase(0, nl + 1);
      if (!line.empty()) events_.on_control(r.rank, line);
    }
  }
}

void LocalSpawner::on_status(Rank &r) {
  StartFailure f{};
  ssize_t n;
  do {
    n = ::read(r.status, &f, sizeof f);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN) return;
  if (n == static_cast<ssize_t>(sizeof f)) events_.on_start_failed(r.rank, describe_failure(f, program_, wdir_));
  close_fd(r.status); // EOF: the exec succeeded; or the failure was read
}

void LocalSpawner::finish(Rank &r, int status) {
  r.ended = true;
  --running_;
  if (r.status >= 0) on_status(r); // why it could not start, before its exit
  on_control(r, true); // an "abort" written just before exiting must be seen first
  on_readable(r, 1, true);
  on_readable(r, 2, true);
  // A grandchild may still hold the pipes: do not wait for it, close our ends.
  for (int stream : {1, 2}) {
    int &fd = stream == 1 ? r.out : r.err;
    if (fd >= 0) {
      close_fd(fd);
      events_.on_output_closed(r.rank, stream);
    }
  }
  close_fd(r.ctl);
  close_fd(r.in);
  close_fd(r.status);
  events_.on_exit(r.rank, r.pid, status);
}

void LocalSpawner::reap() {
  for (auto &r : ranks_) {
    if (r.ended) continue;
    int st = 0;
    const pid_t p = ::waitpid(r.pid, &st, WNOHANG);
    if (p == r.pid) finish(r, st);
  }
}

void LocalSpawner::signal_all(int sig) {
  for (auto &r : ranks_) {
    if (r.ended) continue;
    if (::kill(-r.pid, sig) != 0) ::kill(r.pid, sig);
  }
}

int LocalSpawner::stdin_sink(int rank) {
  Rank *r = find(rank);
  return r && !r->ended ? r->in : -1;
}

void LocalSpawner::close_stdin(int rank) {
  if (Rank *r = find(rank)) close_fd(r->in);
}

} // namespace camure::launcher

namespace camure::launcher {

void LocalSpawner::send_control(int rank, std::string_view line) {
  Rank *r = find(rank);
  if (!r || r->ctl < 0) return;
  std::string msg(line);
  msg += '\n';
  // One message per reply; the rank reads them in order. A rank that never reads its replies
  // fills the socket buffer: the reply is then dropped rather than blocking the launcher.
  ssize_t n;
  do {
    n = ::send(r->ctl, msg.data(), msg.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
}

} // namespace camure::launcher
