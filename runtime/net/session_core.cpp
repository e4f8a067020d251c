// Session protocol: frame dispatch, joining, heartbeats, eviction and coordinator-loss detection.
#include "runtime/net/session_core.hpp"

#include <algorithm>

namespace camure::net {

namespace {
constexpr std::size_t kMaxMembers = 4096;
} // namespace

SessionCore::SessionCore(CoreConfig cfg, Emit emit)
    : cfg_(std::move(cfg)), emit_(std::move(emit)), codec_(cfg_.key),
      state_(cfg_.role == Role::coordinator ? NodeState::joined : NodeState::joining) {
  if (cfg_.role == Role::coordinator) {
    ctx_.session = cfg_.session_id;
    ctx_.epoch = cfg_.epoch;
    ctx_.self = kCoordinatorId;
  } else {
    ctx_.self = kNoMember;
  }
}

SessionCore::~SessionCore() = default;

void SessionCore::send(const PeerAddr *to, FrameType t, GroupId g, std::uint32_t aux, std::uint64_t seq,
                       std::span<const std::uint8_t> payload) {
  FrameHeader h;
  h.type = t;
  h.session = ctx_.session;
  h.epoch = ctx_.epoch;
  h.sender = ctx_.self;
  h.group = g;
  h.aux = aux;
  h.seq = seq;
  scratch_.clear();
  codec_.encode(h, payload, scratch_);
  emit_(to, scratch_);
}

const PeerAddr *SessionCore::addr_of(MemberId m) const {
  if (cfg_.role == Role::coordinator) {
    auto it = members_.find(m);
    return it == members_.end() ? nullptr : &it->second.addr;
  }
  if (m == kCoordinatorId) return &cfg_.coordinator_addr;
  auto it = peer_addr_.find(m);
  return it == peer_addr_.end() ? nullptr : &it->second;
}

CoreStats SessionCore::stats() const {
  CoreStats s = stats_;
  for (const auto &[gid, g] : groups_) {
    if (g.bm) s.barrier_retransmits += g.bm->retransmits();
    if (g.bc) s.protocol_errors += g.bc->protocol_errors();
    if (g.sender) {
      const auto &x = g.sender->stats();
      s.sender.packets += x.packets;
      s.sender.messages += x.messages;
      s.sender.bytes += x.bytes;
      s.sender.repairs_unicast += x.repairs_unicast;
      s.sender.repairs_multicast += x.repairs_multicast;
      s.sender.repairs_suppressed += x.repairs_suppressed;
      s.sender.status += x.status;
    }
    for (const auto &[id, r] : g.receivers) {
      const auto &x = r->stats();
      s.receiver.packets += x.packets;
      s.receiver.duplicates += x.duplicates;
      s.receiver.out_of_window += x.out_of_window;
      s.receiver.naks += x.naks;
      s.receiver.acks += x.acks;
      s.receiver.messages += x.messages;
      s.receiver.malformed += x.malformed;
      s.receiver.partial_dropped += x.partial_dropped;
    }
  }
  return s;
}

std::vector<MemberId> SessionCore::session_members() const {
  std::vector<MemberId> v;
  for (const auto &[id, m] : members_) v.push_back(id);
  return v;
}

void SessionCore::on_datagram(const PeerAddr &from, const Buffer &dg, Nanos now) {
  if (state_ == NodeState::closed || !dg) return;
  if (ctx_.session != 0 && dg->size() >= layout::header_size) {
    // Our own multicast, looped back to our group socket: skip it before paying for the tag
    // check (a keyed hash over the whole datagram). A forgery naming us is dropped as well,
    // which is what would happen to it after the check anyway.
    const std::uint8_t *p = dg->data();
    if (get_u32(p + layout::sender) == ctx_.self && get_u64(p + layout::session) == ctx_.session &&
        get_u32(p + layout::epoch) == ctx_.epoch && p[layout::type] != static_cast<std::uint8_t>(FrameType::join))
      return;
  }
  auto f = codec_.decode(*dg, &drops_);
  if (!f) return;
  if (cfg_.role == Role::member && state_ == NodeState::joining) {
    // Only our JOIN_ACK (matching nonce) means anything before we are admitted.
    if (f->h.type == FrameType::join_ack && f->h.seq == cfg_.join_nonce && f->h.session != 0 && f->h.epoch != 0 &&
        f->h.aux != kCoordinatorId && f->h.aux != kNoMember) {
      ctx_.session = f->h.session;
      ctx_.epoch = f->h.epoch;
      ctx_.self = f->h.aux;
      multicast_info_.assign(f->payload.begin(), f->payload.end());
      state_ = NodeState::joined;
      coord_last_rx_ = now;
      last_heartbeat_ = now;
      if (last_tick_ == 0) last_tick_ = now; // a first tick that comes late still sees the gap
    } else {
      drops_.add(DropReason::wrong_session);
    }
    return;
  }
  if (cfg_.role == Role::member && state_ != NodeState::joined) return; // evicted or coordinator lost
  const bool join = cfg_.role == Role::coordinator && f->h.type == FrameType::join;
  if (!join && f->h.session != ctx_.session) return drops_.add(DropReason::wrong_session);
  if (!join && f->h.epoch != ctx_.epoch) return drops_.add(DropReason::wrong_epoch);
  if (f->h.sender == ctx_.self && !join) return; // our own multicast looped back
  if (cfg_.role == Role::coordinator) {
    if (!on_coordinator_frame(*f, from, now)) return;
  } else {
    on_member_frame(*f, from, now);
  }
  switch (f->h.type) {
  case FrameType::data:
  case FrameType::status:
  case FrameType::ack:
  case FrameType::nak:
  case FrameType::arrive:
    on_group_frame(*f, from, dg, now);
    break;
  default:
    break;
  }
}

bool SessionCore::on_coordinator_frame(const Frame &f, const PeerAddr &from, Nanos now) {
  if (f.h.type == FrameType::join) {
    if (f.h.session != 0 && f.h.session != ctx_.session) {
      drops_.add(DropReason::wrong_session);
      return false;
    }
    auto it = by_nonce_.find(f.h.seq);
    MemberId id;
    if (it != by_nonce_.end()) {
      id = it->second; // a retried JOIN: same answer
    } else {
      if (members_.size() >= kMaxMembers) return false;
      id = next_id_++;
      members_[id] = MemberInfo{from, f.h.seq, now};
      by_nonce_[f.h.seq] = id;
      ++stats_.joins;
    }
    send(&from, FrameType::join_ack, 0, id, f.h.seq, cfg_.multicast_info);
    return false;
  }
  auto it = members_.find(f.h.sender);
  if (it == members_.end()) {
    drops_.add(DropReason::unknown_sender);
    // A member we evicted still talks to us: tell it (rate-limited, one small frame per reply).
    auto ev = evicted_.find(f.h.sender);
    if (ev != evicted_.end() && now - ev->second >= cfg_.heartbeat_interval) {
      ev->second = now;
      send(&from, FrameType::evicted, 0, f.h.sender, 0);
    }
    return false;
  }
  it->second.last_rx = now;
  switch (f.h.type) {
  case FrameType::leave:
    ++stats_.leaves;
    remove_member(f.h.sender, false, now);
    return false;
  case FrameType::group_join: {
    Group *g = find_group(f.h.group, static_cast<GroupKind>(f.h.aux));
    if (!g) return false;
    if (g->in_view(f.h.sender))
      send_welcome(f.h.group, *g, f.h.sender); // WELCOME was lost
    else if (std::find(g->pending.begin(), g->pending.end(), f.h.sender) == g->pending.end())
      g->pending.push_back(f.h.sender);
    return false;
  }
  case FrameType::group_leave: {
    auto git = groups_.find(f.h.group);
    if (git == groups_.end()) return false;
    std::erase(git->second.pending, f.h.sender);
    if (git->second.in_view(f.h.sender)) {
      auto v = git->second.view;
      std::erase(v, f.h.sender);
      set_view(f.h.group, git->second, std::move(v), now);
    }
    return false;
  }
  default:
    return true;
  }
}

void SessionCore::on_member_frame(const Frame &f, const PeerAddr &, Nanos now) {
  if (f.h.sender != kCoordinatorId) return;
  coord_last_rx_ = now;
  switch (f.h.type) {
  case FrameType::evicted:
    if (f.h.aux == ctx_.self) state_ = NodeState::evicted;
    return;
  case FrameType::welcome: {
    auto it = groups_.find(f.h.group);
    if (it == groups_.end() || it->second.ready || static_cast<std::uint32_t>(it->second.kind) != f.h.aux) return;
    if (f.payload.size() < 8 || (f.payload.size() - 8) % 4 != 0) return drops_.add(DropReason::malformed_payload);
    Group &g = it->second;
    g.ready = true;
    g.view_no = get_u64(f.payload.data());
    g.view.clear();
    for (std::size_t i = 8; i < f.payload.size(); i += 4) g.view.push_back(get_u32(f.payload.data() + i));
    std::sort(g.view.begin(), g.view.end());
    install_group_engines(f.h.group, g, now);
    if (g.bm) g.bm->start_at(f.h.seq);
    return;
  }
  case FrameType::view: {
    auto it = groups_.find(f.h.group);
    if (it == groups_.end() || !it->second.ready) return;
    if ((f.payload.size() % 4) != 0) return drops_.add(DropReason::malformed_payload);
    if (!seq_lt(it->second.view_no, f.h.seq)) return; // old or repeated view
    std::vector<MemberId> v;
    for (std::size_t i = 0; i < f.payload.size(); i += 4) v.push_back(get_u32(f.payload.data() + i));
    std::sort(v.begin(), v.end());
    it->second.view_no = f.h.seq;
    set_view(f.h.group, it->second, std::move(v), now);
    return;
  }
  case FrameType::release: {
    auto it = groups_.find(f.h.group);
    if (it != groups_.end() && it->second.bm) it->second.bm->on_release(f.h.seq);
    return;
  }
  case FrameType::close:
    apply_close(f);
    return;
  default:
    return;
  }
}

void SessionCore::remove_member(MemberId m, bool evicted, Nanos now) {
  auto it = members_.find(m);
  if (it == members_.end()) return;
  if (evicted) {
    ++stats_.evictions;
    send(&it->second.addr, FrameType::evicted, 0, m, 0);
    evicted_[m] = now;
    if (evicted_.size() > kMaxMembers) evicted_.erase(evicted_.begin());
  }
  by_nonce_.erase(it->second.nonce);
  members_.erase(it);
  for (auto &[gid, g] : groups_) {
    std::erase(g.pending, m);
    if (g.in_view(m)) {
      auto v = g.view;
      std::erase(v, m);
      set_view(gid, g, std::move(v), now);
    }
  }
}

void SessionCore::start_join(Nanos now) {
  if (cfg_.role != Role::member || state_ != NodeState::joining) return;
  FrameHeader h;
  h.type = FrameType::join;
  h.seq = cfg_.join_nonce;
  scratch_.clear();
  codec_.encode(h, {}, scratch_);
  emit_(&cfg_.coordinator_addr, scratch_);
  last_join_tx_ = now;
}

void SessionCore::leave(Nanos) {
  if (cfg_.role == Role::member && state_ == NodeState::joined) {
    send(&cfg_.coordinator_addr, FrameType::leave, 0, 0, 0);
    send(&cfg_.coordinator_addr, FrameType::leave, 0, 0, 0); // one loss should not cost a timeout
  }
  state_ = NodeState::closed;
}

void SessionCore::send_close(const std::vector<std::pair<GroupId, std::uint64_t>> &groups, bool group_only) {
  std::vector<std::uint8_t> payload;
  for (const auto &[gid, released_until] : groups) {
    std::uint8_t e[16];
    put_u32(e, gid);
    put_u32(e + 4, 0);
    put_u64(e + 8, released_until);
    payload.insert(payload.end(), e, e + 16);
    if (payload.size() >= 16 * 64) break;
  }
  send(nullptr, FrameType::close, 0, group_only ? 1 : 0, 0, payload);
}

void SessionCore::apply_close(const Frame &f) {
  if (f.payload.size() % 16 != 0) return drops_.add(DropReason::malformed_payload);
  // Complete the barriers the coordinator released (a lost RELEASE must not fail the last round).
  for (std::size_t i = 0; i < f.payload.size(); i += 16) {
    auto it = groups_.find(get_u32(f.payload.data() + i));
    if (it == groups_.end()) continue;
    const std::uint64_t released_until = get_u64(f.payload.data() + i + 8);
    if (it->second.bm && released_until != 0) it->second.bm->on_release(released_until - 1);
    it->second.closed = true;
  }
  if (f.h.aux == 0) state_ = NodeState::closed; // the whole session ends
}

void SessionCore::announce_close(Nanos) {
  if (cfg_.role != Role::coordinator || state_ == NodeState::closed) return;
  std::vector<std::pair<GroupId, std::uint64_t>> groups(retired_barriers_.begin(), retired_barriers_.end());
  for (const auto &[gid, g] : groups_)
    if (g.bc) groups.emplace_back(gid, g.bc->current_round());
  send_close(groups, false);
}

void SessionCore::tick(Nanos now) {
  if (state_ == NodeState::closed) return;
  // If we ourselves were stopped (SIGSTOP, a VM pause, a starved progress thread) for a long
  // time, silence from peers proves nothing yet: give them half a timeout to show up again.
  const Nanos grace = cfg_.liveness_timeout / 2;
  if (last_tick_ != 0 && now - last_tick_ > grace) {
    if (cfg_.role == Role::member) {
      coord_last_rx_ = std::max(coord_last_rx_, now - grace);
      last_heartbeat_ = 0; // and tell the coordinator we are back (it may have evicted us)
    } else {
      for (auto &[id, m] : members_) m.last_rx = std::max(m.last_rx, now - grace);
    }
  }
  last_tick_ = now;
  if (cfg_.role == Role::member) {
    if (state_ == NodeState::joining) {
      if (now - last_join_tx_ >= cfg_.join_retry) start_join(now);
      return;
    }
    if (state_ != NodeState::joined) return;
    if (now - coord_last_rx_ > cfg_.liveness_timeout) {
      state_ = NodeState::coordinator_lost;
      return;
    }
    if (now - last_heartbeat_ >= cfg_.heartbeat_interval) {
      send(&cfg_.coordinator_addr, FrameType::heartbeat, 0, 0, 0);
      last_heartbeat_ = now;
      ++stats_.heartbeats_sent;
    }
    for (auto &[gid, g] : groups_) {
      if (!g.ready && now - g.last_join_tx >= cfg_.join_retry) {
        send(&cfg_.coordinator_addr, FrameType::group_join, gid, static_cast<std::uint32_t>(g.kind), 0);
        g.last_join_tx = now;
      }
    }
  } else {
    std::vector<MemberId> dead;
    for (const auto &[id, m] : members_)
      if (now - m.last_rx > cfg_.liveness_timeout) dead.push_back(id);
    for (MemberId id : dead) remove_member(id, true, now);
    if (now - last_heartbeat_ >= cfg_.heartbeat_interval) {
      send(nullptr, FrameType::heartbeat, 0, 0, 0);
      last_heartbeat_ = now;
      ++stats_.heartbeats_sent;
    }
    if (now - last_view_refresh_ >= cfg_.heartbeat_interval) {
      // Views are re-sent periodically so a lost VIEW frame costs at most one interval.
      for (const auto &[gid, g] : groups_) send_view(gid, g, nullptr);
      last_view_refresh_ = now;
    }
  }
  for (auto &[gid, g] : groups_) {
    if (!g.ready) continue;
    if (g.bm) g.bm->tick(now);
    if (g.sender) {
      g.sender->flush(now);
      g.sender->tick(now);
    }
    for (auto &[id, r] : g.receivers) r->tick(now);
  }
}

} // namespace camure::net
