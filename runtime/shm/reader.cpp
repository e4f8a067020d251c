// camure::rmp::Reader: lock-free validated reads (copy, then check the reserve mark), exact loss
// reports on overrun, spin-then-futex blocking, optional UDP notification fd.
#include "runtime/shm/fence.hpp"
#include "runtime/shm/futex.hpp"
#include "runtime/shm/notify.hpp"
#include "runtime/shm/ring_shared.hpp"

#include <atomic>
#include <cstring>

namespace camure::rmp {

using namespace camure::shm::ring;
using detail::RingShared;

// Ring bytes copied per drain() call: large enough to amortise the validation, small enough to
// stay in L1/L2.
constexpr std::uint64_t kDrainChunk = 64 * 1024;

struct Reader::Impl {
  std::shared_ptr<RingShared> keep;
  RingShared *r = nullptr;
  RingControl *c = nullptr;
  RingBytes rb;
  ParticipantSlot *slot = nullptr;
  detail::SlotClaim claim;
  std::uint64_t pos = 0;      // next byte position to read (a record boundary)
  std::uint64_t commit = 0;   // last commit mark seen (reloaded only when pos catches up)
  std::uint64_t expected = 0; // sequence number of the next message
  std::uint64_t published = 0; // position last published in the slot
  shm::udp::Receiver rx;
  std::vector<std::byte> scratch; // drain()'s private copy
  std::atomic<bool> interrupted{false};

  // What a blocked read waits for: a new commit, or interrupt().
  bool wake_condition() const noexcept {
    return c->commit.commit.load(std::memory_order_acquire) != pos || interrupted.load(std::memory_order_acquire);
  }

  ~Impl() {
    if (r) detail::release_slot(*r, claim); // also gives back the notify/sleeper counts
  }

  // True if a writer may have modified ring bytes at or after `p` (the copy we made of them
  // may be torn). Must follow the copy with an acquire fence: if any copied byte came from a
  // write made after a writer's reserve store, the fence makes that reserve visible here.
  bool clobbered(std::uint64_t p) const noexcept {
    shm::fence_acquire();
    return c->reserve.reserve.load(std::memory_order_relaxed) > p + rb.capacity;
  }

  // The slot position only matters to writers with a blocking policy. Publishing it (and
  // waking them, which costs a full fence) per message would halve small-message throughput,
  // so it is published every 1/8 ring, and always before this reader waits or after it jumps.
  void publish_position() noexcept {
    published = pos;
    slot->position.store(pos, std::memory_order_release);
    if (c->counters.pressure_writers.load(std::memory_order_relaxed) != 0) shm::notify(c->space_cell);
  }
  void advanced() noexcept {
    if (pos - published >= (rb.capacity >> 3)) publish_position();
  }

  void jump_to_head(std::uint64_t &lost) noexcept {
    const detail::HeadPair h = detail::read_head(*r);
    lost = h.head_seq > expected ? h.head_seq - expected : 0;
    pos = commit = h.commit;
    expected = h.head_seq;
    publish_position();
  }

  ReadResult try_read(std::span<std::byte> buf) noexcept {
    for (;;) {
      if (pos == commit) {
        commit = c->commit.commit.load(std::memory_order_acquire);
        if (pos == commit) {
          if (published != pos) publish_position();
          return {ReadStatus::would_block, 0, 0, 0};
        }
      }
      RecordHeader h;
      copy_out(rb, pos, &h, sizeof h);
      if (clobbered(pos)) return overrun();
      // The header is now known to be the one a completed write left at pos: check it anyway.
      const std::uint64_t avail = commit - pos;
      if ((h.kind != kKindMessage && h.kind != kKindSkip) || h.length > rb.capacity - kRecordHeaderBytes ||
          record_bytes(h.length) > avail || h.seq != expected) {
        std::uint64_t lost = 0;
        jump_to_head(lost);
        return {ReadStatus::corrupt, 0, lost, 0};
      }
      const std::uint64_t rec = record_bytes(h.length);
      if (h.kind == kKindSkip) { // a dead writer's torn batch: skipped silently, no sequence
        pos += rec;
        advanced();
        continue;
      }
      if (h.length > buf.size()) return {ReadStatus::truncated, h.length, 0, h.seq};
      copy_out(rb, pos + kRecordHeaderBytes, buf.data(), h.length);
      if (clobbered(pos)) return overrun();
      pos += rec;
      ++expected;
      advanced();
      return {ReadStatus::ok, h.length, 0, h.seq};
    }
  }

