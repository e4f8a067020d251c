// EventLoop: one poll(2) loop with fd watches and monotonic timers; the launcher's only thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

namespace camure::launcher {

/// Single-threaded readiness loop. Handlers may add or remove watches and timers freely.
class EventLoop {
public:
  using Clock = std::chrono::steady_clock;
  using FdHandler = std::function<void(short revents)>;
  using TimerId = std::uint64_t;

  /// Watches fd for `events` (POLLIN/POLLOUT); replaces an existing watch on the same fd.
  void watch(int fd, short events, FdHandler handler);
  /// Changes the events of an existing watch (0 pauses it without removing it).
  void set_events(int fd, short events);
  void unwatch(int fd);
  bool watching(int fd) const { return fds_.count(fd) != 0; }

  /// Runs `fn` once at `when`. Returns an id for cancel_timer.
  TimerId add_timer(Clock::time_point when, std::function<void()> fn);
  void cancel_timer(TimerId id);

  /// Waits for at most `max_wait` (forever if nullopt, bounded by the next timer), then runs
  /// due timers and ready handlers. Returns false if poll failed with something but EINTR.
  bool run_once(std::optional<std::chrono::milliseconds> max_wait = std::nullopt);

private:
  struct Watch {
    short events;
    FdHandler handler;
    std::uint64_t generation;
  };
  struct Timer {
    Clock::time_point when;
    std::function<void()> fn;
  };
  std::map<int, Watch> fds_;
  std::map<TimerId, Timer> timers_;
  TimerId next_timer_ = 1;
  std::uint64_t generation_ = 0;
};

} // namespace camure::launcher
