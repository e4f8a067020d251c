// Byte layout of the per-host job segment: control word, barrier, bcast flow control, rank slots,
// small-bcast cells.
#pragma once

#include "runtime/shm/segment.hpp"
#include "runtime/shm/wait.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace camure::collectives {

/// "CAMJOB" + layout version 1 in the last byte; host byte order (never leaves the host).
inline constexpr std::uint64_t job_magic = 0x01'00'42'4F'4A'4D'41'43ull;
inline constexpr std::uint32_t job_layout_version = 3; // 3: small-bcast region appended

/// Job-wide control, written by anyone who finds the job broken.
struct alignas(64) JobControl {
  std::uint32_t local_size;          ///< ranks on this host (set by the creator)
  std::atomic<std::uint32_t> broken; ///< 0, or the camure::errc that broke the collectives
  std::atomic<std::int32_t> broken_by; ///< local rank that was found dead (or -1)
  std::uint32_t barrier_release;       ///< BarrierRelease of the one-host barrier (set by the creator)
  std::uint32_t reserved[12];
};
static_assert(sizeof(JobControl) == 64);

/// Who ends a one-host barrier round (a multi-host job's leader always does, see ShmBarrier).
enum class BarrierRelease : std::uint32_t {
  last_arriver = 0, ///< the last rank to arrive bumps the generation (fewest process switches)
  leader = 1,       ///< local rank 0 does, once it sees every arrival: it leaves first
};

/// "last" or "leader" (the values of CAMURE_BARRIER_RELEASE); "?" for anything else.
constexpr const char *barrier_release_name(BarrierRelease r) noexcept {
  switch (r) {
  case BarrierRelease::last_arriver: return "last";
  case BarrierRelease::leader: return "leader";
  }
  return "?";
}

/// Generation barrier: arrivals on one line, the release word on another, sleepers on a third.
struct alignas(64) BarrierBlock {
  alignas(64) std::atomic<std::uint32_t> arrived;    ///< ranks arrived in the current round
  alignas(64) std::atomic<std::uint32_t> generation; ///< bumped by the last arriver
  shm::WaitCell release;                             ///< waiters for generation
};
static_assert(sizeof(BarrierBlock) == 192);
static_assert(offsetof(BarrierBlock, generation) == 64);
static_assert(offsetof(BarrierBlock, release) == 128);

/// Bcast flow control: the root waits on `consumed` for the slowest reader.
struct alignas(64) BcastBlock {
  shm::WaitCell consumed; ///< readers notify after advancing RankSlot::bcast_consumed
};
static_assert(sizeof(BcastBlock) == 64);

/// Values of RankSlot::state.
enum class SlotState : std::uint32_t { empty = 0, attached = 1, left = 2 };

/// One per local rank, one cache line each (the consumed counter is written by its owner only).
struct alignas(64) RankSlot {
  std::atomic<std::int32_t> pid;            ///< the rank's process
  std::atomic<std::uint32_t> state;         ///< SlotState
  std::atomic<std::uint64_t> start_time;    ///< /proc start time of pid (pid-reuse check)
  std::atomic<std::uint64_t> bcast_consumed; ///< bcast stream bytes this rank has consumed
  std::atomic<std::uint64_t> bcast_rearmed;  ///< last bcast epoch + 1 for which this rank's reader is current
  std::atomic<std::int64_t> rank;           ///< the rank's job-wide rank (set before the init barrier)
  std::uint64_t reserved[3];
};
static_assert(sizeof(RankSlot) == 64);
static_assert(offsetof(RankSlot, rank) == 32);

/// The cpus a rank may run on (its affinity; camurerun pins ranks), bit i = cpu i. The union
/// over the host's ranks is what the job has to run on: a rank pinned to one core must not
/// conclude that the host is oversubscribed.
struct CpuMaskSlot {
  std::uint64_t bits[16]; ///< cpus 0 .. 1023
};
static_assert(sizeof(CpuMaskSlot) == 128);

