// One remote sender's stream as seen by a receiver: ordering, gap NAKs, cumulative ACKs, reassembly.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "runtime/net/emit.hpp"
#include "runtime/net/frame.hpp"
#include "runtime/net/message.hpp"
#include "runtime/net/seq.hpp"

namespace camure::net {

struct ReceiverConfig {
  GroupId group = 0;
  MemberId sender = 0;
  std::size_t window = 1 << 20;   ///< also bounds out-of-order buffering (2x window bytes)
  Nanos nak_interval = 1'000'000; ///< re-NAK a still-missing packet this often
  Nanos ack_interval = 1'000'000; ///< cumulative ACK at least this often while progressing
};

struct ReceiverStats {
  std::uint64_t packets = 0, duplicates = 0, out_of_window = 0, naks = 0, acks = 0, messages = 0;
  std::uint64_t malformed = 0, partial_dropped = 0;
};

/// Sans-IO. Delivers complete messages in order, exactly once, through `deliver`.
class ReceiverStream {
public:
  using Deliver = std::function<void(CoreMessage &&)>;
  /// True while the application is too far behind: ACKs pause, so the sender's window
  /// (not our memory) absorbs the difference.
  using Congested = std::function<bool()>;

  ReceiverStream(const ReceiverStream &) = delete;
  ReceiverStream &operator=(const ReceiverStream &) = delete;
  ReceiverStream(const ReceiverConfig &cfg, const Codec &codec, const FrameContext &ctx, Emit emit, Deliver deliver);

  /// The sender's unicast address (from its frames' source), where NAKs and ACKs go.
  void set_sender_addr(const PeerAddr &a) { sender_addr_ = a; }
  void set_congested(Congested c) { congested_ = std::move(c); }
  /// A DATA packet; payload lies inside *datagram (kept alive for zero-copy messages).
  void on_data(std::uint64_t seq, const Buffer &datagram, std::span<const std::uint8_t> payload, Nanos now);
  /// A STATUS frame: the sender's next sequence and the start sequence of members it awaits.
  void on_status(std::uint64_t next_seq, std::span<const std::uint8_t> starts, Nanos now);
  void tick(Nanos now);

  bool synced() const noexcept { return synced_; }
  std::uint64_t expected() const noexcept { return expected_; }
  const ReceiverStats &stats() const noexcept { return stats_; }

private:
  struct Held {
    Buffer datagram;
    std::span<const std::uint8_t> payload;
  };
  void accept(std::uint64_t seq, const Buffer &datagram, std::span<const std::uint8_t> payload, Nanos now);
  void process(const Buffer &datagram, std::span<const std::uint8_t> payload);
  void drain(Nanos now);
  void send_naks(Nanos now);                     ///< every hole from expected_ on
  void send_naks(Nanos now, std::uint64_t from); ///< the holes at or after `from` only
  void send_ack(Nanos now);

  ReceiverConfig cfg_;
  const Codec &codec_;
  FrameContext ctx_;
  Emit emit_;
  Deliver deliver_;
  Congested congested_;
  PeerAddr sender_addr_;
  bool synced_ = false;
  std::uint64_t expected_ = 0;  ///< next in-order sequence
  std::uint64_t highest_ = 0;   ///< one past the highest sequence known to exist
  /// Orders sequences by distance from the stream's start, so the map stays sorted across the wrap.
  struct FromBase {
    const std::uint64_t *base;
    bool operator()(std::uint64_t a, std::uint64_t b) const noexcept { return a - *base < b - *base; }
  };
  std::uint64_t base_ = 0;
  std::map<std::uint64_t, Held, FromBase> held_{FromBase{&base_}}; ///< out of order (or before sync)
  std::size_t held_bytes_ = 0;
  Nanos last_nak_ = INT64_MIN / 2;
  Nanos last_ack_ = INT64_MIN / 2;
  std::uint64_t last_acked_ = 0;
  bool acked_once_ = false;
  std::size_t bytes_since_ack_ = 0;
  bool assembling_ = false;
  std::vector<std::uint8_t> assembly_;
  /// Reassembly buffers come back here when the application drops the message (any thread), so
  /// a stream of large messages reuses a few warm buffers instead of a fresh allocation (mmap,
  /// page faults, growth copies) per message.
  struct BufferPool;
  std::shared_ptr<BufferPool> pool_;
  ReceiverStats stats_;
};

} // namespace camure::net
