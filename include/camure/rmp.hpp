// camure::rmp — crash-safe, totally ordered many-to-many broadcast over a shared-memory ring.
//
// Any number of writer and reader processes (or threads) attach to a named ring. Every reader
// sees every message in the same total order, intact and exactly once, or is told exactly how
// many messages it lost when a writer overran it. A writer killed at any instant (even while
// copying a payload) never makes a reader deliver corrupted bytes; the next writer repairs the
// ring. A dead reader never holds writers back.
//
// @code
//   auto ring = camure::rmp::Ring::create_or_open("job7-bus", {.capacity = 1 << 20});
//   auto w = camure::rmp::Writer::create(ring);
//   auto r = camure::rmp::Reader::create(ring);      // sees messages written from now on
//   w.write(std::as_bytes(std::span("hello", 5)));
//   std::byte buf[64];
//   auto res = r.read_into(buf, std::chrono::seconds(1));
//   if (res.status == camure::rmp::ReadStatus::ok) use(buf, res.size);
// @endcode
#pragma once

#include <camure/error.hpp>
#include <camure/export.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace camure::rmp {

/// Built-in backpressure behaviours, stored in the ring (the default for its writers).
enum class Backpressure : std::uint32_t {
  overrun = 0, ///< never wait: slow readers are overrun and get ReadStatus::lost (default)
  block = 1,   ///< wait (without the writer lock) for the slowest live reader, up to block_timeout
};

/// Optional UDP-multicast notification: a 0-byte datagram per commit batch to group:port on
/// loopback (TTL 0), so readers can poll() a file descriptor. Off by default; futex waiting
/// is faster and needs no socket.
struct NotifyOptions {
  bool enabled = false;
  std::string group = "239.255.77.77"; ///< IPv4 multicast group (must be 224.0.0.0/4)
  std::uint16_t port = 47777;
};

/// Creation parameters of a ring. Stored in the segment; openers read them from there.
struct RingOptions {
  std::size_t capacity = std::size_t{1} << 20; ///< ring bytes: a power of two, 4 KiB .. 2 GiB
  std::uint32_t max_participants = 64;         ///< reader + writer slots (1 .. 4096)
  Backpressure backpressure = Backpressure::overrun;
  std::chrono::milliseconds block_timeout{2000}; ///< Backpressure::block: give up with errc::timeout
  NotifyOptions notify;
};

namespace detail {
struct RingShared;
}

/// A handle to a mapped ring (cheap to copy; writers and readers keep the mapping alive).
class CAMURE_API Ring {
public:
  Ring() = default;

  /// Creates a new ring "name" (exclusive). Errors: invalid_argument (name, capacity not a power
  /// of two or out of range, bad notify group), already_exists, no_memory, system_error.
  static Ring create(std::string_view name, const RingOptions &options, std::error_code &ec);
  /// Throwing form of create().
  static Ring create(std::string_view name, const RingOptions &options = {});

  /// Opens an existing ring, waiting until deadline for it to exist and be READY.
  /// Errors: not_found, not_ready, bad_magic, version_mismatch, size_mismatch, system_error.
  static Ring open(std::string_view name, std::chrono::steady_clock::time_point deadline, std::error_code &ec);
  /// Throwing form of open() with a relative timeout.
  static Ring open(std::string_view name, std::chrono::milliseconds timeout = std::chrono::seconds(5));

  /// Creates the ring or opens it if another process created it first (then `options` must
  /// match its capacity, else size_mismatch).
  static Ring create_or_open(std::string_view name, const RingOptions &options,
                             std::chrono::steady_clock::time_point deadline, std::error_code &ec);
  /// Throwing form of create_or_open() with a 5 s deadline.
  static Ring create_or_open(std::string_view name, const RingOptions &options = {});

  /// Unlinks a ring's name (existing mappings keep working). Errors: not_found, invalid_argument.
  static std::error_code remove(std::string_view name) noexcept;

