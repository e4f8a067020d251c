// camure::rmp::Writer: reserve -> copy -> commit under the robust writer lock, with batching,
// pluggable backpressure (never waiting while holding the lock) and conditional wake-ups.
#include "runtime/shm/fence.hpp"
#include "runtime/shm/notify.hpp"
#include "runtime/shm/ring_shared.hpp"

#include <algorithm>
#include <vector>

namespace camure::rmp {

using namespace camure::shm::ring;
using detail::RingShared;

struct Writer::Impl {
  std::shared_ptr<RingShared> keep;
  RingShared *r = nullptr;
  detail::SlotClaim claim;
  std::shared_ptr<BackpressurePolicy> policy;
  bool tracks = false;
  shm::udp::Sender sender;
  bool sender_tried = false;
  std::vector<std::byte> staging; // gather in word-copy (TSan) builds only

  ~Impl() {
    if (r) detail::release_slot(*r, claim);
  }

  ParticipantSlot &slot() const noexcept { return r->slots[claim.index]; }

  // Bytes of unread data of the slowest live reader that writing up to `end` would destroy.
  // Dead readers found on the way are reclaimed and never hold the writer back.
  std::uint64_t pressure(std::uint64_t end, std::uint64_t &slowest) noexcept {
    const std::uint64_t cap = r->bytes.capacity;
    slowest = end;
    if (end <= cap) return 0;
    std::uint64_t worst = 0;
    const std::uint32_t high = std::min(r->ctl->counters.slot_high.load(std::memory_order_acquire), r->max_participants);
    for (std::uint32_t j = 0; j < high; ++j) {
      ParticipantSlot &s = r->slots[j];
      if (s.kind.load(std::memory_order_acquire) != kSlotReader) continue;
      const std::uint64_t p = s.position.load(std::memory_order_acquire);
      if (p + cap >= end) continue;
      if (!detail::slot_alive(*r, j)) {
        detail::reclaim_if_dead(*r, j, claim.lock_fd);
        continue;
      }
      slowest = std::min(slowest, p);
      worst = std::max(worst, end - cap - p);
    }
    return worst;
  }

  std::uint64_t min_reader_position() const noexcept {
    std::uint64_t m = ~std::uint64_t{0};
    const std::uint32_t high = std::min(r->ctl->counters.slot_high.load(std::memory_order_acquire), r->max_participants);
    for (std::uint32_t j = 0; j < high; ++j) {
      const ParticipantSlot &s = r->slots[j];
      if (s.kind.load(std::memory_order_acquire) == kSlotReader)
        m = std::min(m, s.position.load(std::memory_order_acquire));
    }
    return m;
  }

  void udp_notify() noexcept {
    const RingConfig &c = r->ctl->config;
    if (c.notify_group == 0 || r->ctl->counters.notify_listeners.load(std::memory_order_relaxed) == 0) return;
    if (!sender_tried) {
      sender_tried = true;
      sender.open(c.notify_group, c.notify_port);
    }
    sender.send();
  }

  // The ring lines we are about to fill are usually cached by the readers (shared state): ask for
  // ownership of all of them up front so the invalidations overlap instead of stalling one store
  // at a time. Bounded to 16 KiB; the rest streams in behind the copy.
  void prefetch_for_write(std::uint64_t pos, std::uint64_t bytes) const noexcept {
    const RingBytes &rb = r->bytes;
    const std::uint64_t end = pos + std::min<std::uint64_t>(bytes, 16384);
    for (std::uint64_t p = pos & ~std::uint64_t{63}; p < end; p += 64) __builtin_prefetch(rb.base + (p & rb.mask), 1, 3);
  }

