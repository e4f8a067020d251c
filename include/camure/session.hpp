// camure::session: reliable, authenticated UDP multicast sessions with barrier and broadcast groups.
#pragma once

#include <camure/error.hpp>
#include <camure/export.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

/// Multicast sessions. One process starts a Coordinator bound to a unicast address with a
/// multicast group; others join as Members with the coordinator's address. Inside a session,
/// barrier groups synchronise the coordinator and the admitted members (one round trip per
/// round) and broadcast groups deliver messages of any size reliably, FIFO per sender, exactly
/// once, from any member to all others. A background thread per Coordinator/Member drives
/// sockets, timers, retransmissions and heartbeats.
///
/// Error semantics (every call): the overload taking `std::error_code &` never throws and sets
/// the code; the other throws camure::error. Codes: errc::timeout (deadline passed),
/// errc::coordinator_lost (no sign of the coordinator for `liveness_timeout`), errc::evicted
/// (the coordinator dropped this member), errc::closed (the object or its session was closed),
/// errc::invalid_argument, errc::system_error (socket set-up failed), errc::unsupported.
///
/// @code
///   using namespace camure::session;
///   Options o; o.key = my_32_byte_key;
///   auto coord = Coordinator::start(Endpoint::parse("127.0.0.1:40000"), Endpoint::parse("239.77.0.1:40001"), o);
///   auto bar = coord.create_barrier_group(0);
///   bar.accept(3, std::chrono::seconds(5));     // wait until 3 members are in
///   bar.wait();
///   // member process:
///   auto m = Member::join(Endpoint::parse("127.0.0.1:40000"), o);
///   m.join_barrier_group(0).wait();
/// @endcode
namespace camure::session {

using GroupId = std::uint32_t;
using MemberId = std::uint32_t;
/// The coordinator's member id; members get ids 1, 2, ... in join order.
inline constexpr MemberId coordinator_id = 0;
using Clock = std::chrono::steady_clock;
using Duration = std::chrono::nanoseconds;
/// "No deadline" for the timeout parameters.
inline constexpr Duration forever = std::chrono::hours(24 * 365);

/// An IP address (v4 or v6, as text) and a port. No name resolution.
struct CAMURE_API Endpoint {
  std::string address;
  std::uint16_t port = 0;

  /// Parses "1.2.3.4:5" or "[::1]:5". Sets errc::invalid_argument on malformed input.
  static Endpoint parse(std::string_view text, std::error_code &ec);
  static Endpoint parse(std::string_view text);
  /// "1.2.3.4:5" or "[::1]:5".
  std::string to_string() const;
  bool is_v6() const noexcept { return address.find(':') != std::string::npos; }
};

/// Session options. Coordinator and members must agree on `key`; the rest is per process.
struct Options {
  /// 32-byte session key: every frame carries a keyed BLAKE2b tag. Without a key frames are
  /// unauthenticated (fine for tests on loopback; camurerun always sets one).
  std::optional<std::array<std::uint8_t, 32>> key;
  /// Local address to send and receive multicast on ("" = the address used to reach the
  /// coordinator, or the coordinator's bind address).
  std::string interface;
  int ttl = 1;                        ///< multicast TTL / hop limit (0 keeps it on the host)
  bool multicast_loopback = true;     ///< needed for several members on one host
  int send_buffer = 4 << 20;          ///< SO_SNDBUF bytes (the kernel may cap it)
  int recv_buffer = 4 << 20;          ///< SO_RCVBUF bytes (the kernel may cap it)
  std::size_t window_bytes = 1 << 20; ///< unacknowledged broadcast bytes per sender
  std::size_t max_datagram = 1400;    ///< frame bytes per datagram (raise on loopback, <= 65507)
  /// Received but not yet recv()'d bytes per broadcast group before this node stops
  /// acknowledging, which makes senders wait (bounded memory instead of an unbounded queue).
  /// 0 = no limit. A coordinator that only sends never fills it unless members send.
  std::size_t max_unread_bytes = 64 << 20;
  std::chrono::milliseconds heartbeat_interval{100};
  std::chrono::milliseconds liveness_timeout{1000}; ///< eviction / coordinator-loss timeout
  std::chrono::microseconds retransmit_interval{1000}; ///< ARRIVE / NAK / ACK / STATUS pacing
  std::chrono::milliseconds join_timeout{5000};        ///< Member::join without a timeout argument
  /// Test/benchmark interceptor on this process's outgoing datagrams (seeded): drop,
  /// duplicate and reorder probabilities. 0 in production.
  double inject_loss = 0, inject_duplicate = 0, inject_reorder = 0;
  std::uint64_t inject_seed = 1;
};

/// Counters for tests and monitoring.
struct SessionStats {
  std::uint64_t dropped_total = 0, dropped_auth = 0, dropped_wrong_session = 0, dropped_malformed = 0,
                dropped_unknown_sender = 0;
  std::uint64_t packets_sent = 0, messages_sent = 0, repairs_unicast = 0, repairs_multicast = 0;
  std::uint64_t packets_received = 0, duplicates = 0, naks_sent = 0, acks_sent = 0;
  std::uint64_t evictions = 0, barrier_retransmits = 0, interceptor_dropped = 0;
};

class Node; // internal

/// A received broadcast message. Its bytes stay valid as long as the Message lives; a message
/// that fit one datagram is not copied out of it.
class CAMURE_API Message {
public:
  Message();
  ~Message();
  Message(Message &&) noexcept;
  Message &operator=(Message &&) noexcept;