  bool valid() const noexcept { return shared_ != nullptr; }
  explicit operator bool() const noexcept { return valid(); }
  const std::string &name() const noexcept;
  /// Ring capacity in bytes.
  std::size_t capacity() const noexcept;
  /// Largest payload one message can carry (capacity minus the 16-byte record header).
  std::size_t max_message_size() const noexcept;
  /// Sequence number the next committed message will get (= messages committed so far).
  std::uint64_t head_sequence() const noexcept;
  /// Number of dead-writer repairs performed on this ring so far.
  std::uint64_t repairs() const noexcept;
  /// The ring's stored backpressure policy.
  Backpressure backpressure() const noexcept;

  /// @internal
  const std::shared_ptr<detail::RingShared> &shared() const noexcept { return shared_; }

private:
  explicit Ring(std::shared_ptr<detail::RingShared> s) : shared_(std::move(s)) {}
  std::shared_ptr<detail::RingShared> shared_;
};

/// What a writer does when a write would overwrite bytes a live reader has not read yet.
enum class PressureAction { overwrite, wait, fail };

/// Pluggable backpressure: consulted (never while holding the writer lock) when a write would
/// overrun the slowest live reader.
class CAMURE_API BackpressurePolicy {
public:
  virtual ~BackpressurePolicy();
  /// False: never consulted and reader positions are never scanned (pure overrun, fastest).
  virtual bool tracks_readers() const noexcept = 0;
  /// overwrite_bytes: unread bytes of the slowest live reader the write would destroy;
  /// waited: how long this write has waited so far. wait = sleep until a reader advances (at
  /// most ~1 ms) and ask again; fail = the write fails with errc::timeout.
  virtual PressureAction on_pressure(std::uint64_t overwrite_bytes, std::chrono::nanoseconds waited) = 0;
  /// Built-in: overrun slow readers.
  static std::shared_ptr<BackpressurePolicy> overrun();
  /// Built-in: block up to timeout, then fail with errc::timeout.
  static std::shared_ptr<BackpressurePolicy> block(std::chrono::nanoseconds timeout);
};

/// Writes messages into a ring. Not thread-safe per object: use one Writer per thread (any
/// number of writers in any processes may write concurrently).
class CAMURE_API Writer {
public:
  Writer();
  Writer(Writer &&) noexcept;
  Writer &operator=(Writer &&) noexcept;
  ~Writer();

  /// Attaches a writer to the ring using the ring's stored backpressure policy, or `policy`.
  /// Errors: invalid_argument (invalid ring), busy (no free participant slot).
  static Writer create(const Ring &ring, std::error_code &ec, std::shared_ptr<BackpressurePolicy> policy = nullptr);
  /// Throwing form of create().
  static Writer create(const Ring &ring, std::shared_ptr<BackpressurePolicy> policy = nullptr);

  /// Writes one message and returns its sequence number.
  /// Errors: message_too_large (> max_message_size), timeout (backpressure gave up),
  /// system_error (the writer lock became unusable). On error nothing was written.
  std::uint64_t write(std::span<const std::byte> message, std::error_code &ec);
  /// Throwing form of write().
  std::uint64_t write(std::span<const std::byte> message);

  /// Writes one message gathered from several parts (e.g. a header and a payload) without
  /// copying them together first. Same errors as write().
  std::uint64_t write_gather(std::span<const std::span<const std::byte>> parts, std::error_code &ec);

  /// Writes many messages under as few writer-lock acquisitions as possible (all messages are
  /// still individually ordered, and other writers' messages may come between chunks).
  /// Returns how many were written (all, unless ec is set; then the first n were written).
  std::size_t write_batch(std::span<const std::span<const std::byte>> messages, std::error_code &ec);