  // Writes one batch of `count` records occupying `bytes` bytes; fill(pos, seq) writes them.
  // Returns the sequence number of the first record.
  template <class Fill>
  std::uint64_t commit_batch(std::uint64_t bytes, std::uint64_t count, Fill &&fill, std::error_code &ec) {
    ec.clear();
    bool force = false;
    std::chrono::steady_clock::time_point started{};
    for (;;) {
      if (!detail::lock_writer(*r)) {
        ec = make_error_code(errc::system_error);
        return 0;
      }
      RingControl &c = *r->ctl;
      const std::uint64_t pos = c.commit.commit.load(std::memory_order_relaxed);
      const std::uint64_t seq = c.commit.head_seq.load(std::memory_order_relaxed);
      if (tracks && !force) {
        std::uint64_t slowest = 0;
        if (const std::uint64_t over = pressure(pos + bytes, slowest)) {
          // Never wait with the lock held: release, consult the policy, wait, retry.
          detail::unlock_writer(*r);
          const auto now = std::chrono::steady_clock::now();
          if (started == std::chrono::steady_clock::time_point{}) started = now;
          switch (policy->on_pressure(over, now - started)) {
          case PressureAction::overwrite: force = true; continue;
          case PressureAction::fail: ec = make_error_code(errc::timeout); return 0;
          case PressureAction::wait: break;
          }
          shm::wait_until(
              c.space_cell, [&] { return min_reader_position() != slowest; },
              std::chrono::steady_clock::now() + std::chrono::milliseconds(1), shm::WaitPolicy{}, &slot().sleeping);
          continue;
        }
      }
      // Reserve, then copy, then commit. The intent lets the next lock holder repair a batch
      // torn by our death at any instruction (see repair_locked).
      c.reserve.intent_base_seq = seq;
      c.reserve.intent_seq = seq + count;
      c.reserve.intent_commit = pos + bytes;
      c.reserve.reserve.store(pos + bytes, std::memory_order_relaxed);
      // A full fence, not just release: large memcpys use non-temporal stores, which only mfence
      // keeps behind the reserve store. Readers must see the reserve before any byte.
      shm::fence_streaming_stores();
      prefetch_for_write(pos, bytes);
      fill(pos, seq);
      c.commit.gen.store(c.commit.gen.load(std::memory_order_relaxed) | 1u, std::memory_order_relaxed);
      shm::fence_release();
      c.commit.head_seq.store(seq + count, std::memory_order_relaxed);
      c.commit.commit.store(pos + bytes, std::memory_order_release);
      c.commit.gen.store(c.commit.gen.load(std::memory_order_relaxed) + 1, std::memory_order_release);
      detail::unlock_writer(*r);
      shm::notify(c.data_cell);
      udp_notify();
      return seq;
    }
  }
};

Writer::Writer() = default;
Writer::Writer(Writer &&) noexcept = default;
Writer &Writer::operator=(Writer &&) noexcept = default;
Writer::~Writer() = default;

Writer Writer::create(const Ring &ring, std::error_code &ec, std::shared_ptr<BackpressurePolicy> policy) {
  ec.clear();
  if (!ring.valid()) {
    ec = make_error_code(errc::invalid_argument);
    return {};
  }
  auto impl = std::make_unique<Impl>();
  impl->keep = ring.shared();
  RingShared &r = *impl->keep;
  impl->claim = detail::claim_slot(r, kSlotWriter, ec);
  if (ec) return {};
  impl->r = &r;
  if (!policy) {
    policy = r.ctl->config.backpressure == static_cast<std::uint32_t>(Backpressure::block)
                 ? BackpressurePolicy::block(std::chrono::nanoseconds(r.ctl->config.block_timeout_ns))
                 : BackpressurePolicy::overrun();
  }
  impl->policy = std::move(policy);
  impl->tracks = impl->policy->tracks_readers();
  if (impl->tracks) {
    // Counted first, flagged second: a death in between leaks one count (readers then notify
    // space waiters needlessly), never loses a wake-up.
    r.ctl->counters.pressure_writers.fetch_add(1);
    impl->slot().notify.store(1, std::memory_order_release);
  }
  Writer w;
  w.impl_ = std::move(impl);
  return w;
}

Writer Writer::create(const Ring &ring, std::shared_ptr<BackpressurePolicy> policy) {
  std::error_code ec;
  Writer w = create(ring, ec, std::move(policy));
  throw_if(ec, "camure::rmp::Writer::create");
  return w;
}

std::uint64_t Writer::write(std::span<const std::byte> message, std::error_code &ec) {
  const std::span<const std::byte> parts[1] = {message};
  return write_gather(parts, ec);
}

std::uint64_t Writer::write(std::span<const std::byte> message) {
  std::error_code ec;
  const std::uint64_t seq = write(message, ec);
  throw_if(ec, "camure::rmp::Writer::write");
  return seq;
}

std::uint64_t Writer::write_gather(std::span<const std::span<const std::byte>> parts, std::error_code &ec) {
  if (!impl_) {
    ec = make_error_code(errc::invalid_argument);
    return 0;
  }
  std::uint64_t len = 0;
  for (const auto &p : parts) len += p.size();
  const RingShared &r = *impl_->r;
  if (len > r.bytes.capacity - kRecordHeaderBytes) {
    ec = make_error_code(errc::message_too_large);
    return 0;
  }
  if constexpr (kWordCopies) {
    if (parts.size() > 1) { // word copies need an 8-aligned source offset per copy: stage
      impl_->staging.clear();
      for (const auto &p : parts) impl_->staging.insert(impl_->staging.end(), p.begin(), p.end());
      const std::span<const std::byte> one[1] = {impl_->staging};
      return write_gather(one, ec);
    }
  }
  const RingBytes rb = r.bytes;
  return impl_->commit_batch(record_bytes(len), 1, [&](std::uint64_t pos, std::uint64_t seq) {
    const RecordHeader h{static_cast<std::uint32_t>(len), kKindMessage, seq};
    copy_in(rb, pos, &h, sizeof h);
    std::uint64_t off = pos + kRecordHeaderBytes;
    for (const auto &p : parts) {
      copy_in(rb, off, p.data(), p.size());
      off += p.size();
    }
  }, ec);
}

std::size_t Writer::write_batch(std::span<const std::span<const std::byte>> messages, std::error_code &ec) {
  ec.clear();
  if (!impl_) {
    ec = make_error_code(errc::invalid_argument);
    return 0;
  }
  const RingBytes rb = impl_->r->bytes;
  const std::uint64_t max_len = rb.capacity - kRecordHeaderBytes;
  // A chunk never exceeds a quarter ring (or one record), so one batch alone cannot lap a reader
  // that keeps up.
  const std::uint64_t chunk_limit = rb.capacity / 4;
  std::size_t done = 0;
  while (done < messages.size()) {
    std::uint64_t bytes = 0;
    std::size_t end = done;
    while (end < messages.size()) {
      if (messages[end].size() > max_len) break;
      const std::uint64_t rec = record_bytes(messages[end].size());
      if (end > done && bytes + rec > chunk_limit) break;
      bytes += rec;
      ++end;
    }
    if (end == done) {
      ec = make_error_code(errc::message_too_large);
      return done;
    }
    impl_->commit_batch(bytes, end - done, [&](std::uint64_t pos, std::uint64_t seq) {
      for (std::size_t i = done; i < end; ++i) {
        const auto &m = messages[i];
        const RecordHeader h{static_cast<std::uint32_t>(m.size()), kKindMessage, seq++};
        copy_in(rb, pos, &h, sizeof h);
        copy_in(rb, pos + kRecordHeaderBytes, m.data(), m.size());
        pos += record_bytes(m.size());
      }
    }, ec);
    if (ec) return done;
    done = end;
  }
  return done;
}

} // namespace camure::rmp
