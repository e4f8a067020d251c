// Adaptive waiting on a condition in shared memory: spin briefly, then sleep on a futex.
//
// A WaitCell lives in shared memory next to the state it guards. Waiters spin for a bounded time
// (zero when the machine is oversubscribed), then register as sleepers and futex-wait. Wakers
// call notify() after publishing their state change; it costs one load and no syscall unless
// a sleeper is registered.
//
// Why this cannot lose a wake-up (Dekker pattern, all seq_cst):
//   waiter: sleepers += 1; s = seq; if (ready()) done; else futex_wait(seq, s)
//   waker:  publish state; fence; if (sleepers != 0) { seq += 1; futex_wake(seq) }
// Either the waiter's ready() sees the published state, or the waker sees sleepers != 0 and
// bumps seq, which makes the futex_wait return (value changed) or wakes it.
#pragma once

#include <camure/error.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <system_error>

namespace camure::shm {

/// Shared-memory waiting cell; zero-initialised memory is a valid empty cell. 64 bytes, one line.
struct alignas(64) WaitCell {
  std::atomic<std::uint32_t> seq;      ///< futex word, bumped by every wake that finds sleepers
  std::atomic<std::uint32_t> sleepers; ///< waiters registered (about to sleep or sleeping)
  std::atomic<std::uint32_t> spinners; ///< waiters currently spinning (oversubscription signal)
  std::uint32_t reserved[13];
};
static_assert(sizeof(WaitCell) == 64);

/// Tuning of the waiting strategy (process-local).
struct WaitPolicy {
  /// Longest spin before sleeping when there is a free core. A cross-CPU futex wake costs
  /// ~25 us on the target VMs, so spinning up to ~2x that before paying for it is competitive.
  std::chrono::nanoseconds max_spin{50'000};
  /// Never spin if spinners + this many busy peers (e.g. the writer) would exceed the cores.
  unsigned reserved_cores = 1;
  /// When spinning is ruled out (oversubscribed), yield the CPU for up to this long before
  /// sleeping: cheaper than a futex sleep/wake round trip when the producer shares our core.
  std::chrono::nanoseconds max_yield{30'000};
};

/// The number of CPUs this process may run on (sched_getaffinity), cached after the first call.
unsigned usable_cpus() noexcept;

/// Overrides usable_cpus() (tests and benchmarks); 0 restores the detected value.
void set_usable_cpus_for_testing(unsigned n) noexcept;

/// Wakes the sleepers of a cell if there are any. Call after publishing with release (or
/// stronger) ordering. Returns true if a futex wake was issued.
bool notify(WaitCell &cell) noexcept;

/// Spin budget a waiter would use right now, given the cell's spinners and the usable CPUs:
/// 0 when spinning would compete with the process it waits for.
std::chrono::nanoseconds spin_budget(const WaitCell &cell, const WaitPolicy &policy) noexcept;

/// Tasks runnable on the whole machine (the caller included), read from the kernel at most
/// every 10 ms per process: the cheap "is anyone waiting for a cpu?" test of spinning waiters.
unsigned recent_runnable_tasks() noexcept;

namespace detail {
void cpu_relax() noexcept;
void yield_cpu() noexcept;
std::error_code sleep_on(WaitCell &cell, std::uint32_t seen_seq, std::chrono::steady_clock::time_point deadline) noexcept;
std::uint64_t now_ns() noexcept;
} // namespace detail

/// Waits until ready() is true or the deadline passes. ready() must read the shared state with
/// acquire (or seq_cst) loads. Returns {} when ready, errc::timeout otherwise.
/// sleeping_flag (optional, in shared memory) is 1 while this waiter is counted in
/// cell.sleepers, so whoever reclaims a dead waiter's slot can give the count back.
template <class Ready>
std::error_code wait_until(WaitCell &cell, Ready &&ready, std::chrono::steady_clock::time_point deadline,
                           const WaitPolicy &policy = {},
                           std::atomic<std::uint32_t> *sleeping_flag = nullptr) noexcept {
  if (ready()) return {};
  // Spin phase, bounded in time, skipped when oversubscribed.
  const auto budget = spin_budget(cell, policy);
  // steady_clock is CLOCK_MONOTONIC, the clock of detail::now_ns(): the spin never outlasts the deadline.
  const auto deadline_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
  const std::uint64_t now = detail::now_ns();
  if (deadline_ns <= 0 || static_cast<std::uint64_t>(deadline_ns) <= now) return make_error_code(errc::timeout);
  if (budget.count() > 0) {
    cell.spinners.fetch_add(1, std::memory_order_relaxed);
    const std::uint64_t until = std::min(now + static_cast<std::uint64_t>(budget.count()),
                                         static_cast<std::uint64_t>(deadline_ns));
    bool ok = false;
    for (unsigned i = 1;; ++i) {
      if (ready()) {
        ok = true;
        break;
      }
      detail::cpu_relax();
      if ((i & 63) == 0 && detail::now_ns() >= until) break;
    }
    cell.spinners.fetch_sub(1, std::memory_order_relaxed);
    if (ok) return {};
  } else if (policy.max_yield.count() > 0) {
    // Oversubscribed: instead of spinning, give the core away a few times. The producer we
    // wait for is likely runnable on this very core; if it publishes meanwhile, we continue
    // without it paying for a futex wake and without a sleep/wake-up round trip.
    const std::uint64_t until = std::min(now + static_cast<std::uint64_t>(policy.max_yield.count()),
                                         static_cast<std::uint64_t>(deadline_ns));
    for (;;) {
      detail::yield_cpu();
      if (ready()) return {};
      if (detail::now_ns() >= until) break;
    }
  }
  // Sleep phase.
  auto unregister = [&] {
    if (sleeping_flag) sleeping_flag->store(0, std::memory_order_relaxed);
    cell.sleepers.fetch_sub(1, std::memory_order_relaxed);
  };
  for (;;) {
    cell.sleepers.fetch_add(1, std::memory_order_seq_cst);
    if (sleeping_flag) sleeping_flag->store(1, std::memory_order_relaxed);
    const std::uint32_t s = cell.seq.load(std::memory_order_seq_cst);
    if (ready()) {
      unregister();
      return {};
    }
    const std::error_code ec = detail::sleep_on(cell, s, deadline);
    unregister();
    if (ready()) return {};
    if (ec) return ec; // timeout (or a futex failure, reported as is)
  }
}

} // namespace camure::shm