  // Batch read: one copy of [pos, end) into scratch, one validation, then parse the stable copy.
  DrainResult drain(Sink sink, void *ctx, std::size_t max_messages) {
    if (pos == commit) {
      commit = c->commit.commit.load(std::memory_order_acquire);
      if (pos == commit) {
        if (published != pos) publish_position();
        return {ReadStatus::would_block, 0, 0};
      }
    }
    if (scratch.empty()) scratch.resize(std::min<std::uint64_t>(rb.capacity, kDrainChunk));
    const std::uint64_t len = std::min<std::uint64_t>(commit - pos, scratch.size());
    copy_out(rb, pos, scratch.data(), len);
    if (clobbered(pos)) {
      const ReadResult o = overrun();
      return {o.status, 0, o.lost};
    }
    // Every byte of the copy is now known to be what completed writes left there.
    std::uint64_t off = 0;
    std::size_t n = 0;
    while (n < max_messages && off + kRecordHeaderBytes <= len) {
      RecordHeader h;
      std::memcpy(&h, scratch.data() + off, sizeof h);
      if ((h.kind != kKindMessage && h.kind != kKindSkip) || h.length > rb.capacity - kRecordHeaderBytes ||
          record_bytes(h.length) > commit - pos - off || h.seq != expected) {
        if (n > 0) break; // deliver what came before; the next call reports the bad record
        std::uint64_t lost = 0;
        jump_to_head(lost);
        return {ReadStatus::corrupt, 0, lost};
      }
      const std::uint64_t rec = record_bytes(h.length);
      if (off + rec > len) break; // continues beyond the copied chunk
      if (h.kind == kKindMessage) {
        sink(ctx, std::span<const std::byte>(scratch.data() + off + kRecordHeaderBytes, h.length), h.seq);
        ++expected;
        ++n;
      }
      off += rec;
    }
    if (off == 0 && n < max_messages) {
      // The next record alone is bigger than the chunk: grow the private buffer to hold it.
      RecordHeader h;
      std::memcpy(&h, scratch.data(), sizeof h);
      if (record_bytes(h.length) <= rb.capacity && record_bytes(h.length) > scratch.size()) {
        scratch.resize(record_bytes(h.length));
        return drain(sink, ctx, max_messages);
      }
    }
    pos += off;
    advanced();
    return {n ? ReadStatus::ok : ReadStatus::would_block, n, 0};
  }

  ReadResult overrun() noexcept {
    std::uint64_t lost = 0;
    jump_to_head(lost);
    // Only skip records were overwritten: nothing was lost, carry on from the head.
    if (lost == 0) return {ReadStatus::would_block, 0, 0, 0};
    return {ReadStatus::lost, 0, lost, 0};
  }
};

Reader::Reader() = default;
Reader::Reader(Reader &&) noexcept = default;
Reader &Reader::operator=(Reader &&) noexcept = default;
Reader::~Reader() = default;

Reader Reader::create(const Ring &ring, std::error_code &ec) {
  ec.clear();
  if (!ring.valid()) {
    ec = make_error_code(errc::invalid_argument);
    return {};
  }
  auto impl = std::make_unique<Impl>();
  impl->keep = ring.shared();
  RingShared &r = *impl->keep;
  impl->claim = detail::claim_slot(r, kSlotReader, ec);
  if (ec) return {};
  impl->r = &r;
  impl->c = r.ctl;
  impl->rb = r.bytes;
  impl->slot = &r.slots[impl->claim.index];
  // Start at the head, and become visible to backpressure under the writer lock, so no writer
  // can lap this reader before it counts.
  if (!detail::lock_writer(r)) {
    ec = make_error_code(errc::system_error);
    return {};
  }
  impl->pos = impl->commit = impl->published = r.ctl->commit.commit.load(std::memory_order_relaxed);
  impl->expected = r.ctl->commit.head_seq.load(std::memory_order_relaxed);
  impl->slot->position.store(impl->pos, std::memory_order_relaxed);
  impl->slot->kind.store(kSlotReader, std::memory_order_release);
  detail::unlock_writer(r);
  Reader rd;
  rd.impl_ = std::move(impl);
  return rd;
}

Reader Reader::create(const Ring &ring) {
  std::error_code ec;
  Reader r = create(ring, ec);
  throw_if(ec, "camure::rmp::Reader::create");
  return r;
}

ReadResult Reader::try_read(std::span<std::byte> buf) noexcept {
  if (!impl_) return {ReadStatus::corrupt, 0, 0, 0};
  return impl_->try_read(buf);
}

ReadResult Reader::read_into(std::span<std::byte> buf, std::chrono::nanoseconds timeout) noexcept {
  if (!impl_) return {ReadStatus::corrupt, 0, 0, 0};
  Impl &m = *impl_;
  ReadResult res = m.try_read(buf);
  if (res.status != ReadStatus::would_block) return res;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const std::error_code ec =
        shm::wait_until(m.c->data_cell, [&] { return m.wake_condition(); }, deadline, shm::WaitPolicy{}, &m.slot->sleeping);
    res = m.try_read(buf);
    if (res.status != ReadStatus::would_block) return res;
    if (m.interrupted.exchange(false, std::memory_order_acq_rel)) return {ReadStatus::timeout, 0, 0, 0};
    if (ec || std::chrono::steady_clock::now() >= deadline) return {ReadStatus::timeout, 0, 0, 0};
  }
}

