// The one wire layout of camure session frames: header fields, byte order, encoder and checked decoder.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace camure::net {

/// Every multi-byte field on the wire is LITTLE-ENDIAN and is encoded/decoded byte by byte
/// (never by casting a struct onto the buffer), so host byte order and alignment do not matter.
///
/// Frame = 48-byte header | payload (payload_len bytes) | 16-byte tag (only if flags & kFlagAuth).
/// The tag covers header + payload:
///  - DATA frames (the bulk): ChaCha20-Poly1305 (IETF, libsodium) with an empty message and
///    header + payload as associated data, under the stream key BLAKE2b-256(session key,
///    "CAMD" | session u64 | epoch u32 | sender u32 | group u32 | aux u32) with the nonce
///    seq u64 | "DATA". A sender's stream never seals two different packets under one sequence,
///    and aux carries a random salt per sender stream (a stream re-created after a group
///    re-join restarts its sequences), so no (key, nonce) pair ever covers two contents.
///    About 4x cheaper per byte than keyed BLAKE2b (Poly1305 vs a BLAKE2b compression per
///    128 bytes), which is what bounds the bytes a host can authenticate per second.
///  - every other frame: keyed BLAKE2b (crypto_generichash, 32-byte key), 16 bytes.
namespace layout {
inline constexpr std::size_t magic = 0;        ///< u32 kMagic
inline constexpr std::size_t version = 4;      ///< u8  kVersion
inline constexpr std::size_t type = 5;         ///< u8  FrameType
inline constexpr std::size_t flags = 6;        ///< u16 kFlag* bits, others must be 0
inline constexpr std::size_t session = 8;      ///< u64 session id (0 only in JOIN)
inline constexpr std::size_t epoch = 16;       ///< u32 coordinator incarnation (0 only in JOIN)
inline constexpr std::size_t sender = 20;      ///< u32 sender member id (coordinator is 0)
inline constexpr std::size_t group = 24;       ///< u32 group id (0 for session frames)
inline constexpr std::size_t aux = 28;         ///< u32 type-specific (e.g. acked sender id)
inline constexpr std::size_t seq = 32;         ///< u64 sequence / round / nonce
inline constexpr std::size_t payload_len = 40; ///< u32 payload bytes that follow the header
inline constexpr std::size_t reserved = 44;    ///< u32 must be 0
inline constexpr std::size_t header_size = 48;
inline constexpr std::size_t tag_size = 16;
} // namespace layout
static_assert(layout::version == layout::magic + 4);
static_assert(layout::session % 8 == 0 && layout::seq % 8 == 0, "64-bit fields naturally aligned");
static_assert(layout::reserved + 4 == layout::header_size);

inline constexpr std::uint32_t kMagic = 0x534d4143; // "CAMS" when read as little-endian bytes
/// 2: DATA frames carry a ChaCha20-Poly1305 tag under a per-stream key (1: BLAKE2b on every frame).
/// Bumped so that a peer of another build is dropped as bad_version, not mistaken for a forger.
inline constexpr std::uint8_t kVersion = 2;
inline constexpr std::uint16_t kFlagAuth = 0x0001; ///< a 16-byte tag follows the payload
inline constexpr std::uint16_t kKnownFlags = kFlagAuth;
inline constexpr std::size_t kMaxDatagram = 65507;  ///< largest UDP/IPv4 payload
inline constexpr std::size_t kKeySize = 32;

enum class FrameType : std::uint8_t {
  join = 1,        ///< member -> coordinator: seq = nonce
  join_ack = 2,    ///< coordinator -> member: seq = nonce, aux = assigned id, payload = multicast endpoint
  leave = 3,       ///< member -> coordinator
  heartbeat = 4,   ///< both ways
  evicted = 5,     ///< coordinator -> member: aux = evicted id
  group_join = 6,  ///< member -> coordinator: aux = GroupKind
  welcome = 7,     ///< coordinator -> member: aux = kind, seq = barrier round
  view = 8,        ///< coordinator -> multicast: seq = view number, payload = u32 member ids
  group_leave = 9, ///< member -> coordinator
  arrive = 10,     ///< barrier member -> coordinator: seq = round
  release = 11,    ///< barrier coordinator -> multicast/unicast: seq = released round
  data = 12,       ///< broadcast sender -> multicast: seq = packet sequence, aux = stream salt, payload = chunks
  nak = 13,        ///< receiver -> sender: aux = sender id, payload = ranges (u64 first, u32 count, u32 0)
  ack = 14,        ///< receiver -> sender: aux = sender id, seq = next expected sequence
  status = 15,     ///< sender -> multicast: seq = next sequence, payload = starts (u32 id, u32 0, u64 seq)
  close = 16,      ///< coordinator -> multicast: session ends; payload = (u32 group, u32 0, u64 released rounds)
};
inline constexpr std::uint8_t kMaxFrameType = 16;

