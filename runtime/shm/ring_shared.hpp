// Process-local view of a mapped RMP ring, plus the operations writers and readers share:
// the (commit, head_seq) pair, dead-writer repair, and participant slots with OFD-lock liveness.
#pragma once

#include "runtime/shm/ring_copy.hpp"
#include "runtime/shm/ring_layout.hpp"
#include "runtime/shm/segment.hpp"

#include <camure/rmp.hpp>

#include <cstdint>
#include <string>
#include <system_error>

namespace camure::rmp::detail {

/// The mapping of one ring in this process, shared by its Ring handles, writers and readers.
struct RingShared {
  shm::Segment segment;
  shm::ring::RingControl *ctl = nullptr;
  shm::ring::ParticipantSlot *slots = nullptr;
  shm::ring::RingBytes bytes;
  std::uint32_t max_participants = 0;

  /// Validates the control block of a freshly opened segment and fills the fields above.
  /// Errors: protocol_error when the stored configuration is inconsistent with the segment.
  static std::error_code attach(RingShared &out, shm::Segment seg);
};

/// A consistent (commit, head_seq) pair.
struct HeadPair {
  std::uint64_t commit;
  std::uint64_t head_seq;
};

/// Reads the (commit, head_seq) pair under its generation seqlock. If the generation stays odd
/// (a writer died inside the few instructions that publish the pair) falls back to taking the
/// writer lock, which repairs the ring.
HeadPair read_head(RingShared &r) noexcept;

/// Takes the writer lock; if the previous owner died, repairs the ring first (turns a torn
/// batch into a skip record, restores the pair) and marks the lock consistent.
/// Returns false if the lock is unusable (ENOTRECOVERABLE); the ring is then broken.
bool lock_writer(RingShared &r) noexcept;
void unlock_writer(RingShared &r) noexcept;

/// Repairs the ring state; caller holds the writer lock. Idempotent and cheap when clean.
/// Returns true if anything had to be repaired.
bool repair_locked(RingShared &r) noexcept;

/// A claimed participant slot: its index and the private file description holding its OFD lock.
struct SlotClaim {
  std::int32_t index = -1;
  int lock_fd = -1;
};

/// Claims a free (or dead participant's) slot for `kind`. Errors: busy, system_error.
SlotClaim claim_slot(RingShared &r, std::uint32_t kind, std::error_code &ec) noexcept;
/// Releases a slot claimed by this process.
void release_slot(RingShared &r, SlotClaim &claim) noexcept;
/// True while the slot's owner process is alive (its OFD lock is held).
bool slot_alive(const RingShared &r, std::uint32_t index) noexcept;
/// If the slot's owner is dead, frees the slot (using `lock_fd`, a private description of the
/// caller) and returns true.
bool reclaim_if_dead(RingShared &r, std::uint32_t index, int lock_fd) noexcept;

} // namespace camure::rmp::detail
