// One sender's reliable broadcast stream in a group: packing, byte window, ACK table, NAK repair.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <span>
#include <vector>

#include "runtime/net/emit.hpp"
#include "runtime/net/frame.hpp"
#include "runtime/net/seq.hpp"

namespace camure::net {

struct SenderConfig {
  GroupId group = 0;
  std::size_t max_datagram = 1400; ///< whole frame incl. header and tag
  std::size_t window = 1 << 20;    ///< unacknowledged bytes in flight
  std::uint64_t initial_seq = 0;
  Nanos repair_holdoff = 200'000;  ///< min time between repairs of one packet to one path
  Nanos status_interval = 1'000'000;
  /// Goes in every DATA frame's aux and into its tag's stream key (frame.hpp), so a stream
  /// re-created under the same sender and group never reuses a (key, nonce). 0 = random.
  std::uint32_t salt = 0;
};

struct SenderStats {
  std::uint64_t packets = 0, messages = 0, bytes = 0;
  std::uint64_t repairs_unicast = 0, repairs_multicast = 0, repairs_suppressed = 0, status = 0;
};

/// Sans-IO: every method takes `now`; datagrams leave through the Emit callback.
/// Messages become chunks (8-byte header + bytes) packed into DATA packets; a packet is
/// sealed when full or on flush(), and only while the byte window allows it.
class SenderStream {
public:
  SenderStream(const SenderConfig &cfg, const Codec &codec, const FrameContext &ctx, Emit emit);

  struct WriteResult {
    std::size_t consumed = 0; ///< bytes of data taken
    bool done = false;        ///< all data taken and, if end was asked, the message closed
  };
  /// Appends message bytes. begin starts a new message, end closes it. Stops early (done=false)
  /// when the window is full; call again with the rest (begin=false) after ACKs arrive.
  WriteResult write(std::span<const std::uint8_t> data, bool begin, bool end, Nanos now);
  /// Seals and sends the partly filled packet if the window allows. Returns true if nothing is left open.
  bool flush(Nanos now);

  /// The group's current members (may include self, which is ignored). New members start at
  /// the next sequence and are told so by STATUS until they acknowledge.
  void set_members(const std::vector<MemberId> &members, Nanos now);
  void on_ack(MemberId from, std::uint64_t next_expected, Nanos now);
  void on_nak(MemberId from, const PeerAddr &addr, std::span<const std::uint8_t> ranges, Nanos now);
  void tick(Nanos now);
  /// Someone waits for acknowledgements: send STATUS now (receivers answer with an ACK) rather
  /// than at the next periodic ACK. Rate-limited; costs one multicast + one ACK per member.
  void request_ack(Nanos now);

  /// Everything written has been sealed and acknowledged by every current member.
  bool all_acked() const noexcept;
  bool has_open_data() const noexcept { return open_used_ > 0; }
  bool window_full() const noexcept;
  std::uint64_t next_seq() const noexcept { return next_seq_; }
  std::size_t in_flight_bytes() const noexcept { return in_flight_; }
  const SenderStats &stats() const noexcept { return stats_; }

private:
  struct Packet {
    std::uint64_t seq = 0;
    std::vector<std::uint8_t> frame;
    Nanos last_unicast = INT64_MIN / 2;
    Nanos last_multicast = INT64_MIN / 2;
  };
  struct Peer {
    std::uint64_t next = 0; ///< first sequence it has not acknowledged
    bool synced = false;    ///< it has acknowledged at least once (knows where it starts)
  };

  std::size_t chunk_area() const noexcept;
  bool can_seal() const noexcept;
  void seal(Nanos now);
  void seal_large_end(Nanos now); ///< seals the open packet if it ends a message of >= a datagram
  void trim();
  void send_status(Nanos now);

  SenderConfig cfg_;
  const Codec &codec_;
  FrameContext ctx_;
  Emit emit_;
  std::uint64_t next_seq_;
  std::uint32_t salt_;
  std::deque<Packet> retained_; ///< sealed, not yet acknowledged by everyone (consecutive seqs)
  std::vector<std::vector<std::uint8_t>> free_;
  std::size_t in_flight_ = 0;
  std::vector<std::uint8_t> open_; ///< packet being filled: header space + chunks (+ tag space)
  std::size_t open_used_ = 0;      ///< chunk bytes in open_
  std::size_t last_chunk_ = SIZE_MAX; ///< offset of the last chunk header in open_, if any
  std::uint64_t msg_bytes_ = 0;       ///< bytes of the message being written so far
  std::map<MemberId, Peer> peers_;
  Nanos last_status_ = INT64_MIN / 2;
  Nanos last_send_ = INT64_MIN / 2;
  SenderStats stats_;
};

} // namespace camure::net
