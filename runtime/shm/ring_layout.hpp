// The RMP ring's shared-memory layout, declared once: control lines, participant slots, records.
//
// Segment layout (all offsets from the segment base, host byte order, never leaves the host):
//   0      SegmentHeader (64)            magic "CAMRMP", version kRingLayoutVersion
//   64     RingConfig (64)               immutable after READY
//   128    RobustMutex writer_lock (64)  serialises writers
//   192    ReserveLine (64)              reserve mark + commit intent (writers only)
//   256    CommitLine (64)               commit mark, head sequence, pair generation (hot, read by readers)
//   320    WaitCell data_cell (64)       readers sleep here
//   384    WaitCell space_cell (64)      writers blocked by backpressure sleep here
//   448    CounterLine (64)              statistics and rarely changing counts
//   512    ParticipantSlot[max_participants] (64 each)
//   data_offset (4096-aligned)  ring bytes [capacity], a power of two
//
// Positions are monotonic 64-bit byte counts; ring index = position & (capacity - 1).
// A record is RecordHeader (16) + payload padded to 8 bytes, and may wrap around the end.
#pragma once

#include "runtime/shm/robust_mutex.hpp"
#include "runtime/shm/segment.hpp"
#include "runtime/shm/wait.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace camure::shm::ring {

inline constexpr std::uint64_t kRingMagic = 0x01504d524d4143ull; // "CAMRMP\x01" little-endian
inline constexpr std::uint32_t kRingLayoutVersion = 1;
inline constexpr std::uint64_t kMinCapacity = 4096;
inline constexpr std::uint64_t kMaxCapacity = std::uint64_t{1} << 31; // record lengths are 32-bit
inline constexpr std::uint32_t kMaxParticipants = 4096;

/// Record kinds. The high half is a tag so stray bytes are unlikely to pass as a header.
inline constexpr std::uint32_t kKindMessage = 0x524d0001u; ///< a message; seq = its sequence number
inline constexpr std::uint32_t kKindSkip = 0x524d0002u;    ///< dead writer's region; seq = next message's

/// Header of every record in the ring.
struct RecordHeader {
  std::uint32_t length; ///< payload bytes (message) or skipped payload bytes (skip)
  std::uint32_t kind;   ///< kKindMessage or kKindSkip
  std::uint64_t seq;    ///< message sequence number (see kinds)
};
static_assert(sizeof(RecordHeader) == 16);
static_assert(offsetof(RecordHeader, length) == 0);
static_assert(offsetof(RecordHeader, kind) == 4);
static_assert(offsetof(RecordHeader, seq) == 8);

inline constexpr std::uint64_t kRecordHeaderBytes = sizeof(RecordHeader);

/// Bytes a record with `length` payload bytes occupies in the ring.
constexpr std::uint64_t record_bytes(std::uint64_t length) noexcept {
  return kRecordHeaderBytes + ((length + 7) & ~std::uint64_t{7});
}

/// Immutable ring parameters (written by the creator before READY).
struct RingConfig {
  std::uint64_t capacity;          ///< ring bytes, power of two
  std::uint64_t data_offset;       ///< offset of ring byte 0 from the segment base
  std::uint64_t slots_offset;      ///< offset of ParticipantSlot[0]
  std::uint32_t max_participants;  ///< number of slots
  std::uint32_t backpressure;      ///< camure::rmp::Backpressure
  std::uint64_t block_timeout_ns;  ///< for Backpressure::block
  std::uint32_t notify_group;      ///< IPv4 group in network byte order, 0 = notification off
  std::uint16_t notify_port;       ///< UDP port (host byte order)
  std::uint16_t reserved0;
  std::uint8_t reserved[16];
};
static_assert(sizeof(RingConfig) == 64);
static_assert(offsetof(RingConfig, capacity) == 0);
static_assert(offsetof(RingConfig, data_offset) == 8);
static_assert(offsetof(RingConfig, slots_offset) == 16);
static_assert(offsetof(RingConfig, max_participants) == 24);
static_assert(offsetof(RingConfig, backpressure) == 28);
static_assert(offsetof(RingConfig, block_timeout_ns) == 32);
static_assert(offsetof(RingConfig, notify_group) == 40);
static_assert(offsetof(RingConfig, notify_port) == 44);