  std::span<const std::byte> data() const noexcept;
  std::size_t size() const noexcept { return data().size(); }
  MemberId sender() const noexcept { return sender_; }

  /// A stream-like reader over the bytes.
  class Reader {
  public:
    explicit Reader(std::span<const std::byte> d) : d_(d) {}
    /// Copies up to out.size() bytes; returns how many (0 at the end).
    std::size_t read(std::span<std::byte> out) noexcept;
    std::size_t remaining() const noexcept { return d_.size() - pos_; }
    std::string read_all();

  private:
    std::span<const std::byte> d_;
    std::size_t pos_ = 0;
  };
  Reader read() const noexcept { return Reader(data()); }

private:
  friend class BroadcastGroup;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  MemberId sender_ = 0;
};

class BroadcastGroup;

/// One message being written to a broadcast group. Bytes go out as the window allows; the
/// message is complete after finish() (or destruction, which finishes and ignores errors).
/// While a writer lives, other threads' sends on the same group wait for it; the same thread
/// gets errc::busy from send() (and a second write_message() from that thread fails with
/// errc::closed) instead of waiting for itself.
class CAMURE_API MessageWriter {
public:
  MessageWriter(MessageWriter &&) noexcept;
  MessageWriter &operator=(MessageWriter &&) = delete;
  ~MessageWriter();

  void write(std::span<const std::byte> bytes, std::error_code &ec);
  void write(std::span<const std::byte> bytes);
  MessageWriter &operator<<(std::string_view s);
  MessageWriter &operator<<(std::span<const std::byte> b);
  void finish(std::error_code &ec);
  void finish();

private:
  friend class BroadcastGroup;
  MessageWriter(std::shared_ptr<Node> n, GroupId id);
  std::shared_ptr<Node> node_;
  GroupId id_ = 0;
  bool begun_ = false;
  bool done_ = false;
};

namespace detail {
/// What every group handle shares: the node, the group id, membership and admission. Moving
/// transfers the membership; destroying (or assigning over) a handle leaves the group.
class CAMURE_API GroupHandle {
public:
  GroupId id() const noexcept { return id_; }
  /// Members admitted (the coordinator not counted).
  std::size_t members() const;
  /// Coordinator: waits until at least one member asked to join, then admits all who asked.
  /// Returns how many were admitted. Members get errc::unsupported.
  std::size_t accept(Duration timeout, std::error_code &ec);
  std::size_t accept(Duration timeout = forever);
  /// Coordinator: admits members as they ask until at least `count` are in the group.
  void accept_until(std::size_t count, Duration timeout, std::error_code &ec);
  void accept_until(std::size_t count, Duration timeout);

protected:
  GroupHandle() = default;
  GroupHandle(std::shared_ptr<Node> n, GroupId id, const char *kind) : node_(std::move(n)), id_(id), kind_(kind) {}
  ~GroupHandle(); ///< leaves the group
  GroupHandle(GroupHandle &&) noexcept;
  GroupHandle &operator=(GroupHandle &&) noexcept;
  std::shared_ptr<Node> node_;
  GroupId id_ = 0;
  const char *kind_ = "group"; ///< "barrier" / "broadcast", for exception messages
};
} // namespace detail

/// A barrier group handle (coordinator or member side).
class CAMURE_API BarrierGroup : public detail::GroupHandle {
public:
  BarrierGroup() = default;
  BarrierGroup(BarrierGroup &&) noexcept = default;
  BarrierGroup &operator=(BarrierGroup &&) noexcept = default;

