// The host bcast's per-bcast cells: small payloads inline (one copy each side), large ones announced.
#pragma once

#include "collectives/job_segment.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>

namespace camure::collectives {

/// Every bcast of the host (with more than one local rank) goes through one cell of the job
/// segment's small-bcast region: bcast number `seq` (from 1, counted alike by every local rank,
/// because every rank makes the same sequence of bcast calls) uses cell seq % small_bcast_cells.
///
/// - A bcast of at most small_bcast_max bytes travels in the cell itself: the root copies the
///   payload in and stores seq (release); each reader waits for seq (acquire), checks the size
///   and the root, copies the payload out and stores its done counter. No lock, no header
///   parsing, no syscall unless somebody sleeps (shm::WaitCell's sleepers word).
/// - A larger bcast's cell only announces it (size and root); the payload follows in
///   the RMP ring. So a rank that asks for a different size than the root learns it from the
///   cell (invalid_argument) whichever of the two paths either side took; it never waits on the
///   other path, never gets wrong data.
///
/// Reuse: the root of bcast seq writes its cell only once every other local rank's done
/// counter is >= seq - small_bcast_cells (the previous user of the cell). It checks those
/// counters lazily: it remembers the lowest one it saw and looks again only when that is not
/// enough, so a root that is not more than a few cells ahead reads no reader's line at all.
/// A root whose cell is still busy waits (JobSegment::await on `freed`: spin or yield, then
/// futex) with the usual liveness checks, so a dead reader gives peer_lost, as does a dead root
/// to its waiting readers.
///
/// Not thread-safe; one per rank. Errors leave the host's collectives to the caller to mark
/// broken (ShmBcast::run does).
class SmallBcast {
public:
  explicit SmallBcast(JobSegment &seg) noexcept : seg_(seg) {}

  /// True if a bcast of this size travels inline in its cell.
  static constexpr bool fits(std::size_t bytes) noexcept { return bytes <= small_bcast_max; }

  /// Root side of bcast seq: waits until its cell is free, then publishes data (inline if it
  /// fits, else only the size) with root_rank. Errors: peer_lost, timeout (a reader
  /// stopped taking cells), or the error that broke the job.
  std::error_code post(std::uint64_t seq, std::span<const std::byte> data, std::uint32_t root_rank,
                       JobSegment::clock::time_point deadline, std::string &detail) noexcept;

  /// Reader side of bcast seq: waits for its cell, checks that it holds buf.size() bytes from
  /// root_rank, copies an inline payload into buf, and marks the cell done for this rank.
  /// Errors: invalid_argument (the root's size or root differs), protocol_error (the cell does
  /// not hold what the size says), peer_lost, timeout, or the error that broke the job.
  std::error_code take(std::uint64_t seq, std::span<std::byte> buf, std::uint32_t root_rank,
                       JobSegment::clock::time_point deadline, std::string &detail) noexcept;

private:
  bool cell_free(std::uint64_t seq) noexcept;
  void set_done(std::uint64_t seq) noexcept;

  JobSegment &seg_;
  std::uint64_t free_upto_ = 0; ///< every other rank's done counter was >= this when last looked at
};

} // namespace camure::collectives