/// Chunks inside a DATA payload: 8-byte header | bytes. Messages are split into chunks;
/// many small messages pack into one datagram.
namespace chunk {
inline constexpr std::size_t length = 0; ///< u32 chunk byte count
inline constexpr std::size_t flags = 4;  ///< u16 kChunkBegin | kChunkEnd
inline constexpr std::size_t reserved = 6; ///< u16 must be 0
inline constexpr std::size_t header_size = 8;
} // namespace chunk
inline constexpr std::uint16_t kChunkBegin = 1;
inline constexpr std::uint16_t kChunkEnd = 2;

struct FrameHeader {
  FrameType type{};
  std::uint16_t flags = 0;
  std::uint64_t session = 0;
  std::uint32_t epoch = 0;
  std::uint32_t sender = 0;
  std::uint32_t group = 0;
  std::uint32_t aux = 0;
  std::uint64_t seq = 0;
};

/// Why a datagram was dropped. Counted per reason; tests observe the counters.
enum class DropReason : std::uint8_t {
  too_short, bad_magic, bad_version, bad_type, bad_flags, bad_reserved, bad_length,
  auth_failed, wrong_session, wrong_epoch, unknown_sender, malformed_payload, out_of_window,
  count_
};
inline constexpr std::size_t kDropReasons = static_cast<std::size_t>(DropReason::count_);
const char *to_string(DropReason r) noexcept;

/// Per-reason drop counters (atomic so other threads may read them).
struct DropCounters {
  std::array<std::atomic<std::uint64_t>, kDropReasons> n{};
  void add(DropReason r) noexcept { n[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t get(DropReason r) const noexcept { return n[static_cast<std::size_t>(r)].load(std::memory_order_relaxed); }
  std::uint64_t total() const noexcept;
};

/// A decoded, validated frame. payload points into the datagram that was decoded.
struct Frame {
  FrameHeader h;
  std::span<const std::uint8_t> payload;
};

/// Encodes and decodes frames for one session key (or none).
class Codec {
public:
  Codec() = default;
  explicit Codec(const std::optional<std::array<std::uint8_t, kKeySize>> &key);

  bool authenticated() const noexcept { return key_.has_value(); }
  std::size_t overhead() const noexcept { return layout::header_size + (key_ ? layout::tag_size : 0); }

  /// Appends header + payload (+ tag) to out. Returns the frame size.
  std::size_t encode(const FrameHeader &h, std::span<const std::uint8_t> payload, std::vector<std::uint8_t> &out) const;
  /// Encodes in place: buf holds header space (filled here) followed by payload_len payload
  /// bytes already written, and tag space if authenticated. Returns the frame size.
  std::size_t seal_in_place(const FrameHeader &h, std::uint8_t *buf, std::size_t payload_len) const;

  /// Checks length, magic and version first, then every field's bounds, then the tag.
  /// On failure counts the reason in drops (if given) and returns nullopt.
  std::optional<Frame> decode(std::span<const std::uint8_t> datagram, DropCounters *drops) const;

private:
  std::optional<std::array<std::uint8_t, kKeySize>> key_;
};

// Explicit little-endian field access.
inline void put_u16(std::uint8_t *p, std::uint16_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v);
  p[1] = static_cast<std::uint8_t>(v >> 8);
}
inline void put_u32(std::uint8_t *p, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
inline void put_u64(std::uint8_t *p, std::uint64_t v) noexcept {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
inline std::uint16_t get_u16(const std::uint8_t *p) noexcept {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
inline std::uint32_t get_u32(const std::uint8_t *p) noexcept {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
inline std::uint64_t get_u64(const std::uint8_t *p) noexcept {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

} // namespace camure::net
