// Session protocol: barrier and broadcast groups (admission, views, per-group engines, frames).
#include "runtime/net/session_core.hpp"

#include <algorithm>

namespace camure::net {

bool SessionCore::Group::in_view(MemberId m) const { return std::binary_search(view.begin(), view.end(), m); }

SessionCore::Group *SessionCore::find_group(GroupId gid, GroupKind k) {
  auto it = groups_.find(gid);
  return it == groups_.end() || it->second.kind != k ? nullptr : &it->second;
}
const SessionCore::Group *SessionCore::find_group(GroupId gid, GroupKind k) const {
  auto it = groups_.find(gid);
  return it == groups_.end() || it->second.kind != k ? nullptr : &it->second;
}

void SessionCore::install_group_engines(GroupId gid, Group &g, Nanos now) {
  if (g.kind == GroupKind::barrier) {
    if (cfg_.role == Role::coordinator)
      g.bc = std::make_unique<BarrierCoordinator>(gid, codec_, ctx_, emit_, cfg_.retransmit_interval / 2);
    else
      g.bm = std::make_unique<BarrierMember>(gid, codec_, ctx_, emit_, cfg_.coordinator_addr, cfg_.retransmit_interval);
    return;
  }
  SenderConfig sc;
  sc.group = gid;
  sc.max_datagram = cfg_.max_datagram;
  sc.window = cfg_.window;
  sc.initial_seq = cfg_.initial_seq;
  sc.repair_holdoff = cfg_.retransmit_interval / 4;
  sc.status_interval = cfg_.retransmit_interval;
  g.sender = std::make_unique<SenderStream>(sc, codec_, ctx_, emit_);
  g.sender->set_members(g.view, now);
}

std::error_code SessionCore::create_group(GroupId gid, GroupKind k, Nanos now) {
  if (cfg_.role != Role::coordinator) return make_error_code(std::errc::operation_not_permitted);
  if (groups_.contains(gid)) return make_error_code(std::errc::file_exists);
  Group &g = groups_[gid];
  g.kind = k;
  g.ready = true;
  g.view = {kCoordinatorId};
  g.view_no = 1;
  install_group_engines(gid, g, now);
  return {};
}

std::error_code SessionCore::join_group(GroupId gid, GroupKind k, Nanos now) {
  if (cfg_.role != Role::member) return make_error_code(std::errc::operation_not_permitted);
  if (groups_.contains(gid)) return make_error_code(std::errc::file_exists);
  Group &g = groups_[gid];
  g.kind = k;
  if (state_ == NodeState::joined) {
    send(&cfg_.coordinator_addr, FrameType::group_join, gid, static_cast<std::uint32_t>(k), 0);
    g.last_join_tx = now;
  }
  return {};
}

void SessionCore::leave_group(GroupId gid, Nanos now) {
  auto it = groups_.find(gid);
  if (it == groups_.end()) return;
  if (cfg_.role == Role::member) {
    if (state_ == NodeState::joined && it->second.ready)
      send(&cfg_.coordinator_addr, FrameType::group_leave, gid, 0, 0);
    groups_.erase(it);
    return;
  }
  (void)now;
  // Coordinator: the group ends. Members learn it (with the rounds released, so their last
  // barrier completes even if its RELEASE was lost); late ARRIVE retransmits still get answers.
  if (it->second.bc) retired_barriers_[gid] = it->second.bc->current_round();
  std::vector<std::pair<GroupId, std::uint64_t>> closing = {{gid, it->second.bc ? it->second.bc->current_round() : 0}};
  send_close(closing, true);
  groups_.erase(it);
}

bool SessionCore::group_closed(GroupId gid) const {
  auto it = groups_.find(gid);
  return it != groups_.end() && it->second.closed;
}

bool SessionCore::group_ready(GroupId gid) const {
  auto it = groups_.find(gid);
  return it != groups_.end() && it->second.ready;
}

std::size_t SessionCore::pending(GroupId gid) const {
  auto it = groups_.find(gid);
  return it == groups_.end() ? 0 : it->second.pending.size();
}

std::size_t SessionCore::members(GroupId gid) const {
  auto it = groups_.find(gid);
  if (it == groups_.end()) return 0;
  return static_cast<std::size_t>(std::count_if(it->second.view.begin(), it->second.view.end(),
                                                [](MemberId m) { return m != kCoordinatorId; }));
}

std::size_t SessionCore::accept(GroupId gid, Nanos now) {
  auto it = groups_.find(gid);
  if (it == groups_.end() || cfg_.role != Role::coordinator) return 0;
  Group &g = it->second;
  std::vector<MemberId> admitted;
  for (MemberId m : g.pending)
    if (members_.contains(m) && !g.in_view(m)) admitted.push_back(m);
  g.pending.clear();
  if (admitted.empty()) return 0;
  auto v = g.view;
  v.insert(v.end(), admitted.begin(), admitted.end());
  std::sort(v.begin(), v.end());
  set_view(gid, g, std::move(v), now);
  for (MemberId m : admitted) send_welcome(gid, g, m);
  return admitted.size();
}

void SessionCore::set_view(GroupId gid, Group &g, std::vector<MemberId> view, Nanos now) {
  g.view = std::move(view);
  if (cfg_.role == Role::coordinator) {
    ++g.view_no;
    send_view(gid, g, nullptr);
  }
  if (g.sender) g.sender->set_members(g.view, now);
  if (g.bc) g.bc->on_view(g.view, now);
  // Streams of senders that left are dropped; a member that rejoins gets a new id.
  std::erase_if(g.receivers, [&](const auto &kv) { return !g.in_view(kv.first); });
}

void SessionCore::send_view(GroupId gid, const Group &g, const PeerAddr *to) {
  std::vector<std::uint8_t> payload(4 * g.view.size());
  for (std::size_t i = 0; i < g.view.size(); ++i) put_u32(payload.data() + 4 * i, g.view[i]);
  send(to, FrameType::view, gid, static_cast<std::uint32_t>(g.kind), g.view_no, payload);
  ++stats_.views_sent;
}

void SessionCore::send_welcome(GroupId gid, const Group &g, MemberId m) {
  const PeerAddr *to = addr_of(m);
  if (!to) return;
  std::vector<std::uint8_t> payload(8 + 4 * g.view.size());
  put_u64(payload.data(), g.view_no);
  for (std::size_t i = 0; i < g.view.size(); ++i) put_u32(payload.data() + 8 + 4 * i, g.view[i]);
  const std::uint64_t round = g.bc ? g.bc->current_round() : 0;
  send(to, FrameType::welcome, gid, static_cast<std::uint32_t>(g.kind), round, payload);
}

ReceiverStream &SessionCore::receiver(GroupId gid, Group &g, MemberId sender) {
  auto &slot = g.receivers[sender];
  if (!slot) {
    ReceiverConfig rc;
    rc.group = gid;
    rc.sender = sender;
    rc.window = cfg_.window;
    rc.nak_interval = cfg_.retransmit_interval;
    rc.ack_interval = cfg_.retransmit_interval;
    Group *grp = &g;
    slot = std::make_unique<ReceiverStream>(rc, codec_, ctx_, emit_, [grp](CoreMessage &&m) {
      grp->inbox_bytes += m.size;
      grp->inbox.push_back(std::move(m));
    });
    if (cfg_.max_unread) {
      const std::size_t limit = cfg_.max_unread;
      slot->set_congested([grp, limit] { return grp->inbox_bytes > limit; });
    }
  }
  return *slot;
}

void SessionCore::on_group_frame(const Frame &f, const PeerAddr &from, const Buffer &dg, Nanos now) {
  auto it = groups_.find(f.h.group);
  if (it == groups_.end() && f.h.type == FrameType::arrive && cfg_.role == Role::coordinator) {
    // An admitted member still retrying the last round of a group that ended: answer it.
    auto r = retired_barriers_.find(f.h.group);
    if (r != retired_barriers_.end() && r->second != 0 && seq_lt(f.h.seq, r->second))
      send(&from, FrameType::release, f.h.group, 0, r->second - 1);
    return;
  }
  if (it == groups_.end() || !it->second.ready) return;
  Group &g = it->second;
  if (!g.in_view(f.h.sender)) return drops_.add(DropReason::unknown_sender); // strangers get nothing from us
  if (cfg_.role == Role::member && f.h.sender != kCoordinatorId) peer_addr_[f.h.sender] = from;
  switch (f.h.type) {
  case FrameType::arrive:
    if (g.bc) g.bc->on_arrive(f.h.sender, f.h.seq, from, g.view, now);
    return;
  case FrameType::data: {
    if (g.kind != GroupKind::broadcast) return;
    auto &r = receiver(f.h.group, g, f.h.sender);
    r.set_sender_addr(from);
    r.on_data(f.h.seq, dg, f.payload, now);
    return;
  }
  case FrameType::status: {
    if (g.kind != GroupKind::broadcast) return;
    if (f.payload.size() % 16 != 0) return drops_.add(DropReason::malformed_payload);
    auto &r = receiver(f.h.group, g, f.h.sender);
    r.set_sender_addr(from);
    r.on_status(f.h.seq, f.payload, now);
    return;
  }
  case FrameType::ack:
    if (g.sender && f.h.aux == ctx_.self) g.sender->on_ack(f.h.sender, f.h.seq, now);
    return;
  case FrameType::nak:
    if (f.payload.size() % 16 != 0) return drops_.add(DropReason::malformed_payload);
    if (g.sender && f.h.aux == ctx_.self) g.sender->on_nak(f.h.sender, from, f.payload, now);
    return;
  default:
    return;
  }
}

std::uint64_t SessionCore::barrier_arrive(GroupId gid, Nanos now) {
  Group *g = find_group(gid, GroupKind::barrier);
  if (!g || !g->ready) return 0;
  if (g->bc) return g->bc->arrive_self(g->view, now);
  return g->bm->arrive(now);
}

bool SessionCore::barrier_released(GroupId gid, std::uint64_t round) const {
  const Group *g = find_group(gid, GroupKind::barrier);
  if (!g || !g->ready) return false;
  return g->bc ? g->bc->released(round) : g->bm->released(round);
}

SenderStream::WriteResult SessionCore::bcast_write(GroupId gid, std::span<const std::uint8_t> data, bool begin,
                                                   bool end, Nanos now) {
  Group *g = find_group(gid, GroupKind::broadcast);
  if (!g || !g->sender) return {};
  return g->sender->write(data, begin, end, now);
}

bool SessionCore::bcast_flush(GroupId gid, Nanos now) {
  Group *g = find_group(gid, GroupKind::broadcast);
  return !g || !g->sender || g->sender->flush(now);
}

void SessionCore::flush_all(Nanos now) {
  for (auto &[gid, g] : groups_)
    if (g.sender && g.ready) g.sender->flush(now);
}

bool SessionCore::bcast_has_open(GroupId gid) const {
  const Group *g = find_group(gid, GroupKind::broadcast);
  return g && g->sender && g->sender->has_open_data();
}

bool SessionCore::bcast_all_acked(GroupId gid) const {
  const Group *g = find_group(gid, GroupKind::broadcast);
  return !g || !g->sender || g->sender->all_acked();
}

void SessionCore::bcast_request_ack(GroupId gid, Nanos now) {
  Group *g = find_group(gid, GroupKind::broadcast);
  if (g && g->sender) g->sender->request_ack(now);
}

bool SessionCore::bcast_pop(GroupId gid, CoreMessage &out) {
  Group *g = find_group(gid, GroupKind::broadcast);
  if (!g || g->inbox.empty()) return false;
  out = std::move(g->inbox.front());
  g->inbox.pop_front();
  g->inbox_bytes -= out.size;
  return true;
}

std::size_t SessionCore::bcast_queued(GroupId gid) const {
  const Group *g = find_group(gid, GroupKind::broadcast);
  return g ? g->inbox.size() : 0;
}

} // namespace camure::net