  /// Blocks until the coordinator and every current member have arrived.
  void wait(Duration timeout, std::error_code &ec);
  void wait(Duration timeout = forever);

private:
  friend class Coordinator;
  friend class Member;
  BarrierGroup(std::shared_ptr<Node> n, GroupId id) : GroupHandle(std::move(n), id, "barrier") {}
};

/// A broadcast group handle. Every participant may send (its own FIFO stream) and receives
/// what the others send (not its own messages).
class CAMURE_API BroadcastGroup : public detail::GroupHandle {
public:
  BroadcastGroup() = default;
  BroadcastGroup(BroadcastGroup &&) noexcept = default;
  BroadcastGroup &operator=(BroadcastGroup &&) noexcept = default;

  /// Waits until this node's view of the group has at least `count` members (coordinator not
  /// counted). A member that sends should wait for the view before relying on delivery.
  void wait_for_members(std::size_t count, Duration timeout, std::error_code &ec);

  /// Starts a message; see MessageWriter.
  MessageWriter write_message();
  /// Sends one message (blocks while the window is full).
  void send(std::span<const std::byte> bytes, Duration timeout, std::error_code &ec);
  void send(std::span<const std::byte> bytes);
  void send(std::string_view s) { send(std::as_bytes(std::span(s.data(), s.size()))); }
  /// Blocks until everything sent so far has reached every current member.
  void wait(Duration timeout, std::error_code &ec);
  void wait(Duration timeout = forever);
  /// Receives the next message from any other sender.
  Message recv(Duration timeout, std::error_code &ec);
  Message recv(Duration timeout = forever);
  /// Non-blocking: errc::would_block if nothing is queued.
  Message try_recv(std::error_code &ec);

private:
  friend class Coordinator;
  friend class Member;
  friend class MessageWriter;
  BroadcastGroup(std::shared_ptr<Node> n, GroupId id) : GroupHandle(std::move(n), id, "broadcast") {}
};

/// Starts and owns a session. Destroying it stops the progress thread and closes the sockets;
/// group handles then fail with errc::closed.
class CAMURE_API Coordinator {
public:
  /// Binds `bind` (unicast, where members send) and multicasts to `multicast`.
  static Coordinator start(const Endpoint &bind, const Endpoint &multicast, const Options &options,
                           std::error_code &ec);
  static Coordinator start(const Endpoint &bind, const Endpoint &multicast, const Options &options = {});

  Coordinator();
  ~Coordinator();
  Coordinator(Coordinator &&) noexcept;
  Coordinator &operator=(Coordinator &&) noexcept;
  explicit operator bool() const noexcept { return node_ != nullptr; }

  BarrierGroup create_barrier_group(GroupId id, std::error_code &ec);
  BarrierGroup create_barrier_group(GroupId id);
  BroadcastGroup create_broadcast_group(GroupId id, std::error_code &ec);
  BroadcastGroup create_broadcast_group(GroupId id);

  std::size_t members() const;       ///< members in the session
  Endpoint local_endpoint() const;   ///< the bound unicast endpoint (port filled in)
  std::uint64_t session_id() const;
  SessionStats stats() const;

private:
  std::shared_ptr<Node> node_;
};

/// A member of a session. Destroying it tells the coordinator, stops the progress thread and
/// closes the sockets.
class CAMURE_API Member {
public:
  /// Joins the session of the coordinator at `coordinator`; blocks until admitted.
  static Member join(const Endpoint &coordinator, const Options &options, Duration timeout, std::error_code &ec);
  static Member join(const Endpoint &coordinator, const Options &options = {});

  Member();
  ~Member();
  Member(Member &&) noexcept;
  Member &operator=(Member &&) noexcept;
  explicit operator bool() const noexcept { return node_ != nullptr; }

  /// Asks to join; blocks until the coordinator accepts (or the timeout).
  BarrierGroup join_barrier_group(GroupId id, Duration timeout, std::error_code &ec);
  BarrierGroup join_barrier_group(GroupId id);
  BroadcastGroup join_broadcast_group(GroupId id, Duration timeout, std::error_code &ec);
  BroadcastGroup join_broadcast_group(GroupId id);

  MemberId id() const;
  /// errc::coordinator_lost / errc::evicted once that happened, else no error.
  std::error_code status() const;
  SessionStats stats() const;

private:
  template <class G>
  static G join_group(const std::shared_ptr<Node> &n, GroupId id, int kind, Duration timeout, std::error_code &ec);
  std::shared_ptr<Node> node_;
};

} // namespace camure::session