/// Written by the lock holder only. reserve is read by readers to validate their copies.
struct alignas(64) ReserveLine {
  std::atomic<std::uint64_t> reserve; ///< every byte below it may be being written
  std::uint64_t intent_commit;        ///< commit mark the current batch will publish
  std::uint64_t intent_seq;           ///< head sequence after the current batch
  std::uint64_t intent_base_seq;      ///< head sequence before the current batch
  std::uint8_t reserved[32];
};
static_assert(sizeof(ReserveLine) == 64);

/// commit and head_seq form a pair published under a generation seqlock (gen odd = changing).
struct alignas(64) CommitLine {
  std::atomic<std::uint64_t> commit;   ///< every record below it is complete
  std::atomic<std::uint64_t> head_seq; ///< sequence number of the next message at `commit`
  std::atomic<std::uint32_t> gen;      ///< pair generation; odd while a writer updates the pair
  std::uint8_t reserved[44];
};
static_assert(sizeof(CommitLine) == 64);

struct alignas(64) CounterLine {
  std::atomic<std::uint64_t> repairs;          ///< dead-writer repairs performed
  std::atomic<std::uint32_t> notify_listeners; ///< readers that asked for a notify fd
  std::atomic<std::uint32_t> pressure_writers; ///< writers whose policy tracks readers
  std::atomic<std::uint32_t> slot_high;        ///< 1 + highest slot index ever claimed
  std::uint8_t reserved[44];
};
static_assert(sizeof(CounterLine) == 64);

/// Participant kinds in ParticipantSlot::kind.
inline constexpr std::uint32_t kSlotFree = 0;
inline constexpr std::uint32_t kSlotReader = 1;
inline constexpr std::uint32_t kSlotWriter = 2;

/// One reader or writer. Liveness is an OFD byte-range lock on the segment file at
/// byte slots_offset + index * 64, held by the participant's own open file description:
/// the kernel drops it when the process dies, so there is no pid-reuse ambiguity.
struct alignas(64) ParticipantSlot {
  std::atomic<std::uint64_t> position; ///< reader: next byte position it will read
  std::atomic<std::uint32_t> kind;     ///< kSlotFree / kSlotReader / kSlotWriter
  std::int32_t pid;                    ///< informational (camure-shm list)
  std::atomic<std::uint32_t> sleeping; ///< reader is registered in data_cell.sleepers
  std::atomic<std::uint32_t> notify;   ///< reader is counted in notify_listeners
  std::uint8_t reserved[40];
};
static_assert(sizeof(ParticipantSlot) == 64);

/// The fixed control block that follows the segment header.
struct RingControl {
  RingConfig config;
  RobustMutex writer_lock;
  ReserveLine reserve;
  CommitLine commit;
  WaitCell data_cell;
  WaitCell space_cell;
  CounterLine counters;
};
static_assert(sizeof(RingControl) == 448);
static_assert(offsetof(RingControl, config) == 0);
static_assert(offsetof(RingControl, writer_lock) == 64);
static_assert(offsetof(RingControl, reserve) == 128);
static_assert(offsetof(RingControl, commit) == 192);
static_assert(offsetof(RingControl, data_cell) == 256);
static_assert(offsetof(RingControl, space_cell) == 320);
static_assert(offsetof(RingControl, counters) == 384);

inline constexpr std::uint64_t kControlOffset = sizeof(SegmentHeader);
inline constexpr std::uint64_t kSlotsOffset = kControlOffset + sizeof(RingControl);
static_assert(kSlotsOffset == 512);

/// Where the ring data starts for a given participant count (4096-aligned).
constexpr std::uint64_t data_offset_for(std::uint32_t participants) noexcept {
  return (kSlotsOffset + std::uint64_t{participants} * sizeof(ParticipantSlot) + 4095) & ~std::uint64_t{4095};
}
/// Total segment size for a ring.
constexpr std::uint64_t segment_size_for(std::uint64_t capacity, std::uint32_t participants) noexcept {
  return data_offset_for(participants) + capacity;
}

} // namespace camure::shm::ring
