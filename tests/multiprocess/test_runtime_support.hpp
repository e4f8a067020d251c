// Test helper for the runtime's multiprocess tests: run a program (camurerun or a rank set made
// by hand) with a deadline and collect its exit status and output.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <poll.h>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace camure::test {

/// True in ASan/UBSan/TSan builds (tests shrink their heaviest cases there).
#if defined(CAMURE_SANITIZER_ADDRESS) || defined(CAMURE_SANITIZER_THREAD) || defined(CAMURE_SANITIZER_UNDEFINED)
inline constexpr bool sanitized = true;
#else
inline constexpr bool sanitized = false;
#endif

struct RunResult {
  int status = -1;   ///< exit code, 128+signal if killed, -1 if it timed out (then killed)
  std::string output; ///< stdout and stderr together
  bool timed_out = false;
};

/// Child-side: environment without the launcher's variables, plus `env`.
inline void apply_env(const std::map<std::string, std::string> &env) {
  for (const char *v : {"CAMURE_RANK", "CAMURE_SIZE", "CAMURE_LOCAL_RANK", "CAMURE_LOCAL_SIZE", "CAMURE_NODE_ID",
                        "CAMURE_NUM_NODES", "CAMURE_JOB_ID", "CAMURE_CONTROL_FD"})
    ::unsetenv(v);
  for (const auto &[k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
}

/// Starts argv (argv[0] is a path) with extra env; returns the pid and the read end of a pipe
/// carrying its stdout+stderr. The child is in its own process group and dies with us.
inline pid_t spawn(const std::vector<std::string> &argv, const std::map<std::string, std::string> &env, int &out_fd) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return -1;
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(p[1], 1);
    ::dup2(p[1], 2);
    apply_env(env);
    std::vector<char *> args;
    for (const auto &a : argv) args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(p[1]);
  out_fd = p[0];
  if (pid < 0) ::close(p[0]);
  return pid;
}

/// Reads the pipes until all reach EOF or the deadline; then reaps the children (killing their
/// process groups first on timeout). Returns each child's status as in RunResult.
inline std::vector<int> collect(const std::vector<pid_t> &pids, std::vector<int> fds, std::string &output,
                                std::chrono::steady_clock::time_point deadline, bool &timed_out) {
  timed_out = false;
  for (;;) {
    std::vector<pollfd> pf;
    for (int fd : fds)
      if (fd >= 0) pf.push_back({fd, POLLIN, 0});
    if (pf.empty()) break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    if (::poll(pf.data(), pf.size(), static_cast<int>(std::min<long long>(left.count(), 1000))) < 0) continue;
    for (const auto &x : pf) {
      if (!(x.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      const ssize_t n = ::read(x.fd, buf, sizeof buf);
      if (n > 0) {
        if (output.size() < (4u << 20)) output.append(buf, static_cast<std::size_t>(n));
      } else {
        for (int &fd : fds)
          if (fd == x.fd) {
            ::close(fd);
            fd = -1;
          }
      }
    }
  }
  for (int fd : fds)
    if (fd >= 0) ::close(fd);
  std::vector<int> status;
  for (pid_t pid : pids) {
    if (timed_out) ::kill(-pid, SIGKILL);
    int st = 0;
    // Output closed: the process is exiting; bound the wait anyway.
    const auto reap_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    pid_t r = 0;
    while ((r = ::waitpid(pid, &st, WNOHANG)) == 0 && std::chrono::steady_clock::now() < reap_deadline)
      ::usleep(1000);
    if (r == 0) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &st, 0);
      timed_out = true;
    }
    if (timed_out)
      status.push_back(-1);
    else if (WIFEXITED(st))
      status.push_back(WEXITSTATUS(st));
    else
      status.push_back(128 + WTERMSIG(st));
  }
  return status;
}

/// Runs one program to completion (or the deadline).
inline RunResult run(const std::vector<std::string> &argv, const std::map<std::string, std::string> &env = {},
                     std::chrono::seconds timeout = std::chrono::seconds(120)) {
  RunResult r;
  int fd = -1;
  const pid_t pid = spawn(argv, env, fd);
  if (pid < 0) return r;
  auto st = collect({pid}, {fd}, r.output, std::chrono::steady_clock::now() + timeout, r.timed_out);
  r.status = st[0];
  return r;
}

/// Starts n ranks of argv by hand with the launcher's variables (no camurerun), for tests that
/// need the survivors of a dead rank to run on. Returns every rank's status.
inline std::vector<int> run_ranks(int n, const std::vector<std::string> &argv, const std::string &job_id,
                                  std::string &output, std::chrono::seconds timeout, bool &timed_out) {
  std::vector<pid_t> pids;
  std::vector<int> fds;
  for (int r = 0; r < n; ++r) {
    int fd = -1;
    const std::map<std::string, std::string> env{
        {"CAMURE_RANK", std::to_string(r)},       {"CAMURE_SIZE", std::to_string(n)},
        {"CAMURE_LOCAL_RANK", std::to_string(r)}, {"CAMURE_LOCAL_SIZE", std::to_string(n)},
        {"CAMURE_NODE_ID", "0"},                  {"CAMURE_NUM_NODES", "1"},
        {"CAMURE_JOB_ID", job_id}};
    const pid_t pid = spawn(argv, env, fd);
    if (pid > 0) {
      pids.push_back(pid);
      fds.push_back(fd);
    }
  }
  return collect(pids, fds, output, std::chrono::steady_clock::now() + timeout, timed_out);
}

} // namespace camure::test
