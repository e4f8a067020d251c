// Shared helpers of camure-bench-rmp: a shared control block for forked processes, clocks, stats.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

namespace camure::bench {

inline std::uint64_t now_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

/// Anonymous shared memory for coordinating forked benchmark processes (not the thing measured).
template <class T> T *shared_block() {
  void *p = ::mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  return new (p) T();
}
template <class T> void free_block(T *p) {
  p->~T();
  ::munmap(p, sizeof(T));
}

/// Forks fn() in a child that _exits with its result.
inline pid_t spawn(const std::function<int()> &fn) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    int rc = 1;
    try {
      rc = fn();
    } catch (...) {
      rc = 3;
    }
    ::_exit(rc);
  }
  return pid;
}

/// Waits for every pid; returns false if any failed.
inline bool reap(const std::vector<pid_t> &pids) {
  bool ok = true;
  for (pid_t p : pids) {
    int st = 0;
    if (::waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) ok = false;
  }
  return ok;
}

/// The 1-minute load average, printed with every result (numbers are noisy under load).
inline double load1() {
  double l = -1;
  if (FILE *f = std::fopen("/proc/loadavg", "re")) {
    if (std::fscanf(f, "%lf", &l) != 1) l = -1;
    std::fclose(f);
  }
  return l;
}

/// Percentile (0..100) of samples (sorted in place).
double percentile(std::vector<double> &v, double pct);

} // namespace camure::bench