ReadResult Reader::read(std::vector<std::byte> &out, std::chrono::nanoseconds timeout) {
  if (out.size() < out.capacity()) out.resize(out.capacity());
  if (out.empty()) out.resize(256);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::max(std::chrono::nanoseconds{0}, std::chrono::nanoseconds(deadline - std::chrono::steady_clock::now()));
    ReadResult res = read_into(out, left);
    if (res.status == ReadStatus::truncated) {
      out.resize(res.size);
      continue;
    }
    if (res.status == ReadStatus::ok) out.resize(res.size);
    return res;
  }
}

DrainResult Reader::drain_impl(Sink sink, void *ctx, std::chrono::nanoseconds timeout, std::size_t max_messages) {
  if (!impl_) return {ReadStatus::corrupt, 0, 0};
  Impl &m = *impl_;
  DrainResult res = m.drain(sink, ctx, max_messages);
  if (res.status != ReadStatus::would_block) return res;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const std::error_code ec =
        shm::wait_until(m.c->data_cell, [&] { return m.wake_condition(); }, deadline, shm::WaitPolicy{}, &m.slot->sleeping);
    res = m.drain(sink, ctx, max_messages);
    if (res.status != ReadStatus::would_block) return res;
    if (m.interrupted.exchange(false, std::memory_order_acq_rel)) return {ReadStatus::timeout, 0, 0};
    if (ec || std::chrono::steady_clock::now() >= deadline) return {ReadStatus::timeout, 0, 0};
  }
}

int Reader::notify_fd(std::error_code &ec) {
  ec.clear();
  if (!impl_) {
    ec = make_error_code(errc::invalid_argument);
    return -1;
  }
  Impl &m = *impl_;
  if (m.rx.fd() >= 0) return m.rx.fd();
  const RingConfig &cfg = m.c->config;
  if (cfg.notify_group == 0) {
    ec = make_error_code(errc::unsupported);
    return -1;
  }
  if ((ec = m.rx.open(cfg.notify_group, cfg.notify_port))) return -1;
  // Counted first, flagged second (see Writer::create).
  m.c->counters.notify_listeners.fetch_add(1);
  m.slot->notify.store(1, std::memory_order_release);
  return m.rx.fd();
}

void Reader::drain_notifications() noexcept {
  if (impl_) impl_->rx.drain();
}

void Reader::interrupt() noexcept {
  if (!impl_) return;
  impl_->interrupted.store(true, std::memory_order_release);
  // Wake every sleeper of the ring: the others re-check their condition and sleep again.
  shm::WaitCell &cell = impl_->c->data_cell;
  cell.seq.fetch_add(1, std::memory_order_seq_cst);
  shm::futex::wake_all(cell.seq);
}

std::uint64_t Reader::next_sequence() const noexcept { return impl_ ? impl_->expected : 0; }

} // namespace camure::rmp