  bool valid() const noexcept { return impl_ != nullptr; }

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Outcome of a read.
enum class ReadStatus {
  ok,          ///< a message was delivered: size bytes, sequence number `sequence`
  lost,        ///< the reader was overrun: exactly `lost` messages are gone; next read continues
  would_block, ///< try_read(): nothing new
  timeout,     ///< read_into()/read(): nothing arrived before the timeout
  truncated,   ///< the buffer is smaller than the next message (needs `size` bytes); not consumed
  corrupt,     ///< a validated record violated the ring's invariants (foreign writes to the
               ///< segment); nothing delivered, the reader resynchronised at the head
};

/// Result of Reader::read_into() and friends.
struct ReadResult {
  ReadStatus status = ReadStatus::would_block;
  std::size_t size = 0;       ///< ok: payload bytes; truncated: bytes needed
  std::uint64_t lost = 0;     ///< lost: number of messages lost
  std::uint64_t sequence = 0; ///< ok: sequence number of the message
  bool ok() const noexcept { return status == ReadStatus::ok; }
};

/// Result of Reader::drain().
struct DrainResult {
  ReadStatus status = ReadStatus::would_block; ///< ok (>= 1 message), lost, would_block, timeout, corrupt
  std::size_t messages = 0;                    ///< messages delivered to the callback by this call
  std::uint64_t lost = 0;                      ///< lost: number of messages lost
};

/// Reads every message written to a ring after the reader was created, in the ring's total
/// order. Lock-free with respect to writers. Not thread-safe per object.
class CAMURE_API Reader {
public:
  Reader();
  Reader(Reader &&) noexcept;
  Reader &operator=(Reader &&) noexcept;
  ~Reader();

  /// Attaches a reader positioned at the head (it sees messages committed after this call).
  /// Errors: invalid_argument (invalid ring), busy (no free participant slot), system_error.
  static Reader create(const Ring &ring, std::error_code &ec);
  /// Throwing form of create().
  static Reader create(const Ring &ring);

  /// Copies the next message into buf if one is committed; never blocks.
  ReadResult try_read(std::span<std::byte> buf) noexcept;
  /// Like try_read() but waits up to timeout (spin briefly, then sleep on the ring's futex).
  ReadResult read_into(std::span<std::byte> buf, std::chrono::nanoseconds timeout) noexcept;
  /// Reads the next message into out (resized to fit), waiting up to timeout.
  ReadResult read(std::vector<std::byte> &out, std::chrono::nanoseconds timeout);

  /// Batch form for small messages: copies every committed record (up to 64 KiB of ring data)
  /// into a private buffer with one copy, validates the whole copy once, then calls
  /// fn(std::span<const std::byte> payload, std::uint64_t sequence) for each message, in order,
  /// at most max_messages times. The span is valid only during the call. Waits up to timeout
  /// if nothing is committed. A loss is reported on its own (status lost, no messages).
  /// @code
  ///   auto res = reader.drain([&](std::span<const std::byte> m, std::uint64_t seq) { sum += m.size(); },
  ///                           std::chrono::milliseconds(10));
  /// @endcode
  template <class Fn>
  DrainResult drain(Fn &&fn, std::chrono::nanoseconds timeout, std::size_t max_messages = ~std::size_t{0}) {
    return drain_impl(
        [](void *ctx, std::span<const std::byte> m, std::uint64_t seq) { (*static_cast<std::remove_reference_t<Fn> *>(ctx))(m, seq); },
        &fn, timeout, max_messages);
  }

  /// A file descriptor that becomes readable (POLLIN) when writers commit, for poll/epoll loops.
  /// Only for rings created with notify.enabled. After it polls readable call
  /// drain_notifications(), then try_read() until would_block.
  /// Errors: unsupported (notify disabled for this ring), system_error (socket set-up failed).
  int notify_fd(std::error_code &ec);
  /// Discards pending notification datagrams (non-blocking).
  void drain_notifications() noexcept;

  /// Makes a read_into()/read()/drain() that is blocked (or the next one) on another thread
  /// return early with ReadStatus::timeout. The only member that may be called concurrently
  /// with the others; used to stop a reader thread without polling.
  void interrupt() noexcept;

  /// Sequence number of the next message this reader expects.
  std::uint64_t next_sequence() const noexcept;
  bool valid() const noexcept { return impl_ != nullptr; }

private:
  using Sink = void (*)(void *ctx, std::span<const std::byte> message, std::uint64_t sequence);
  DrainResult drain_impl(Sink sink, void *ctx, std::chrono::nanoseconds timeout, std::size_t max_messages);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace camure::rmp
