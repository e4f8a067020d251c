// How a thread that waits for a datagram spends its time: yield-spin or block. Sans-IO.
#pragma once

#include <cstdint>

#include "runtime/net/seq.hpp"

namespace camure::net {

/// Decides, after each look at the sockets that found nothing, whether a waiting thread gives
/// the CPU away for a moment (sched_yield, then looks again) or blocks in poll on the sockets.
/// It adapts to what the CPU is shared with, judged by what each sched_yield() cost:
/// - with no other runnable thread on this CPU (runnable <= cores) a yield returns at once, so
///   yield-spinning is a plain spin on non-blocking looks;
/// - with other short waiters (the processes of one barrier, more than cores) a yield lets
///   whoever has work run at once, and nobody pays a wake-up (tens of µs on this kind of VM);
/// - a yield that kept us away for `contended` or longer means threads with real work hold the
///   CPU (a compiler, a busy rank): every further yield would hand them another time slice, so
///   this wait and every wait for the next `remember` blocks in poll at once (the datagram's
///   wake-up then preempts them); after that a yield is tried again.
/// After `spin` of looking, a wait blocks in any case: no busy loop while the network is quiet.
/// Times are passed in (a fake clock in tests).
class WaitPolicy {
public:
  struct Config {
    Nanos spin = 200'000;         ///< yield-spin for this long, then block
    Nanos contended = 1'000'000;  ///< a yield this long: others run real work on this CPU
    Nanos remember = 10'000'000;  ///< block at once for this long after a contended yield
  };
  enum class Action : std::uint8_t {
    yield, ///< sched_yield(), then look again
    block, ///< block in poll on the sockets until something arrives (or the deadline)
  };

  WaitPolicy() = default;
  explicit WaitPolicy(const Config &c) : cfg_(c) {}

  const Config &config() const noexcept { return cfg_; }

  /// A wait starts (its first look is about to happen).
  void start(Nanos now) noexcept { start_ = now; }
  /// A look found nothing: what now.
  Action next(Nanos now) const noexcept {
    if (now - start_ >= cfg_.spin) return Action::block;
    if (contended_at_ != kNever && now - contended_at_ < cfg_.remember) return Action::block;
    return Action::yield;
  }
  /// Reports a sched_yield() that started at `before` and returned at `after`.
  void yielded(Nanos before, Nanos after) noexcept {
    ++yields_;
    if (after - before >= cfg_.contended) {
      contended_at_ = after;
      ++contended_;
    }
  }

  std::uint64_t yields() const noexcept { return yields_; }
  std::uint64_t contended_yields() const noexcept { return contended_; }

private:
  static constexpr Nanos kNever = INT64_MIN;
  Config cfg_;
  Nanos start_ = 0;
  Nanos contended_at_ = kNever;
  std::uint64_t yields_ = 0, contended_ = 0;
};

/// Whether a leader that stops waiting hands the sockets back to the progress thread at once
/// (two epoll_ctl now and two when the next wait parks them again) or leaves them parked for
/// the next wait. Leaving them parked is right in a loop of waits (barrier rounds, a recv
/// loop): the next wait comes within µs and reads what arrived meanwhile. Handing them back is
/// right when the application goes off to do something else: then the progress thread reads
/// datagrams promptly (NAKs, ACKs, data) instead of at its next tick. The guess: if the gap
/// between the previous wait's end and this wait's start was short, the next one will be too.
class Handover {
public:
  /// Waits that start within `loop_gap` of the previous one's end form a loop. 1 ms: under
  /// load, a process is often preempted for a few hundred µs between two barrier rounds, and
  /// handing back + re-parking costs four epoll_ctl and often a progress-thread wake-up.
  explicit Handover(Nanos loop_gap = 1'000'000) : loop_gap_(loop_gap) {}
  /// A wait takes the sockets over at `now`.
  void wait_started(Nanos now) noexcept {
    looping_ = last_end_ != kNever && now - last_end_ < loop_gap_;
  }
  /// A wait ends at `now`: true if the sockets should go back to the progress thread now.
  bool hand_back(Nanos now) noexcept {
    last_end_ = now;
    return !looping_;
  }

private:
  static constexpr Nanos kNever = INT64_MIN;
  Nanos loop_gap_;
  Nanos last_end_ = kNever;
  bool looping_ = false;
};

} // namespace camure::net
