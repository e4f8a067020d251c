// Test helper: run a function in a forked child process and reap it with a deadline.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

namespace camure::test {

/// A forked child. The child runs fn() and _exit()s with its return value; it dies with the
/// parent (PR_SET_PDEATHSIG) so a failed test leaves no orphans. The destructor kills and reaps.
class Child {
public:
  explicit Child(const std::function<int()> &fn) {
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(120);
      int rc = 121;
      try {
        rc = fn();
      } catch (...) {
        rc = 122;
      }
      ::_exit(rc);
    }
  }
  Child(const Child &) = delete;
  Child &operator=(const Child &) = delete;
  Child(Child &&o) noexcept : pid_(o.pid_), status_(o.status_) { o.pid_ = -1; }
  ~Child() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
  }

  pid_t pid() const { return pid_; }
  void kill(int sig = SIGKILL) const {
    if (pid_ > 0 && !status_) ::kill(pid_, sig);
  }

  /// Waits up to timeout for the child to end; returns its raw wait status, or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    if (status_) return status_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int st = 0;
      const pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        status_ = st;
        return status_;
      }
      if (r < 0) return std::nullopt;
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  /// Waits and returns the exit code, or -signal if killed, or nullopt on timeout.
  std::optional<int> exit_code(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    auto st = wait(timeout);
    if (!st) return std::nullopt;
    if (WIFEXITED(*st)) return WEXITSTATUS(*st);
    if (WIFSIGNALED(*st)) return -WTERMSIG(*st);
    return std::nullopt;
  }

private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

/// A name unique to this test process, for segments and groups: prefix-pid-counter.
inline std::string unique_name(const std::string &prefix) {
  static int counter = 0;
  return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

} // namespace camure::test
