// EventLoop: fd readiness, timers in deadline order, handlers that change the watch set.
#include "launcher/event_loop.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

using camure::launcher::EventLoop;
using namespace std::chrono_literals;

namespace {
struct Pipe {
  int fds[2];
  Pipe() { EXPECT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0); }
  ~Pipe() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
};
} // namespace

TEST(LauncherEventLoop, ReadableFdRunsItsHandler) {
  EventLoop loop;
  Pipe p;
  int calls = 0;
  loop.watch(p.fds[0], POLLIN, [&](short re) {
    EXPECT_TRUE(re & POLLIN);
    char c;
    EXPECT_EQ(::read(p.fds[0], &c, 1), 1);
    ++calls;
  });
  ASSERT_EQ(::write(p.fds[1], "x", 1), 1);
  loop.run_once(1000ms);
  EXPECT_EQ(calls, 1);
  loop.run_once(0ms); // nothing ready: no call
  EXPECT_EQ(calls, 1);
}

TEST(LauncherEventLoop, PausedWatchIsNotPolled) {
  EventLoop loop;
  Pipe p;
  int calls = 0;
  loop.watch(p.fds[0], POLLIN, [&](short) { ++calls; });
  loop.set_events(p.fds[0], 0);
  ASSERT_EQ(::write(p.fds[1], "x", 1), 1);
  loop.run_once(0ms);
  EXPECT_EQ(calls, 0);
  loop.set_events(p.fds[0], POLLIN);
  loop.run_once(1000ms);
  EXPECT_EQ(calls, 1);
}

TEST(LauncherEventLoop, TimersFireInDeadlineOrderAndCanBeCancelled) {
  EventLoop loop;
  std::vector<int> order;
  const auto now = EventLoop::Clock::now();
  loop.add_timer(now + 2ms, [&] { order.push_back(2); });
  loop.add_timer(now, [&] { order.push_back(1); });
  const auto id = loop.add_timer(now + 1ms, [&] { order.push_back(99); });
  loop.cancel_timer(id);
  // run_once waits at most until the next timer, so a few rounds suffice without sleeping.
  for (int i = 0; i < 100 && order.size() < 2; ++i) loop.run_once(1000ms);
  ASSERT_EQ(order.size(), 2u);
  EXPECT_EQ(order[0], 1);
  EXPECT_EQ(order[1], 2);
}

TEST(LauncherEventLoop, HandlerMayUnwatchAnotherReadyFd) {
  EventLoop loop;
  Pipe a, b;
  int a_calls = 0, b_calls = 0;
  loop.watch(a.fds[0], POLLIN, [&](short) {
    ++a_calls;
    loop.unwatch(b.fds[0]);
  });
  loop.watch(b.fds[0], POLLIN, [&](short) {
    ++b_calls;
    loop.unwatch(a.fds[0]);
  });
  ASSERT_EQ(::write(a.fds[1], "x", 1), 1);
  ASSERT_EQ(::write(b.fds[1], "x", 1), 1);
  loop.run_once(1000ms);
  // Whichever ran first removed the other: exactly one handler ran.
  EXPECT_EQ(a_calls + b_calls, 1);
}

TEST(LauncherEventLoop, ReplacedWatchDoesNotRunTheOldHandler) {
  EventLoop loop;
  Pipe p;
  int old_calls = 0, new_calls = 0;
  loop.watch(p.fds[0], POLLIN, [&](short) { ++old_calls; });
  loop.watch(p.fds[0], POLLIN, [&](short) {
    ++new_calls;
    loop.unwatch(p.fds[0]);
  });
  ASSERT_EQ(::write(p.fds[1], "x", 1), 1);
  loop.run_once(1000ms);
  EXPECT_EQ(old_calls, 0);
  EXPECT_EQ(new_calls, 1);
  EXPECT_FALSE(loop.watching(p.fds[0]));
}
