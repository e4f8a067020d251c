// Byte layout of a bcast chunk message in the host's RMP ring, and stream-size accounting.
#pragma once

#include <cstddef>
#include <cstdint>

namespace camure::collectives {

/// Leads every bcast chunk message; the payload follows. Host byte order (never leaves the host).
struct BcastChunkHeader {
  std::uint64_t epoch;       ///< bcast number on this host, from 1; all ranks count alike
  std::uint64_t total_bytes; ///< size of the whole bcast (every rank checks it against its own)
  std::uint64_t offset;      ///< where this chunk's payload goes in the buffer
  std::uint32_t root;        ///< the root's rank
  std::uint32_t magic;       ///< bcast_chunk_magic
};
static_assert(sizeof(BcastChunkHeader) == 32);
static_assert(offsetof(BcastChunkHeader, epoch) == 0);
static_assert(offsetof(BcastChunkHeader, total_bytes) == 8);
static_assert(offsetof(BcastChunkHeader, offset) == 16);
static_assert(offsetof(BcastChunkHeader, root) == 24);
static_assert(offsetof(BcastChunkHeader, magic) == 28);

inline constexpr std::uint32_t bcast_chunk_magic = 0x54534342u; // "BCST"

/// Ring bytes one chunk message occupies: the ring's 16-byte record header plus the message
/// rounded up to 8 bytes. Every rank computes the same stream positions from the same sizes;
/// flow control keeps a margin so the ring's exact accounting never matters for safety.
constexpr std::uint64_t bcast_record_bytes(std::uint64_t payload) {
  return 16 + ((sizeof(BcastChunkHeader) + payload + 7) / 8) * 8;
}

/// Chunking of a bcast: a small first chunk (read through a bounce buffer, since there is no
/// room in front of it for the header), then chunks read in place. Their size grows with the
/// message (about an eighth of it, a power of two between `min_chunk` and `chunk`): a 64 KiB
/// bcast still pipelines (the readers copy one chunk while the root writes the next) and a
/// 64 MiB one does not pay per-chunk costs a thousand times. Every rank derives the same
/// chunking from the same total.
struct BcastChunking {
  std::uint64_t first = 4096;
  std::uint64_t min_chunk = 16 * 1024;
  std::uint64_t chunk = 256 * 1024; ///< largest chunk
  /// Size of the chunks after the first one for a total-byte bcast.
  constexpr std::uint64_t chunk_for(std::uint64_t total) const {
    std::uint64_t c = min_chunk;
    while (c < chunk && c * 8 < total) c *= 2;
    return c < chunk ? c : chunk;
  }
  /// Length of the chunk starting at offset of a total-byte bcast.
  constexpr std::uint64_t length_at(std::uint64_t offset, std::uint64_t total) const {
    const std::uint64_t left = total - offset;
    const std::uint64_t cap = offset == 0 ? first : chunk_for(total);
    return left < cap ? left : cap;
  }
};

} // namespace camure::collectives
