// Barrier rounds, sans-IO: members send ARRIVE(round) until the coordinator multicasts RELEASE(round).
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "runtime/net/emit.hpp"
#include "runtime/net/frame.hpp"
#include "runtime/net/seq.hpp"

namespace camure::net {

/// Coordinator side. A round is released when the coordinator and every member of the current
/// view have arrived; evicting or removing a member re-checks the round.
class BarrierCoordinator {
public:
  BarrierCoordinator(GroupId group, const Codec &codec, const FrameContext &ctx, Emit emit, Nanos reply_holdoff)
      : group_(group), codec_(codec), ctx_(ctx), emit_(std::move(emit)), holdoff_(reply_holdoff) {}

  /// The round a newly admitted member must arrive at next.
  std::uint64_t current_round() const noexcept { return round_; }
  /// The coordinator arrives at the current round; returns that round.
  std::uint64_t arrive_self(const std::vector<MemberId> &view, Nanos now);
  void on_arrive(MemberId m, std::uint64_t round, const PeerAddr &from, const std::vector<MemberId> &view, Nanos now);
  void on_view(const std::vector<MemberId> &view, Nanos now) { check(view, now); }
  bool released(std::uint64_t round) const noexcept { return seq_lt(round, round_); }
  std::uint64_t protocol_errors() const noexcept { return protocol_errors_; }

private:
  void check(const std::vector<MemberId> &view, Nanos now);
  void send_release(const PeerAddr *to, std::uint64_t round);

  GroupId group_;
  const Codec &codec_;
  FrameContext ctx_;
  Emit emit_;
  Nanos holdoff_;
  std::uint64_t round_ = 0;
  bool self_arrived_ = false;
  std::vector<MemberId> arrived_; ///< sorted
  std::map<MemberId, Nanos> last_reply_;
  std::uint64_t protocol_errors_ = 0;
  std::vector<std::uint8_t> scratch_;
};

/// Member side. arrive() returns the round to wait for; ARRIVE is retransmitted every `rto`
/// until a RELEASE covering that round is seen.
class BarrierMember {
public:
  BarrierMember(GroupId group, const Codec &codec, const FrameContext &ctx, Emit emit, PeerAddr coordinator, Nanos rto)
      : group_(group), codec_(codec), ctx_(ctx), emit_(std::move(emit)), coord_(coordinator), rto_(rto) {}

  void start_at(std::uint64_t round) noexcept { next_ = released_until_ = round; }
  std::uint64_t arrive(Nanos now);
  void on_release(std::uint64_t round) noexcept {
    if (seq_le(released_until_, round) && seq_lt(round, next_)) released_until_ = round + 1;
  }
  bool released(std::uint64_t round) const noexcept { return seq_lt(round, released_until_); }
  void tick(Nanos now);
  std::uint64_t retransmits() const noexcept { return retransmits_; }

private:
  void send_arrive(std::uint64_t round, Nanos now);

  GroupId group_;
  const Codec &codec_;
  FrameContext ctx_;
  Emit emit_;
  PeerAddr coord_;
  Nanos rto_;
  std::uint64_t next_ = 0;           ///< next round to arrive at
  std::uint64_t released_until_ = 0; ///< rounds before this are released
  Nanos last_tx_ = 0;
  std::uint64_t retransmits_ = 0;
  std::vector<std::uint8_t> scratch_;
};

} // namespace camure::net
