// Barrier rounds: coordinator release logic and member arrive/retransmit logic.
#include "runtime/net/barrier.hpp"

#include <algorithm>

namespace camure::net {

void BarrierCoordinator::send_release(const PeerAddr *to, std::uint64_t round) {
  FrameHeader h;
  h.type = FrameType::release;
  h.session = ctx_.session;
  h.epoch = ctx_.epoch;
  h.sender = ctx_.self;
  h.group = group_;
  h.seq = round;
  scratch_.clear(); // reused: no allocation per round
  codec_.encode(h, {}, scratch_);
  emit_(to, scratch_);
}

std::uint64_t BarrierCoordinator::arrive_self(const std::vector<MemberId> &view, Nanos now) {
  const std::uint64_t r = round_;
  self_arrived_ = true;
  check(view, now);
  return r;
}

void BarrierCoordinator::on_arrive(MemberId m, std::uint64_t round, const PeerAddr &from,
                                   const std::vector<MemberId> &view, Nanos now) {
  if (round == round_) {
    // A sorted vector that keeps its capacity across rounds: no allocation per ARRIVE.
    auto it = std::lower_bound(arrived_.begin(), arrived_.end(), m);
    if (it == arrived_.end() || *it != m) arrived_.insert(it, m);
    check(view, now);
    return;
  }
  if (seq_lt(round, round_)) {
    // Its RELEASE was lost: repeat it to that member alone, at most once per hold-off.
    auto &last = last_reply_[m];
    if (now - last >= holdoff_ || last == 0) {
      last = now;
      send_release(&from, round_ - 1);
    }
    return;
  }
  ++protocol_errors_; // a member cannot be ahead of an unreleased round
}

void BarrierCoordinator::check(const std::vector<MemberId> &view, Nanos) {
  if (!self_arrived_) return;
  for (MemberId m : view)
    if (m != kCoordinatorId && !std::binary_search(arrived_.begin(), arrived_.end(), m)) return;
  send_release(nullptr, round_);
  ++round_;
  self_arrived_ = false;
  arrived_.clear();
  // Forget reply times of members no longer in the view.
  std::erase_if(last_reply_, [&](const auto &kv) { return std::find(view.begin(), view.end(), kv.first) == view.end(); });
}

void BarrierMember::send_arrive(std::uint64_t round, Nanos now) {
  FrameHeader h;
  h.type = FrameType::arrive;
  h.session = ctx_.session;
  h.epoch = ctx_.epoch;
  h.sender = ctx_.self;
  h.group = group_;
  h.seq = round;
  scratch_.clear(); // reused: no allocation per round
  codec_.encode(h, {}, scratch_);
  emit_(&coord_, scratch_);
  last_tx_ = now;
}

std::uint64_t BarrierMember::arrive(Nanos now) {
  const std::uint64_t r = next_++;
  send_arrive(r, now);
  return r;
}

void BarrierMember::tick(Nanos now) {
  // Outstanding: the last round we arrived at has not been released.
  if (next_ == released_until_) return;
  if (now - last_tx_ >= rto_) {
    ++retransmits_;
    send_arrive(next_ - 1, now);
  }
}

} // namespace camure::net
