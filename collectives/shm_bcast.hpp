// The host bcast: small payloads through per-bcast cells, larger ones as chunks through the RMP ring.
#pragma once

#include "collectives/bcast_wire.hpp"
#include "collectives/job_segment.hpp"
#include "collectives/small_bcast.hpp"

#include <camure/rmp.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace camure::collectives {

/// Tuning of the bcast ring (env CAMURE_BCAST_RING_BYTES overrides the capacity).
struct BcastOptions {
  std::size_t ring_bytes = std::size_t{4} << 20; ///< power of two (CAMURE_BCAST_RING_BYTES)
  std::size_t chunk_bytes = 256 * 1024;          ///< largest pipelining unit, <= ring/8 (CAMURE_BCAST_CHUNK_BYTES)
};

/// The node leader's part of a bcast that spans hosts. At most one of the two is set.
struct BcastRelay {
  /// Non-root host's leader (the local root): fills chunk (= buf[offset, +len)) from the
  /// other hosts before it goes into the ring.
  std::function<std::error_code(std::uint64_t offset, std::span<std::byte> chunk, std::string &detail)> source;
  /// Root host's leader: called with every chunk once this rank has it (written or read), to
  /// forward it to the other hosts while the host's ranks go on with the next one.
  std::function<std::error_code(std::uint64_t offset, std::span<const std::byte> chunk, std::string &detail)> sink;
};

/// Broadcast within the host: every bcast has a cell (SmallBcast) numbered by the epoch below;
/// up to small_bcast_max bytes travel in the cell, larger bcasts are announced there and go
/// through one RMP ring. Every rank picks the path by the size it asked for; the cell's size
/// check turns any disagreement into invalid_argument.
///
/// Ring protocol: every rank counts bcasts (epoch) and "stream bytes" (the ring bytes of all chunk
/// messages) alike, because every rank sees the same sequence of bcast sizes. Readers publish
/// their stream position (RankSlot::bcast_consumed); the root writes a chunk only when every
/// reader is less than half a ring behind, so no reader is ever overrun (and if the ring did
/// overrun one anyway, the reader reports messages_lost, never wrong data). The root does not
/// read its own chunks: its reader is stale afterwards, so when the ring's root changes, the
/// previous ring root re-creates its reader at the head first and the new root waits for that
/// (one word). Bcasts through cells do not touch the ring, its stream or its root.
class ShmBcast {
public:
  /// Creates or opens the ring "<prefix>-bcast" and attaches a reader (before the init
  /// barrier, so it sees every chunk written after it).
  static std::unique_ptr<ShmBcast> create(JobSegment &seg, const std::string &prefix, const BcastOptions &options,
                                          JobSegment::clock::time_point deadline, std::error_code &ec,
                                          std::string &detail);

  /// Broadcasts buf from local rank root_local (whose rank is root_rank). Every local rank
  /// calls it with the same size and root. Errors: invalid_argument (size differs from the
  /// root's), messages_lost/protocol_error (should not happen), peer_lost, timeout.
  /// relay: the leader's inter-host part (nullptr on one host and on non-leaders).
  std::error_code run(std::span<std::byte> buf, int root_local, int root_rank, JobSegment::clock::time_point deadline,
                      std::string &detail, const BcastRelay *relay = nullptr) noexcept;

  /// Removes the ring's name (mappings stay valid).
  void unlink_name() noexcept;

private:
  ShmBcast(JobSegment &seg) : seg_(seg), cells_(seg) {}
  std::error_code write_all(std::span<std::byte> buf, int root_rank, JobSegment::clock::time_point deadline,
                            std::string &detail, const BcastRelay *relay) noexcept;
  std::error_code read_all(std::span<std::byte> buf, int root_rank, JobSegment::clock::time_point deadline,
                           std::string &detail, const BcastRelay *relay) noexcept;
  std::error_code relay_only(std::span<std::byte> buf, std::string &detail, const BcastRelay &relay) noexcept;
  std::error_code read_chunk(std::span<std::byte> dest, JobSegment::clock::time_point deadline, std::size_t &got,
                             std::string &detail) noexcept;
  std::error_code wait_for_readers(std::uint64_t end, JobSegment::clock::time_point deadline,
                                   std::string &detail) noexcept;
  std::error_code rearm(std::string &detail) noexcept;
  std::error_code relay_chunks(std::span<std::byte> buf, bool source, std::string &detail,
                               const BcastRelay &relay) noexcept;

  JobSegment &seg_;
  rmp::Ring ring_;
  rmp::Writer writer_;
  rmp::Reader reader_;
  SmallBcast cells_;
  BcastChunking chunking_;
  std::uint64_t window_ = 0; ///< how far (stream bytes) the root may run ahead of the slowest reader
  std::uint64_t epoch_ = 0;  ///< bcasts done on this host (the cell number of the next one - 1)
  std::uint64_t stream_ = 0; ///< stream bytes of all chunks so far
  int ring_root_ = -1;       ///< local rank that rooted the previous bcast through the ring
  std::vector<std::byte> bounce_;
};

} // namespace camure::collectives
