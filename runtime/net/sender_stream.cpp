// Reliable broadcast sender: packs chunks into packets, honours the byte window, repairs on NAK.
#include "runtime/net/sender_stream.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>

namespace camure::net {

namespace {
constexpr std::size_t kMaxNakRanges = 64;
constexpr std::uint64_t kMaxNakRangeLen = 4096;
constexpr std::size_t kMaxStartsPerStatus = 64;

std::uint32_t random_salt() {
  if (sodium_init() < 0) { /* randombytes still works */ }
  return randombytes_random();
}
} // namespace

SenderStream::SenderStream(const SenderConfig &cfg, const Codec &codec, const FrameContext &ctx, Emit emit)
    : cfg_(cfg), codec_(codec), ctx_(ctx), emit_(std::move(emit)), next_seq_(cfg.initial_seq),
      salt_(cfg.salt != 0 ? cfg.salt : random_salt()) {
  cfg_.max_datagram = std::clamp<std::size_t>(cfg_.max_datagram, codec_.overhead() + chunk::header_size + 1, kMaxDatagram);
  open_.resize(cfg_.max_datagram);
}

std::size_t SenderStream::chunk_area() const noexcept { return cfg_.max_datagram - codec_.overhead(); }

bool SenderStream::window_full() const noexcept { return in_flight_ > 0 && in_flight_ + cfg_.max_datagram > cfg_.window; }

bool SenderStream::can_seal() const noexcept { return !window_full(); }

SenderStream::WriteResult SenderStream::write(std::span<const std::uint8_t> data, bool begin, bool end, Nanos now) {
  WriteResult r;
  bool first = true;
  for (;;) {
    const std::size_t left = data.size() - r.consumed;
    // Closing a message with no more bytes: mark the last chunk if it is still open.
    if (left == 0 && !first && !end) {
      r.done = true;
      return r;
    }
    if (left == 0 && end && !begin && first && last_chunk_ != SIZE_MAX) {
      std::uint8_t *h = open_.data() + layout::header_size + last_chunk_;
      put_u16(h + chunk::flags, static_cast<std::uint16_t>(get_u16(h + chunk::flags) | kChunkEnd));
      seal_large_end(now);
      r.done = true;
      return r;
    }
    if (left == 0 && !first) {
      r.done = true;
      return r;
    }
    std::size_t room = chunk_area() - open_used_;
    if (room < chunk::header_size + (left > 0 ? 1 : 0)) {
      if (!can_seal()) return r;
      seal(now);
      room = chunk_area();
    }
    const std::size_t n = std::min(left, room - chunk::header_size);
    const bool is_begin = begin && r.consumed == 0 && first;
    const bool is_end = end && n == left;
    if (is_begin) msg_bytes_ = 0;
    msg_bytes_ += n;
    std::uint8_t *h = open_.data() + layout::header_size + open_used_;
    put_u32(h + chunk::length, static_cast<std::uint32_t>(n));
    put_u16(h + chunk::flags, static_cast<std::uint16_t>((is_begin ? kChunkBegin : 0) | (is_end ? kChunkEnd : 0)));
    put_u16(h + chunk::reserved, 0);
    if (n) std::memcpy(h + chunk::header_size, data.data() + r.consumed, n);
    last_chunk_ = open_used_;
    open_used_ += chunk::header_size + n;
    r.consumed += n;
    first = false;
    stats_.bytes += n;
    if (is_end) {
      ++stats_.messages;
      seal_large_end(now);
    }
    if (r.consumed == data.size()) {
      if (end && !is_end) continue; // cannot happen: is_end is set when n == left
      r.done = true;
      return r;
    }
  }
}

void SenderStream::seal_large_end(Nanos now) {
  // The end of a message that filled at least a datagram: nothing small is waiting to share its
  // last packet, and the receiver cannot deliver the message before that packet arrives. Send
  // it now instead of on the next flush (a progress-thread round trip away).
  if (msg_bytes_ >= chunk_area() && open_used_ > 0 && can_seal()) seal(now);
}

bool SenderStream::flush(Nanos now) {
  if (open_used_ == 0) return true;
  if (!can_seal()) return false;
  seal(now);
  return true;
}

void SenderStream::seal(Nanos now) {
  FrameHeader h;
  h.type = FrameType::data;
  h.session = ctx_.session;
  h.epoch = ctx_.epoch;
  h.sender = ctx_.self;
  h.group = cfg_.group;
  h.aux = salt_;
  h.seq = next_seq_;
  const std::size_t size = codec_.seal_in_place(h, open_.data(), open_used_);
  Packet p;
  p.seq = next_seq_++;
  // The open buffer becomes the packet (no copy); the next packet fills a recycled one.
  p.frame = std::move(open_);
  p.frame.resize(size);
  if (!free_.empty()) {
    open_ = std::move(free_.back());
    free_.pop_back();
  } else {
    open_ = {};
  }
  open_.resize(cfg_.max_datagram);
  in_flight_ += size;
  emit_(nullptr, p.frame);
  ++stats_.packets;
  last_send_ = now;
  retained_.push_back(std::move(p));
  open_used_ = 0;
  last_chunk_ = SIZE_MAX;
  trim();
}

void SenderStream::trim() {
  std::uint64_t low = next_seq_;
  for (const auto &[id, peer] : peers_)
    if (seq_lt(peer.next, low)) low = peer.next;
  while (!retained_.empty() && seq_lt(retained_.front().seq, low)) {
    in_flight_ -= retained_.front().frame.size();
    if (free_.size() < 256) free_.push_back(std::move(retained_.front().frame));
    retained_.pop_front();
  }
}

void SenderStream::set_members(const std::vector<MemberId> &members, Nanos now) {
  bool added = false;
  std::map<MemberId, Peer> next;
  for (MemberId m : members) {
    if (m == ctx_.self) continue;
    auto it = peers_.find(m);
    if (it != peers_.end()) {
      next.emplace(m, it->second);
    } else {
      next.emplace(m, Peer{next_seq_, false});
      added = true;
    }
  }
  peers_ = std::move(next);
  trim();
  if (added) send_status(now);
}

void SenderStream::on_ack(MemberId from, std::uint64_t next_expected, Nanos) {
  auto it = peers_.find(from);
  if (it == peers_.end()) return;
  if (seq_lt(next_expected, it->second.next) || seq_lt(next_seq_, next_expected)) return; // stale or bogus
  it->second.next = next_expected;
  it->second.synced = true;
  trim();
}

void SenderStream::on_nak(MemberId from, const PeerAddr &addr, std::span<const std::uint8_t> ranges, Nanos now) {
  if (!peers_.contains(from) || retained_.empty()) return;
  const std::uint64_t base = retained_.front().seq;
  const std::size_t nranges = std::min(ranges.size() / 16, kMaxNakRanges);
  for (std::size_t i = 0; i < nranges; ++i) {
    const std::uint8_t *r = ranges.data() + 16 * i;
    std::uint64_t first = get_u64(r);
    const std::uint64_t count = std::min<std::uint64_t>(get_u32(r + 8), kMaxNakRangeLen);
    for (std::uint64_t k = 0; k < count; ++k, ++first) {
      if (seq_lt(first, base) || !seq_lt(first, next_seq_)) continue;
      Packet &p = retained_[static_cast<std::size_t>(seq_dist(base, first))];
      if (now - p.last_unicast >= cfg_.repair_holdoff) {
        // First asker in this hold-off period: a unicast repair to it alone.
        p.last_unicast = now;
        emit_(&addr, p.frame);
        ++stats_.repairs_unicast;
      } else if (now - p.last_multicast >= cfg_.repair_holdoff) {
        // Several receivers lost it: one multicast repair serves them all.
        p.last_multicast = now;
        emit_(nullptr, p.frame);
        ++stats_.repairs_multicast;
      } else {
        ++stats_.repairs_suppressed;
      }
    }
  }
}

void SenderStream::send_status(Nanos now) {
  std::vector<std::uint8_t> payload;
  for (const auto &[id, peer] : peers_) {
    if (peer.synced) continue;
    if (payload.size() / 16 >= kMaxStartsPerStatus) break;
    std::uint8_t e[16];
    put_u32(e, id);
    put_u32(e + 4, 0);
    put_u64(e + 8, peer.next);
    payload.insert(payload.end(), e, e + 16);
  }
  FrameHeader h;
  h.type = FrameType::status;
  h.session = ctx_.session;
  h.epoch = ctx_.epoch;
  h.sender = ctx_.self;
  h.group = cfg_.group;
  h.seq = next_seq_;
  std::vector<std::uint8_t> out;
  codec_.encode(h, payload, out);
  emit_(nullptr, out);
  last_status_ = now;
  ++stats_.status;
}

void SenderStream::tick(Nanos now) {
  bool unsynced = false;
  for (const auto &[id, peer] : peers_) unsynced |= !peer.synced;
  // STATUS tells joiners where they start and lets receivers find a lost tail; only needed
  // while something is unacknowledged, and not while data flows anyway.
  const bool waiting = unsynced || !retained_.empty();
  if (waiting && now - last_status_ >= cfg_.status_interval && now - last_send_ >= cfg_.status_interval / 2)
    send_status(now);
}

void SenderStream::request_ack(Nanos now) {
  if (all_acked() || open_used_ > 0) return;
  if (now - last_status_ >= cfg_.status_interval / 8) send_status(now);
}

bool SenderStream::all_acked() const noexcept {
  if (open_used_ > 0) return false;
  for (const auto &[id, peer] : peers_)
    if (peer.next != next_seq_ || !peer.synced) return false;
  return true;
}

} // namespace camure::net
