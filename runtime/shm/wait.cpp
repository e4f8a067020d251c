// Adaptive waiting: spin budget from oversubscription, futex sleep and conditional wake.
#include "runtime/shm/wait.hpp"

#include "runtime/shm/fence.hpp"
#include "runtime/shm/futex.hpp"
#include "runtime/common/load.hpp"

#include <camure/error.hpp>

#include <cstdlib>
#include <sched.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace camure::shm {
namespace {

std::atomic<unsigned> g_cpus{0};
std::atomic<unsigned> g_override{0};

unsigned detect_cpus() noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<unsigned>(n);
  }
  return 1;
}

// System-wide runnable tasks (4th field of /proc/loadavg, "running/total"), sampled at most
// every 10 ms per process: cheap, and enough to notice other work competing for the cores.
std::atomic<std::uint64_t> g_runnable_sampled_ns{0};
std::atomic<unsigned> g_runnable{0};

} // namespace

unsigned recent_runnable_tasks() noexcept {
  const std::uint64_t now = detail::now_ns();
  const std::uint64_t last = g_runnable_sampled_ns.load(std::memory_order_relaxed);
  if (last != 0 && now - last < 10'000'000) return g_runnable.load(std::memory_order_relaxed);
  g_runnable_sampled_ns.store(now, std::memory_order_relaxed);
  const unsigned running = common::runnable_tasks();
  g_runnable.store(running, std::memory_order_relaxed);
  return running;
}

unsigned usable_cpus() noexcept {
  if (const unsigned o = g_override.load(std::memory_order_relaxed)) return o;
  unsigned n = g_cpus.load(std::memory_order_relaxed);
  if (n == 0) {
    n = detect_cpus();
    g_cpus.store(n, std::memory_order_relaxed);
  }
  return n;
}

void set_usable_cpus_for_testing(unsigned n) noexcept { g_override.store(n, std::memory_order_relaxed); }

bool notify(WaitCell &cell) noexcept {
  // Orders the caller's publishing store before the sleepers load (see wait.hpp).
  fence_seq_cst();
  if (cell.sleepers.load(std::memory_order_relaxed) == 0) return false;
  cell.seq.fetch_add(1, std::memory_order_seq_cst);
  futex::wake_all(cell.seq);
  return true;
}

std::chrono::nanoseconds spin_budget(const WaitCell &cell, const WaitPolicy &policy) noexcept {
  const unsigned cpus = usable_cpus();
  const unsigned spinning = cell.spinners.load(std::memory_order_relaxed);
  // Spinning only helps if the process we wait for can run at the same time on another core.
  // With every other core already taken by spinners (plus the peers we reserve cores for),
  // a spin would burn the time slice the producer needs: sleep at once instead.
  if (cpus <= policy.reserved_cores || spinning + policy.reserved_cores + 1 > cpus)
    return std::chrono::nanoseconds{0};
  // More runnable tasks on the machine than cores (the caller is one of them): a spinner would
  // delay someone by a whole scheduler tick (~4 ms), far more than a futex wake costs.
  if (g_override.load(std::memory_order_relaxed) == 0 && recent_runnable_tasks() > cpus)
    return std::chrono::nanoseconds{0};
  return policy.max_spin;
}

namespace detail {

void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#else
  std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
}

void yield_cpu() noexcept { ::sched_yield(); }

std::error_code sleep_on(WaitCell &cell, std::uint32_t seen_seq, std::chrono::steady_clock::time_point deadline) noexcept {
  return futex::wait(cell.seq, seen_seq, deadline);
}

std::uint64_t now_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

} // namespace detail
} // namespace camure::shm
