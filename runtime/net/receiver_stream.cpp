// Reliable broadcast receiver: in-order delivery, NAKs for gaps, periodic cumulative ACKs.
#include "runtime/net/receiver_stream.hpp"

#include <algorithm>
#include <mutex>

namespace camure::net {

namespace {
constexpr std::uint64_t kMaxAhead = std::uint64_t{1} << 20; ///< packets beyond expected we hold
constexpr std::size_t kMaxNakRanges = 64;
constexpr std::size_t kPoolBuffers = 4;                   ///< warm reassembly buffers kept per stream
constexpr std::size_t kPoolMaxCapacity = std::size_t{16} << 20; ///< larger ones go back to the allocator
} // namespace

struct ReceiverStream::BufferPool {
  std::mutex mu;
  std::vector<std::vector<std::uint8_t>> free;
  std::vector<std::uint8_t> take() {
    std::lock_guard<std::mutex> lk(mu);
    if (free.empty()) return {};
    auto v = std::move(free.back());
    free.pop_back();
    return v;
  }
  void give(std::vector<std::uint8_t> &&v) {
    if (v.capacity() == 0 || v.capacity() > kPoolMaxCapacity) return;
    v.clear();
    std::lock_guard<std::mutex> lk(mu);
    if (free.size() < kPoolBuffers) free.push_back(std::move(v));
  }
};

ReceiverStream::ReceiverStream(const ReceiverConfig &cfg, const Codec &codec, const FrameContext &ctx, Emit emit,
                               Deliver deliver)
    : cfg_(cfg), codec_(codec), ctx_(ctx), emit_(std::move(emit)), deliver_(std::move(deliver)),
      pool_(std::make_shared<BufferPool>()) {}

void ReceiverStream::on_data(std::uint64_t seq, const Buffer &datagram, std::span<const std::uint8_t> payload,
                             Nanos now) {
  ++stats_.packets;
  if (!synced_) {
    // Where we start is not known yet (STATUS will say); hold a bounded amount meanwhile.
    if (held_.empty()) base_ = seq - kMaxAhead; // any order-preserving base near the traffic
    if (held_.size() >= kMaxAhead || held_bytes_ + payload.size() > 2 * cfg_.window || held_.contains(seq)) {
      ++stats_.out_of_window;
      return;
    }
    held_.emplace(seq, Held{datagram, payload});
    held_bytes_ += payload.size();
    return;
  }
  accept(seq, datagram, payload, now);
}

void ReceiverStream::accept(std::uint64_t seq, const Buffer &datagram, std::span<const std::uint8_t> payload,
                            Nanos now) {
  if (seq_lt(seq, expected_)) {
    ++stats_.duplicates;
    return;
  }
  if (seq_dist(expected_, seq) >= kMaxAhead) {
    ++stats_.out_of_window;
    return;
  }
  bool new_gap = false;
  const std::uint64_t gap_from = highest_;
  if (seq_le(highest_, seq)) {
    new_gap = seq != highest_; // sequences between the old highest and this one are missing
    highest_ = seq + 1;
  }
  if (seq == expected_) {
    process(datagram, payload);
    bytes_since_ack_ += payload.size();
    ++expected_;
    drain(now);
  } else {
    if (held_.contains(seq)) {
      ++stats_.duplicates;
      return;
    }
    if (held_bytes_ + payload.size() > 2 * cfg_.window) {
      ++stats_.out_of_window;
      return;
    }
    held_.emplace(seq, Held{datagram, payload});
    held_bytes_ += payload.size();
  }
  if (new_gap) send_naks(now, gap_from);
  // ACK by bytes that became in order: a repair that closes a gap releases everything held
  // behind it, and the sender's window opens at once instead of at the next ACK interval.
  if (bytes_since_ack_ >= cfg_.window / 4) send_ack(now);
}

void ReceiverStream::drain(Nanos) {
  while (!held_.empty()) {
    auto it = held_.begin();
    if (it->first != expected_) break;
    Held h = std::move(it->second);
    held_bytes_ -= h.payload.size();
    held_.erase(it);
    process(h.datagram, h.payload);
    bytes_since_ack_ += h.payload.size();
    ++expected_;
  }
}

void ReceiverStream::process(const Buffer &datagram, std::span<const std::uint8_t> payload) {
  std::size_t off = 0;
  while (off < payload.size()) {
    if (payload.size() - off < chunk::header_size) {
      ++stats_.malformed;
      break;
    }
    const std::uint8_t *h = payload.data() + off;
    const std::uint32_t len = get_u32(h + chunk::length);
    const std::uint16_t flags = get_u16(h + chunk::flags);
    if (get_u16(h + chunk::reserved) != 0 || (flags & ~(kChunkBegin | kChunkEnd)) != 0 ||
        len > payload.size() - off - chunk::header_size) {
      ++stats_.malformed;
      break;
    }
    const std::uint8_t *bytes = h + chunk::header_size;
    off += chunk::header_size + len;
    if (flags & kChunkBegin) {
      if (assembling_) {
        ++stats_.partial_dropped;
        assembling_ = false;
        assembly_.clear();
      }
      if (flags & kChunkEnd) {
        CoreMessage m;
        m.sender = cfg_.sender;
        m.storage = datagram;
        m.offset = static_cast<std::size_t>(bytes - datagram->data());
        m.size = len;
        ++stats_.messages;
        deliver_(std::move(m));
        continue;
      }
      assembling_ = true;
      if (assembly_.capacity() == 0) assembly_ = pool_->take();
      assembly_.assign(bytes, bytes + len);
      continue;
    }
    if (!assembling_) continue; // the tail of a message that began before we joined
    assembly_.insert(assembly_.end(), bytes, bytes + len);
    if (flags & kChunkEnd) {
      CoreMessage m;
      m.sender = cfg_.sender;
      m.size = assembly_.size();
      // The buffer goes back to the pool when the last reference to the message is dropped.
      auto *owned = new std::vector<std::uint8_t>(std::move(assembly_));
      m.storage = Buffer(owned, [pool = pool_](const std::vector<std::uint8_t> *v) {
        auto *mut = const_cast<std::vector<std::uint8_t> *>(v);
        pool->give(std::move(*mut));
        delete mut;
      });
      assembly_ = {};
      assembling_ = false;
      ++stats_.messages;
      deliver_(std::move(m));
    }
  }
}

void ReceiverStream::on_status(std::uint64_t next_seq, std::span<const std::uint8_t> starts, Nanos now) {
  if (!synced_) {
    for (std::size_t i = 0; i + 16 <= starts.size(); i += 16) {
      if (get_u32(starts.data() + i) != ctx_.self) continue;
      const std::uint64_t start = get_u64(starts.data() + i + 8);
      synced_ = true;
      expected_ = start;
      highest_ = start;
      // Re-key what we held before we knew the start; drop what precedes it.
      std::vector<std::pair<std::uint64_t, Held>> old;
      for (auto &kv : held_) old.emplace_back(kv.first, std::move(kv.second));
      held_.clear();
      held_bytes_ = 0;
      base_ = start;
      for (auto &[seq, h] : old)
        if (!seq_lt(seq, start)) accept(seq, h.datagram, h.payload, now);
      break;
    }
    if (!synced_) return;
  }
  if (seq_lt(highest_, next_seq) && seq_dist(expected_, next_seq) < kMaxAhead) {
    highest_ = next_seq; // the tail was lost: NAK it
    send_naks(now);
  }
  send_ack(now);
}

void ReceiverStream::send_naks(Nanos now) { send_naks(now, expected_); }

void ReceiverStream::send_naks(Nanos now, std::uint64_t from) {
  if (sender_addr_.empty()) return;
  // A new gap is NAKed at once, but only the new gap: holes already asked for are repeated
  // by tick() every nak_interval, not with every later gap (which, while repairs are in
  // flight, made the sender repeat each repair once per later loss).
  const bool full = !seq_lt(expected_, from);
  std::vector<std::uint8_t> payload;
  std::uint64_t cursor = full ? expected_ : from;
  auto add = [&](std::uint64_t first, std::uint64_t end) {
    while (first != end && payload.size() / 16 < kMaxNakRanges) {
      const std::uint64_t n = std::min<std::uint64_t>(seq_dist(first, end), 4096);
      std::uint8_t e[16];
      put_u64(e, first);
      put_u32(e + 8, static_cast<std::uint32_t>(n));
      put_u32(e + 12, 0);
      payload.insert(payload.end(), e, e + 16);
      first += n;
    }
  };
  for (const auto &kv : held_) {
    if (seq_lt(kv.first, cursor)) continue;
    if (seq_lt(cursor, kv.first)) add(cursor, kv.first);
    cursor = kv.first + 1;
  }
  if (seq_lt(cursor, highest_)) add(cursor, highest_);
  if (full) last_nak_ = now;
  if (payload.empty()) return;
  FrameHeader h;
  h.type = FrameType::nak;
  h.session = ctx_.session;
  h.epoch = ctx_.epoch;
  h.sender = ctx_.self;
  h.group = cfg_.group;
  h.aux = cfg_.sender;
  std::vector<std::uint8_t> out;
  codec_.encode(h, payload, out);
  emit_(&sender_addr_, out);
  ++stats_.naks;
}

void ReceiverStream::send_ack(Nanos now) {
  if (sender_addr_.empty() || !synced_) return;
  if (congested_ && congested_()) return; // tick() retries once the application caught up
  FrameHeader h;
  h.type = FrameType::ack;
  h.session = ctx_.session;
  h.epoch = ctx_.epoch;
  h.sender = ctx_.self;
  h.group = cfg_.group;
  h.aux = cfg_.sender;
  h.seq = expected_;
  std::vector<std::uint8_t> out;
  codec_.encode(h, {}, out);
  emit_(&sender_addr_, out);
  last_ack_ = now;
  last_acked_ = expected_;
  acked_once_ = true;
  bytes_since_ack_ = 0;
  ++stats_.acks;
}

void ReceiverStream::tick(Nanos now) {
  if (!synced_) return;
  if ((!held_.empty() || seq_lt(expected_, highest_)) && now - last_nak_ >= cfg_.nak_interval) send_naks(now);
  if ((!acked_once_ || last_acked_ != expected_) && now - last_ack_ >= cfg_.ack_interval) send_ack(now);
}

} // namespace camure::net
