// Byte layout of the per-host job segment: control word, barrier, bcast flow control, rank slots.
#pragma once

#include "runtime/shm/segment.hpp"
#include "runtime/shm/wait.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace camure::collectives {

/// "CAMJOB" + layout version 1 in the last byte; host byte order (never leaves the host).
inline constexpr std::uint64_t job_magic = 0x01'00'42'4F'4A'4D'41'43ull;
inline constexpr std::uint32_t job_layout_version = 2;

/// Job-wide control, written by anyone who finds the job broken.
struct alignas(64) JobControl {
  std::uint32_t local_size;          ///< ranks on this host (set by the creator)
  std::atomic<std::uint32_t> broken; ///< 0, or the camure::errc that broke the collectives
  std::atomic<std::int32_t> broken_by; ///< local rank that was found dead (or -1)
  std::uint32_t reserved[13];
};
static_assert(sizeof(JobControl) == 64);

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

/// Offsets inside the segment (after the 64-byte shm::SegmentHeader).
struct JobLayout {
  static constexpr std::size_t control = 64;
  static constexpr std::size_t barrier = control + sizeof(JobControl);
  static constexpr std::size_t bcast = barrier + sizeof(BarrierBlock);
  static constexpr std::size_t slots = bcast + sizeof(BcastBlock);
  static constexpr std::size_t cpu_masks(std::uint32_t local_size) { return slots + local_size * sizeof(RankSlot); }
  static constexpr std::size_t size_for(std::uint32_t local_size) {
    return cpu_masks(local_size) + local_size * sizeof(CpuMaskSlot);
  }
};
static_assert(sizeof(shm::SegmentHeader) == 64);
static_assert(JobLayout::barrier % 64 == 0 && JobLayout::bcast % 64 == 0 && JobLayout::slots % 64 == 0);
static_assert(JobLayout::slots == 384);

} // namespace camure::collectives
