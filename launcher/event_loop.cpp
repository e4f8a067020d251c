// EventLoop: poll(2) over the watched fds, timers by deadline, re-entrancy-safe dispatch.
#include "launcher/event_loop.hpp"

#include <cerrno>
#include <poll.h>

namespace camure::launcher {

void EventLoop::watch(int fd, short events, FdHandler handler) {
  fds_[fd] = Watch{events, std::move(handler), ++generation_};
}

void EventLoop::set_events(int fd, short events) {
  auto it = fds_.find(fd);
  if (it != fds_.end()) it->second.events = events;
}

void EventLoop::unwatch(int fd) { fds_.erase(fd); }

EventLoop::TimerId EventLoop::add_timer(Clock::time_point when, std::function<void()> fn) {
  TimerId id = next_timer_++;
  timers_[id] = Timer{when, std::move(fn)};
  return id;
}

void EventLoop::cancel_timer(TimerId id) { timers_.erase(id); }

bool EventLoop::run_once(std::optional<std::chrono::milliseconds> max_wait) {
  int timeout_ms = max_wait ? static_cast<int>(max_wait->count()) : -1;
  const auto now = Clock::now();
  for (const auto &[id, t] : timers_) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(t.when - now).count();
    if (left < 0) left = 0;
    if (timeout_ms < 0 || left < timeout_ms) timeout_ms = static_cast<int>(left);
  }

  std::vector<pollfd> pfds;
  std::vector<std::uint64_t> gens;
  pfds.reserve(fds_.size());
  for (const auto &[fd, w] : fds_) {
    if (w.events == 0) continue;
    pfds.push_back(pollfd{fd, w.events, 0});
    gens.push_back(w.generation);
  }
  const int n = ::poll(pfds.data(), pfds.size(), timeout_ms);
  if (n < 0 && errno != EINTR) return false;

  // Timers first: they are rare and time-critical (grace kills, timeouts).
  const auto after = Clock::now();
  std::vector<TimerId> due;
  for (const auto &[id, t] : timers_)
    if (t.when <= after) due.push_back(id);
  for (TimerId id : due) {
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;
    auto fn = std::move(it->second.fn);
    timers_.erase(it);
    fn();
  }

  if (n <= 0) return true;
  for (std::size_t i = 0; i < pfds.size(); ++i) {
    if (pfds[i].revents == 0) continue;
    auto it = fds_.find(pfds[i].fd);
    // Skip watches removed or replaced by an earlier handler in this round.
    if (it == fds_.end() || it->second.generation != gens[i]) continue;
    FdHandler h = it->second.handler; // copy: the handler may unwatch itself
    h(pfds[i].revents);
  }
  return true;
}

} // namespace camure::launcher
