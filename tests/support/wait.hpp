// Test helper: wait for a condition with a deadline (never sleep as synchronisation).
#pragma once

#include <chrono>
#include <thread>

namespace camure::test {

/// Polls pred() until it returns true or the deadline passes; returns the last result.
/// Backs off from busy polling to short yields so it does not starve the code under test.
template <class Pred>
bool poll_until(Pred &&pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (unsigned spins = 0;; ++spins) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    if (spins < 100)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

} // namespace camure::test

/// gtest-friendly: ASSERT_TRUE(POLL_FOR(cond, 5s)).
#define POLL_FOR(cond, timeout) ::camure::test::poll_until([&] { return static_cast<bool>(cond); }, timeout)
