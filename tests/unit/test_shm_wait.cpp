// Unit tests of the futex wrapper and the adaptive spin-then-futex waiting strategy.
#include "runtime/shm/futex.hpp"
#include "runtime/shm/wait.hpp"

#include <camure/error.hpp>

#include <gtest/gtest.h>

#include <thread>

using namespace camure;
using namespace camure::shm;
using namespace std::chrono_literals;

TEST(ShmFutex, WaitTimesOutAndReturnsAtOnceOnChangedValue) {
  std::atomic<std::uint32_t> w{5};
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(futex::wait(w, 5, t0 + 20ms), errc::timeout);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 20ms);
  EXPECT_FALSE(futex::wait(w, 4, std::chrono::steady_clock::now() + 10s)); // value differs: no sleep
  EXPECT_EQ(futex::wait(w, 5, std::chrono::steady_clock::now() - 1ms), errc::timeout);
}

TEST(ShmFutex, WakeWakesASleeper) {
  std::atomic<std::uint32_t> w{0};
  std::atomic<bool> woke{false};
  std::thread t([&] {
    while (w.load() == 0) futex::wait(w, 0, std::chrono::steady_clock::now() + 10s);
    woke = true;
  });
  w.store(1);
  futex::wake_all(w);
  t.join();
  EXPECT_TRUE(woke);
}

TEST(ShmWait, NotifyIssuesNoWakeWithoutSleepers) {
  WaitCell cell{};
  EXPECT_FALSE(notify(cell));
  cell.sleepers.store(1);
  EXPECT_TRUE(notify(cell));
  EXPECT_EQ(cell.seq.load(), 1u);
}

TEST(ShmWait, SpinBudgetIsZeroWhenOversubscribed) {
  WaitCell cell{};
  WaitPolicy p;
  set_usable_cpus_for_testing(1);
  EXPECT_EQ(spin_budget(cell, p).count(), 0); // one core: the producer needs it
  set_usable_cpus_for_testing(4);
  EXPECT_EQ(spin_budget(cell, p), p.max_spin);
  cell.spinners.store(2);
  EXPECT_EQ(spin_budget(cell, p), p.max_spin); // 2 spinning + 1 producer + me = 4
  cell.spinners.store(3);
  EXPECT_EQ(spin_budget(cell, p).count(), 0);
  set_usable_cpus_for_testing(0);
}

TEST(ShmWait, WaitUntilTimesOutThenSucceedsOnPublish) {
  WaitCell cell{};
  std::atomic<std::uint32_t> flag{0};
  std::atomic<std::uint32_t> sleeping{0};
  EXPECT_EQ(wait_until(cell, [&] { return flag.load() != 0; }, std::chrono::steady_clock::now() + 5ms), errc::timeout);
  EXPECT_EQ(cell.sleepers.load(), 0u);
  std::thread waker([&] {
    // Publish only once the waiter is asleep, to exercise the futex path (not the spin).
    while (cell.sleepers.load() == 0) std::this_thread::yield();
    flag.store(1);
    notify(cell);
  });
  WaitPolicy nospin;
  nospin.max_spin = 0ns;
  EXPECT_FALSE(wait_until(cell, [&] { return flag.load() != 0; }, std::chrono::steady_clock::now() + 10s, nospin,
                          &sleeping));
  waker.join();
  EXPECT_EQ(cell.sleepers.load(), 0u);
  EXPECT_EQ(sleeping.load(), 0u);
}
