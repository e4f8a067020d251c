// Shared ring operations: head pair seqlock, dead-writer repair, participant slots (OFD locks).
#include "runtime/shm/ring_shared.hpp"

#include "runtime/shm/fence.hpp"
#include "runtime/shm/wait.hpp"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

namespace camure::rmp::detail {

using namespace camure::shm::ring;

std::error_code RingShared::attach(RingShared &out, shm::Segment seg) {
  auto *ctl = reinterpret_cast<RingControl *>(seg.base() + kControlOffset);
  const RingConfig &c = ctl->config;
  const bool pow2 = c.capacity != 0 && (c.capacity & (c.capacity - 1)) == 0;
  if (!pow2 || c.capacity < kMinCapacity || c.capacity > kMaxCapacity || c.max_participants == 0 ||
      c.max_participants > kMaxParticipants || c.slots_offset != kSlotsOffset ||
      c.data_offset != data_offset_for(c.max_participants) ||
      seg.size() != segment_size_for(c.capacity, c.max_participants))
    return make_error_code(errc::protocol_error);
  out.ctl = ctl;
  out.slots = reinterpret_cast<ParticipantSlot *>(seg.base() + c.slots_offset);
  out.bytes = RingBytes{seg.base() + c.data_offset, c.capacity, c.capacity - 1};
  out.max_participants = c.max_participants;
  out.segment = std::move(seg);
  return {};
}

namespace {

// Publishes a new (commit, head_seq) pair under the generation seqlock. Lock holder only.
void publish_pair(CommitLine &cl, std::uint64_t commit, std::uint64_t head_seq) noexcept {
  const std::uint32_t g = cl.gen.load(std::memory_order_relaxed);
  const std::uint32_t odd = g | 1u;
  cl.gen.store(odd, std::memory_order_relaxed);
  shm::fence_release();
  cl.head_seq.store(head_seq, std::memory_order_relaxed);
  cl.commit.store(commit, std::memory_order_release);
  cl.gen.store(odd + 1, std::memory_order_release);
}

void clean_dead_slot(RingShared &r, ParticipantSlot &s) noexcept {
  const std::uint32_t kind = s.kind.load(std::memory_order_acquire);
  if (kind == kSlotReader) {
    if (s.sleeping.exchange(0, std::memory_order_acq_rel)) r.ctl->data_cell.sleepers.fetch_sub(1);
    if (s.notify.exchange(0, std::memory_order_acq_rel)) r.ctl->counters.notify_listeners.fetch_sub(1);
  } else if (kind == kSlotWriter) {
    if (s.notify.exchange(0, std::memory_order_acq_rel)) r.ctl->counters.pressure_writers.fetch_sub(1);
    if (s.sleeping.exchange(0, std::memory_order_acq_rel)) r.ctl->space_cell.sleepers.fetch_sub(1);
  }
  s.sleeping.store(0, std::memory_order_relaxed);
  s.notify.store(0, std::memory_order_relaxed);
  s.kind.store(kSlotFree, std::memory_order_release);
}

flock slot_lock(const RingShared &r, std::uint32_t index, short type) noexcept {
  flock fl{};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = static_cast<off_t>(r.ctl->config.slots_offset + std::uint64_t{index} * sizeof(ParticipantSlot));
  fl.l_len = 1;
  return fl;
}

} // namespace

bool repair_locked(RingShared &r) noexcept {
  RingControl &c = *r.ctl;
  const std::uint64_t commit = c.commit.commit.load(std::memory_order_relaxed);
  const std::uint64_t reserve = c.reserve.reserve.load(std::memory_order_relaxed);
  const std::uint32_t gen = c.commit.gen.load(std::memory_order_relaxed);
  if ((gen & 1u) == 0 && reserve == commit) return false;

  // A pair publication was interrupted: the intent says whether the commit went through.
  std::uint64_t head_seq = c.commit.head_seq.load(std::memory_order_relaxed);
  if (gen & 1u) head_seq = commit == c.reserve.intent_commit ? c.reserve.intent_seq : c.reserve.intent_base_seq;

  std::uint64_t new_commit = commit;
  if (reserve > commit && reserve - commit <= r.bytes.capacity && ((reserve - commit) & 7u) == 0 &&
      reserve - commit >= kRecordHeaderBytes) {
    // A batch was torn mid-copy: [commit, reserve) may hold anything. It becomes one skip record
    // that consumes no sequence number. reserve already covers it, so any reader still looking
    // at the old bytes there sees its copy invalidated.
    const RecordHeader skip{static_cast<std::uint32_t>(reserve - commit - kRecordHeaderBytes), kKindSkip, head_seq};
    copy_in(r.bytes, commit, &skip, sizeof skip);
    new_commit = reserve;
  } else if (reserve != commit) {
    // Impossible unless the segment was scribbled on: drop the reservation.
    c.reserve.reserve.store(commit, std::memory_order_relaxed);
  }
  c.reserve.intent_commit = new_commit;
  c.reserve.intent_seq = head_seq;
  c.reserve.intent_base_seq = head_seq;
  publish_pair(c.commit, new_commit, head_seq);
  c.counters.repairs.fetch_add(1, std::memory_order_relaxed);
  shm::notify(c.data_cell);
  return true;
}

bool lock_writer(RingShared &r) noexcept {
  const shm::LockResult lr = r.ctl->writer_lock.lock();
  if (lr == shm::LockResult::failed) return false;
  // Repair on owner death, and defensively whenever the state is not clean (cheap check).
  repair_locked(r);
  if (lr == shm::LockResult::owner_died) r.ctl->writer_lock.mark_consistent();
  return true;
}

void unlock_writer(RingShared &r) noexcept { r.ctl->writer_lock.unlock(); }

HeadPair read_head(RingShared &r) noexcept {
  CommitLine &cl = r.ctl->commit;
  for (int i = 0; i < 4096; ++i) {
    const std::uint32_t g1 = cl.gen.load(std::memory_order_acquire);
    if ((g1 & 1u) == 0) {
      const std::uint64_t seq = cl.head_seq.load(std::memory_order_relaxed);
      const std::uint64_t commit = cl.commit.load(std::memory_order_relaxed);
      shm::fence_acquire();
      if (cl.gen.load(std::memory_order_relaxed) == g1) return {commit, seq};
    }
    shm::detail::cpu_relax();
  }
  // The generation stayed odd: a writer is preempted or died inside the publication.
  // Taking the lock waits for the former and repairs the latter.
  if (lock_writer(r)) {
    const HeadPair p{cl.commit.load(std::memory_order_relaxed), cl.head_seq.load(std::memory_order_relaxed)};
    unlock_writer(r);
    return p;
  }
  return {cl.commit.load(std::memory_order_acquire), cl.head_seq.load(std::memory_order_acquire)};
}

SlotClaim claim_slot(RingShared &r, std::uint32_t kind, std::error_code &ec) noexcept {
  ec.clear();
  SlotClaim claim;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/fd/%d", r.segment.fd());
  // A private open file description: its OFD locks belong to this participant alone and vanish
  // when the process dies, whatever thread created or destroys the participant.
  const int fd = ::open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    ec = make_error_code(errc::system_error);
    return claim;
  }
  for (std::uint32_t i = 0; i < r.max_participants; ++i) {
    flock fl = slot_lock(r, i, F_WRLCK);
    if (::fcntl(fd, F_OFD_SETLK, &fl) != 0) {
      if (errno == EAGAIN || errno == EACCES) continue;
      ::close(fd);
      ec = make_error_code(errc::system_error);
      return claim;
    }
    ParticipantSlot &s = r.slots[i];
    if (s.kind.load(std::memory_order_acquire) != kSlotFree) clean_dead_slot(r, s);
    s.pid = static_cast<std::int32_t>(::getpid());
    s.position.store(0, std::memory_order_relaxed);
    s.sleeping.store(0, std::memory_order_relaxed);
    s.notify.store(0, std::memory_order_relaxed);
    if (kind == kSlotWriter) s.kind.store(kSlotWriter, std::memory_order_release);
    // Readers publish their kind only once their position is set (under the writer lock).
    std::uint32_t high = r.ctl->counters.slot_high.load(std::memory_order_relaxed);
    while (high < i + 1 && !r.ctl->counters.slot_high.compare_exchange_weak(high, i + 1)) {
    }
    claim.index = static_cast<std::int32_t>(i);
    claim.lock_fd = fd;
    return claim;
  }
  ::close(fd);
  ec = make_error_code(errc::busy);
  return claim;
}

void release_slot(RingShared &r, SlotClaim &claim) noexcept {
  if (claim.index < 0) return;
  clean_dead_slot(r, r.slots[claim.index]); // same bookkeeping as for a dead participant
  ::close(claim.lock_fd);                    // drops the OFD lock
  claim = SlotClaim{};
}

bool slot_alive(const RingShared &r, std::uint32_t index) noexcept {
  flock fl = slot_lock(r, index, F_WRLCK);
  if (::fcntl(r.segment.fd(), F_OFD_GETLK, &fl) != 0) return true; // unknown: assume alive
  return fl.l_type != F_UNLCK;
}

bool reclaim_if_dead(RingShared &r, std::uint32_t index, int lock_fd) noexcept {
  flock fl = slot_lock(r, index, F_WRLCK);
  if (::fcntl(lock_fd, F_OFD_SETLK, &fl) != 0) return false; // owner alive
  ParticipantSlot &s = r.slots[index];
  if (s.kind.load(std::memory_order_acquire) != kSlotFree) clean_dead_slot(r, s);
  flock un = slot_lock(r, index, F_UNLCK);
  ::fcntl(lock_fd, F_OFD_SETLK, &un);
  return true;
}

} // namespace camure::rmp::detail
