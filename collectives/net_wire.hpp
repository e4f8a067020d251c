// Byte layout of a bcast chunk between node leaders (multicast session message), little endian.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace camure::collectives {

/// Leads every bcast chunk a leader multicasts; the payload follows. Encoded little endian
/// field by field (encode/decode below), so hosts of any byte order agree.
struct NetChunkHeader {
  std::uint32_t magic;  ///< net_chunk_magic
  std::uint32_t origin; ///< the sending host's node id
  std::uint64_t seq;    ///< bcast number in the job, from 1 (every rank counts alike)
  std::uint64_t total;  ///< the whole bcast's size
  std::uint64_t offset; ///< where this chunk goes
};
inline constexpr std::size_t net_chunk_header_bytes = 32;
static_assert(sizeof(NetChunkHeader) == net_chunk_header_bytes);
static_assert(offsetof(NetChunkHeader, origin) == 4);
static_assert(offsetof(NetChunkHeader, seq) == 8);
static_assert(offsetof(NetChunkHeader, total) == 16);
static_assert(offsetof(NetChunkHeader, offset) == 24);

inline constexpr std::uint32_t net_chunk_magic = 0x4e424331u; // "NBC1"

namespace wire {
inline void put_le(std::byte *p, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) p[i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
}
inline std::uint64_t get_le(const std::byte *p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}
} // namespace wire

inline std::array<std::byte, net_chunk_header_bytes> encode(const NetChunkHeader &h) {
  std::array<std::byte, net_chunk_header_bytes> b{};
  wire::put_le(b.data() + offsetof(NetChunkHeader, magic), h.magic, 4);
  wire::put_le(b.data() + offsetof(NetChunkHeader, origin), h.origin, 4);
  wire::put_le(b.data() + offsetof(NetChunkHeader, seq), h.seq, 8);
  wire::put_le(b.data() + offsetof(NetChunkHeader, total), h.total, 8);
  wire::put_le(b.data() + offsetof(NetChunkHeader, offset), h.offset, 8);
  return b;
}

/// False if the bytes are too short or the magic is wrong.
inline bool decode(std::span<const std::byte> b, NetChunkHeader &h) {
  if (b.size() < net_chunk_header_bytes) return false;
  h.magic = static_cast<std::uint32_t>(wire::get_le(b.data() + offsetof(NetChunkHeader, magic), 4));
  h.origin = static_cast<std::uint32_t>(wire::get_le(b.data() + offsetof(NetChunkHeader, origin), 4));
  h.seq = wire::get_le(b.data() + offsetof(NetChunkHeader, seq), 8);
  h.total = wire::get_le(b.data() + offsetof(NetChunkHeader, total), 8);
  h.offset = wire::get_le(b.data() + offsetof(NetChunkHeader, offset), 8);
  return h.magic == net_chunk_magic;
}

/// A forwarded topic publication between leaders: origin node (u32), posted-to-descendants
/// (u8), a zero byte, topic length (u16), the topic, then the payload. Little endian.
inline constexpr std::size_t net_topic_header_bytes = 8;

/// Ring payloads of topic messages in a multi-host job start with the publishing host's node
/// id (u32 little endian), so a leader forwards only its own host's messages (never loops).
inline constexpr std::size_t topic_origin_bytes = 4;

} // namespace camure::collectives
