// UDP sockets of one node (unicast + multicast) and the asio io_context its progress thread runs.
#pragma once

#include <utility> // before asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <system_error>
#include <vector>

#include <camure/session.hpp>

#include "runtime/net/datagram_batch.hpp"
#include "runtime/net/peer_addr.hpp"

namespace camure::session {

/// Sends go straight to the socket (sendto on the native handle, safe from any thread).
/// The progress thread's io_context runs the timer and watches the sockets through an epoll
/// set of their own (ep_); an app thread that waits for the network can park() that watch and
/// block in poll_wait() on the sockets itself, so a datagram wakes only the thread that needs
/// it (one wake-up per hop instead of progress thread + futex hand-over). park/unpark/
/// join_group are serialised by the caller (the Node's mutex).
class Transport {
public:
  using Ready = std::function<void()>;

  /// Coordinator: unicast socket bound to `bind`, multicast socket joined to `group`.
  static std::unique_ptr<Transport> open_coordinator(const Endpoint &bind, const Endpoint &group,
                                                     const Options &o, std::error_code &ec);
  /// Member: unicast socket only; the group comes later from JOIN_ACK (join_group()).
  static std::unique_ptr<Transport> open_member(const Endpoint &coordinator, const Options &o, std::error_code &ec);
  ~Transport();

  /// Member: opens the multicast socket from the coordinator's description (multicast_info()).
  std::error_code join_group(std::span<const std::uint8_t> info);
  /// Serialised multicast endpoint, sent to members in JOIN_ACK.
  std::vector<std::uint8_t> multicast_info() const;
  net::PeerAddr coordinator_addr() const { return coordinator_; }
  Endpoint local_endpoint() const;

  /// to == nullptr: to the multicast group. Errors (e.g. a full buffer) count as loss.
  /// Back-to-back datagrams of one size to one destination (the group, or a receiver getting
  /// repairs) are batched and sent with one sendmsg using UDP GSO (UDP_SEGMENT) where the
  /// kernel supports it; flush() sends what is batched.
  /// Receives use UDP GRO where the kernel supports it: a GSO batch that reaches us whole (veth,
  /// bridge, loopback) is read with one copy and split into its datagrams here.
  /// CAMURE_NET_OFFLOAD=0 turns both off (A/B measurements, kernels that misbehave).
  void send(const net::PeerAddr *to, std::span<const std::uint8_t> datagram);
  void flush();

  /// Reads every datagram waiting on either socket (non-blocking), calling on_datagram for each
  /// (max counts datagrams, each receive finishes whole). Returns true if it stopped at max
  /// while a socket may hold more: the caller must come back (the progress thread's epoll is
  /// edge-triggered and will not report those datagrams again).
  template <class F> bool drain(F &&on_datagram, std::size_t max = 512, unsigned which = kBoth);
  static constexpr unsigned kUnicast = 1, kMulticast = 2, kBoth = 3;
  /// Receives up to kBatch buffers from fd with one recvmmsg; returns how many (0 if none). A
  /// buffer may hold several datagrams (UDP GRO; batch_seg_ is their size).
  int recv_batch(int fd);
  static constexpr int kBatch = 16;

  /// Stops the progress thread watching the sockets (idempotent) / resumes it (idempotent;
  /// datagrams that arrived meanwhile make the watch fire at once).
  void park();
  void unpark();
  bool parked() const noexcept { return parked_; }
  /// Waits until a socket is readable, wake() is called or `timeout` passes: first checks
  /// without blocking, yielding the CPU in between, for up to `spin`; then blocks. Any thread.
  /// Returns the sockets found readable (kUnicast | kMulticast; 0 on timeout or wake()).
  /// spin == 0: one ppoll (with timeout == 0, a single look).
  unsigned poll_wait(std::chrono::nanoseconds timeout, std::chrono::nanoseconds spin);
  /// Makes a poll_wait() in progress (or the next one) return. Any thread.
  void wake();

  /// Runs the io_context until stop(): calls ready() when a socket is readable and tick()
  /// every `tick_interval`.
  void run(Ready ready, Ready tick, std::chrono::microseconds tick_interval);
  /// The interval until the next tick, from inside tick() (progress thread only).
  void set_tick_interval(std::chrono::microseconds t) noexcept { tick_interval_ = t; }
  void post(std::function<void()> f) { boost::asio::post(io_, std::move(f)); }
  void stop();
  std::uint64_t send_errors() const noexcept { return send_errors_; }

private:
  Transport() = default;
  std::error_code init_poll();
  void arm();
  void arm_timer();
  void watch(int fd, bool on);

  boost::asio::io_context io_;      ///< the progress thread's: timer, posts, the ep_ watch
  boost::asio::io_context sock_io_; ///< never run: owns the sockets so io_ does not wake on them
  boost::asio::ip::udp::socket ucast_{sock_io_};
  boost::asio::ip::udp::socket mcast_{sock_io_};
  boost::asio::steady_timer timer_{io_};
  boost::asio::posix::stream_descriptor ep_desc_{io_}; ///< owns ep_ (epoll set of the sockets)
  int ep_ = -1;
  int wake_fd_ = -1; ///< eventfd for wake()
  bool parked_ = false;
  boost::asio::ip::udp::endpoint group_;
  net::PeerAddr group_addr_;
  net::PeerAddr coordinator_;
  Options opts_;
  Ready ready_, tick_;
  std::chrono::microseconds tick_interval_{1000};
  std::vector<std::uint8_t> scratch_;               ///< kBatch receive buffers of 64 KiB
  std::array<net::PeerAddr, kBatch> batch_from_{};
  std::array<std::size_t, kBatch> batch_len_{};
  std::array<std::size_t, kBatch> batch_seg_{};      ///< UDP GRO segment size (0: one datagram)
  net::GsoBatch gso_batch_;                          ///< batched datagrams, all to batch_to_
  net::PeerAddr batch_to_;
  bool gso_ = true;                                  ///< cleared if the kernel refuses UDP_SEGMENT
  void send_now(const net::PeerAddr &a, const std::uint8_t *d, std::size_t n, std::uint16_t segment);
  std::uint64_t send_errors_ = 0;
  std::atomic<bool> mcast_open_{false}; // set by join_group (under the Node's mutex)
};

template <class F> bool Transport::drain(F &&on_datagram, std::size_t max, unsigned which) {
  bool more_m = (which & kMulticast) != 0, more_u = (which & kUnicast) != 0;
  for (std::size_t n = 0; n < max;) {
    bool more = false; // a full batch: that socket may hold more
    for (auto *s : {&mcast_, &ucast_}) {
      if (s == &mcast_ && !mcast_open_) continue;
      if (!(s == &mcast_ ? more_m : more_u)) continue; // came up short last time: empty
      const int k = recv_batch(s->native_handle());
      (s == &mcast_ ? more_m : more_u) = k == kBatch;
      more |= k == kBatch;
      for (int i = 0; i < k; ++i) {
        const auto b = static_cast<std::size_t>(i);
        net::for_each_segment(std::span<const std::uint8_t>(scratch_.data() + 65536 * b, batch_len_[b]), batch_seg_[b],
                              [&](std::span<const std::uint8_t> d) {
                                on_datagram(batch_from_[b], d);
                                ++n;
                              });
      }
    }
    if (!more) return false;
  }
  return true;
}

} // namespace camure::session
