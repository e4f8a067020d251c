// Process-shared futex wait/wake: FUTEX_WAIT_BITSET with an absolute CLOCK_MONOTONIC deadline.
#include "runtime/shm/futex.hpp"

#include <camure/error.hpp>

#include <cerrno>
#include <climits>
#include <ctime>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace camure::shm::futex {
namespace {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));

std::uint32_t *addr(std::atomic<std::uint32_t> &word) noexcept {
  // std::atomic<uint32_t> is lock-free with the same object representation as uint32_t.
  return reinterpret_cast<std::uint32_t *>(&word);
}

long sys_futex(std::uint32_t *uaddr, int op, std::uint32_t val, const timespec *ts, std::uint32_t val3) noexcept {
  return ::syscall(SYS_futex, uaddr, op, val, ts, nullptr, val3);
}

std::error_code wait_impl(std::atomic<std::uint32_t> &word, std::uint32_t expected, const timespec *abs) noexcept {
  // No FUTEX_PRIVATE_FLAG: the word is in a MAP_SHARED mapping used by several processes.
  // steady_clock is CLOCK_MONOTONIC on Linux, the default clock of FUTEX_WAIT_BITSET.
  const long r = sys_futex(addr(word), FUTEX_WAIT_BITSET, expected, abs, FUTEX_BITSET_MATCH_ANY);
  if (r == 0) return {};
  switch (errno) {
  case EAGAIN: // value already changed
  case EINTR:  // signal: caller re-checks
    return {};
  case ETIMEDOUT: return make_error_code(errc::timeout);
  default: return make_error_code(errc::system_error);
  }
}

} // namespace

std::error_code wait(std::atomic<std::uint32_t> &word, std::uint32_t expected,
                     std::chrono::steady_clock::time_point deadline) noexcept {
  if (deadline == std::chrono::steady_clock::time_point::max()) return wait(word, expected);
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
  if (ns <= 0) return make_error_code(errc::timeout);
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(ns / 1000000000);
  ts.tv_nsec = static_cast<long>(ns % 1000000000);
  return wait_impl(word, expected, &ts);
}

std::error_code wait(std::atomic<std::uint32_t> &word, std::uint32_t expected) noexcept {
  return wait_impl(word, expected, nullptr);
}

int wake(std::atomic<std::uint32_t> &word, int count) noexcept {
  const long r = sys_futex(addr(word), FUTEX_WAKE, static_cast<std::uint32_t>(count), nullptr, 0);
  return r < 0 ? 0 : static_cast<int>(r);
}

int wake_all(std::atomic<std::uint32_t> &word) noexcept { return wake(word, INT_MAX); }

} // namespace camure::shm::futex