/// Largest bcast whose payload travels inline in a small-bcast cell (larger ones use the ring).
/// At most the ring path's first chunk (BcastChunking::first), so a relay sees the same chunks.
inline constexpr std::uint32_t small_bcast_max = 4096;
/// Cells of the small-bcast region: how far a root may run ahead of the slowest reader.
inline constexpr std::uint32_t small_bcast_cells = 256;

/// Waiting for the small-bcast cells (see SmallBcast): two cells on their own lines.
struct alignas(64) SmallBcastBlock {
  shm::WaitCell posted; ///< readers wait here for their cell; the root notifies after posting
  shm::WaitCell freed;  ///< a root waits here for a cell's readers; readers notify when done
};
static_assert(sizeof(SmallBcastBlock) == 128);
static_assert(offsetof(SmallBcastBlock, freed) == 64);

/// One bcast's cell. The header and the first 32 payload bytes share a cache line, so an 8-byte
/// bcast costs a reader one line. `seq` is stored last (release) and read first (acquire).
struct alignas(64) SmallBcastCell {
  std::atomic<std::uint64_t> seq; ///< number of the bcast this cell holds (0 = none yet)
  std::uint64_t bytes;            ///< that bcast's size (every reader checks it against its own)
  std::uint32_t root;             ///< its root's job-wide rank
  std::byte reserved[12];         ///< pads the header to 32 bytes (the path follows from `bytes`)
  std::byte payload[small_bcast_max];
};
static_assert(sizeof(SmallBcastCell) == 4160);
static_assert(offsetof(SmallBcastCell, bytes) == 8);
static_assert(offsetof(SmallBcastCell, root) == 16);
static_assert(offsetof(SmallBcastCell, payload) == 32);

/// One per local rank, one line each, written by its owner only: the last bcast it is done with.
struct alignas(64) SmallDoneSlot {
  std::atomic<std::uint64_t> done;
  std::uint64_t reserved[7];
};
static_assert(sizeof(SmallDoneSlot) == 64);

/// Offsets inside the segment (after the 64-byte shm::SegmentHeader).
struct JobLayout {
  static constexpr std::size_t control = 64;
  static constexpr std::size_t barrier = control + sizeof(JobControl);
  static constexpr std::size_t bcast = barrier + sizeof(BarrierBlock);
  static constexpr std::size_t slots = bcast + sizeof(BcastBlock);
  static constexpr std::size_t cpu_masks(std::uint32_t local_size) { return slots + local_size * sizeof(RankSlot); }
  /// End of the layout-2 part (control .. cpu masks); the small-bcast region starts here.
  static constexpr std::size_t size_for(std::uint32_t local_size) {
    return cpu_masks(local_size) + local_size * sizeof(CpuMaskSlot);
  }
  static constexpr std::size_t small_bcast(std::uint32_t local_size) { return size_for(local_size); }
  static constexpr std::size_t small_cells(std::uint32_t local_size) {
    return small_bcast(local_size) + sizeof(SmallBcastBlock);
  }
  static constexpr std::size_t small_done(std::uint32_t local_size) {
    return small_cells(local_size) + small_bcast_cells * sizeof(SmallBcastCell);
  }
  /// Size of the whole segment.
  static constexpr std::size_t total_for(std::uint32_t local_size) {
    return small_done(local_size) + local_size * sizeof(SmallDoneSlot);
  }
};
static_assert(sizeof(shm::SegmentHeader) == 64);
static_assert(JobLayout::barrier % 64 == 0 && JobLayout::bcast % 64 == 0 && JobLayout::slots % 64 == 0);
static_assert(JobLayout::slots == 384);
static_assert(JobLayout::small_bcast(1) % 64 == 0 && JobLayout::small_cells(1) % 64 == 0 &&
              JobLayout::small_done(1) % 64 == 0);
static_assert(JobLayout::small_bcast(16) == 384 + 16 * 64 + 16 * 128);
static_assert(JobLayout::total_for(16) == JobLayout::small_bcast(16) + 128 + 256 * 4160 + 16 * 64);

} // namespace camure::collectives
