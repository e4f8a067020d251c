// A session node: SessionCore + UDP sockets + the asio progress thread + app-facing waits.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <map>
#include <span>
#include <system_error>
#include <thread>
#include <type_traits>

#include <camure/session.hpp>

#include "runtime/net/interceptor.hpp"
#include "runtime/net/session_core.hpp"
#include "runtime/net/wait_policy.hpp"

namespace camure::session {

class Transport; // sockets + io_context (transport.hpp)

/// Owns one SessionCore. All core calls happen under mu_. The progress thread ticks and feeds
/// datagrams while no app thread waits. An app thread that waits becomes the socket leader (one
/// at a time): the progress thread stops watching the sockets (Transport::park), and the leader
/// reads them itself, looking/yielding as the WaitPolicy says and then blocking in poll on
/// them, so an answer wakes the waiting thread directly. Other app waiters block on cv_; the
/// leader notifies them. A leader that leaves inside a loop of waits keeps the sockets parked
/// (the next wait takes them without syscalls); otherwise it hands them back (net::Handover).
class Node : public std::enable_shared_from_this<Node> {
public:
  struct Params {
    net::Role role = net::Role::member;
    Endpoint bind;      ///< coordinator: unicast bind endpoint
    Endpoint multicast; ///< coordinator: group endpoint
    Endpoint coordinator; ///< member
    Options options;
  };
  static std::shared_ptr<Node> create(const Params &p, std::error_code &ec);
  ~Node();

  /// Stops the progress thread and closes the sockets (idempotent, returns promptly).
  void shutdown();

  /// Runs f(core) under the lock and returns its result.
  template <class F> auto with_core(F &&f) {
    std::lock_guard<std::mutex> lk(mu_);
    if constexpr (std::is_void_v<decltype(f(*core_))>) {
      f(*core_);
      flush_locked();
    } else {
      auto r = f(*core_);
      flush_locked();
      return r;
    }
  }
  /// Waits until pred(core) holds, the deadline passes (errc::timeout) or the session fails
  /// (coordinator_lost / evicted / closed). pred runs under the lock.
  template <class Pred> std::error_code wait(Pred &&pred, Clock::time_point deadline);

  /// Asks the progress thread to seal a partly filled packet soon (coalesces requests).
  void request_flush();
  void note_write() noexcept { writes_.fetch_add(1, std::memory_order_relaxed); }
  std::error_code session_error() const; ///< the error all blocking calls report, if any
  net::Nanos now() const;
  SessionStats stats() const;
  Endpoint local_endpoint() const { return local_; }

  /// One writer per broadcast group at a time (MessageWriter / send). errc::busy if the calling
  /// thread already holds it (a send while its own MessageWriter is open would wait forever).
  std::error_code acquire_writer(net::GroupId g, Clock::time_point deadline);
  void release_writer(net::GroupId g);

  // Called by the Transport on the progress thread.
  void on_datagrams_ready();
  void on_tick();
  void drain_rest(); ///< on_datagrams_ready() again, unless an app thread took the sockets

private:
  Node() = default;
  std::error_code state_error_locked() const;
  void notify_locked();
  void flush_locked(); ///< sends datagrams the transport batched (mu_ held)
  /// Drains the sockets (Transport::k*) into the core (mu_ held); true if it stopped at its
  /// batch limit with datagrams possibly left.
  bool receive_locked(unsigned which = 3);
  bool wait_step(std::unique_lock<std::mutex> &lk, Clock::time_point deadline, unsigned &spins, bool &leader);
  void resign_leader_locked(); ///< hands the sockets back to the progress thread (mu_ held)
  bool take_back_sockets_locked(); ///< unpark if no leader holds them; true if it did
  void tick_locked();              ///< the core's timers (progress thread, or a waiting leader)

  mutable std::mutex mu_;
  std::condition_variable cv_;
  int waiters_ = 0;
  bool leader_ = false;         ///< an app thread owns the sockets (parked the progress thread)
  bool leader_polling_ = false; ///< ... and is looking at / blocked in poll on them without mu_
  bool leader_blocking_ = false; ///< ... blocked (past its spin): the progress thread ticks
  std::unique_ptr<net::SessionCore> core_;
  std::unique_ptr<net::Interceptor> interceptor_;
  std::unique_ptr<Transport> transport_;
  net::WaitPolicy policy_;       ///< used by the leader only (one thread at a time)
  net::Handover handover_;       ///< mu_
  std::shared_ptr<std::vector<std::uint8_t>> rx_spare_; ///< reused for control frames (no allocation)
  std::thread thread_;
  std::atomic<bool> flush_requested_{false};
  std::atomic<std::uint64_t> writes_{0}; ///< bumped by every write; a flush waits for a pause
  void flush_when_idle(std::uint64_t seen, int rounds);
  std::atomic<bool> stopped_{false};
  bool closed_ = false;
  std::map<net::GroupId, std::thread::id> writers_; ///< groups with a writer, and whose
  Endpoint local_;
  Clock::duration rto_{std::chrono::milliseconds(1)};
  /// Ticks come every fast_tick_ (max(200 us, retransmit_interval / 2)). While an app thread
  /// spins in a wait, it runs them itself between looks, and the progress thread ticks every
  /// slow_tick_ only: its wake-ups cost a context switch each, which with 8 processes on 2
  /// cores was a third of a barrier round's CPU. A leader that blocks leaves them to it.
  std::chrono::microseconds fast_tick_{500}, slow_tick_{2000};
  Clock::time_point last_tick_{}; ///< mu_
  Clock::time_point t0_ = Clock::now();
};

template <class Pred> std::error_code Node::wait(Pred &&pred, Clock::time_point deadline) {
  std::unique_lock<std::mutex> lk(mu_);
  unsigned spins = 0;
  bool leader = false;
  struct Resign { // every way out hands the sockets back
    Node *n;
    bool &leader;
    ~Resign() {
      if (leader) n->resign_leader_locked();
    }
  } resign{this, leader};
  for (;;) {
    if (closed_) return make_error_code(errc::closed); // this node was shut down: nothing works
    const bool done = pred(*core_);
    flush_locked(); // pred may have queued datagrams (a sealed packet, an ARRIVE)
    if (done) return {};
    if (auto ec = state_error_locked()) return ec;
    if (!wait_step(lk, deadline, spins, leader))
      return pred(*core_) ? std::error_code{} : make_error_code(errc::timeout);
  }
}

} // namespace camure::session
