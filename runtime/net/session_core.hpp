// The sans-IO session protocol of one node (coordinator or member): membership, liveness, groups.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <system_error>
#include <vector>

#include "runtime/net/barrier.hpp"
#include "runtime/net/emit.hpp"
#include "runtime/net/frame.hpp"
#include "runtime/net/message.hpp"
#include "runtime/net/receiver_stream.hpp"
#include "runtime/net/sender_stream.hpp"
#include "runtime/net/seq.hpp"

namespace camure::net {

enum class Role : std::uint8_t { coordinator, member };
enum class GroupKind : std::uint8_t { barrier = 1, broadcast = 2 };
enum class NodeState : std::uint8_t { joining, joined, evicted, coordinator_lost, closed };

struct CoreConfig {
  Role role = Role::member;
  std::optional<std::array<std::uint8_t, kKeySize>> key;
  std::uint64_t session_id = 0;        ///< coordinator: this session's id (non-zero)
  std::uint32_t epoch = 0;             ///< coordinator: its incarnation (non-zero)
  std::uint64_t join_nonce = 0;        ///< member: random, identifies its JOIN retries
  PeerAddr coordinator_addr;           ///< member: where JOIN and unicast frames go
  std::vector<std::uint8_t> multicast_info; ///< coordinator: handed to members in JOIN_ACK
  std::size_t max_datagram = 1400;
  std::size_t window = 1 << 20;
  std::size_t max_unread = 64 << 20; ///< received-but-unread bytes per group before ACKs pause (0 = no limit)
  Nanos heartbeat_interval = 100'000'000;
  Nanos liveness_timeout = 1'000'000'000;
  Nanos retransmit_interval = 1'000'000; ///< ARRIVE, NAK, ACK and STATUS pacing
  Nanos join_retry = 20'000'000;         ///< JOIN / GROUP_JOIN pacing
  std::uint64_t initial_seq = 0;         ///< first broadcast sequence (tests start near the wrap)
};

struct CoreStats {
  std::uint64_t evictions = 0, joins = 0, leaves = 0, views_sent = 0, heartbeats_sent = 0;
  std::uint64_t barrier_retransmits = 0, protocol_errors = 0;
  SenderStats sender;     ///< summed over this node's sender streams
  ReceiverStats receiver; ///< summed over this node's receiver streams
};

/// One node's protocol state. Not thread-safe: the owner serialises calls (the transport holds
/// a mutex). Every method takes `now`; datagrams leave through the Emit given at construction.
class SessionCore {
public:
  SessionCore(CoreConfig cfg, Emit emit);
  SessionCore(const SessionCore &) = delete;
  SessionCore &operator=(const SessionCore &) = delete;
  ~SessionCore();

  void on_datagram(const PeerAddr &from, const Buffer &datagram, Nanos now);
  void tick(Nanos now);

  Role role() const noexcept { return cfg_.role; }
  NodeState state() const noexcept { return state_; }
  MemberId self() const noexcept { return ctx_.self; }
  std::uint64_t session_id() const noexcept { return ctx_.session; }
  const DropCounters &drops() const noexcept { return drops_; }
  CoreStats stats() const;
  /// Members the coordinator evicted so far (cheap; the Node wakes waiters when it changes).
  std::uint64_t evictions() const noexcept { return stats_.evictions; }
  /// Member: the coordinator's multicast endpoint description from JOIN_ACK.
  const std::vector<std::uint8_t> &multicast_info() const noexcept { return multicast_info_; }
  /// Admitted session members (coordinator view of the session), excluding the coordinator.
  std::vector<MemberId> session_members() const;

  void start_join(Nanos now);   ///< member: send JOIN (retried by tick) until JOIN_ACK
  void leave(Nanos now);        ///< member: tell the coordinator, then state closed
  void close() noexcept { state_ = NodeState::closed; }
  /// Coordinator: multicasts CLOSE (with every barrier group's released rounds, so a member
  /// whose last RELEASE was lost still completes its barrier). Call before a short linger.
  void announce_close(Nanos now);

  std::error_code create_group(GroupId g, GroupKind k, Nanos now); ///< coordinator
  std::error_code join_group(GroupId g, GroupKind k, Nanos now);   ///< member: retried until WELCOME
  void leave_group(GroupId g, Nanos now);
  bool group_ready(GroupId g) const;
  bool group_closed(GroupId g) const; ///< member: the coordinator ended the group (or the session)
  std::size_t pending(GroupId g) const;       ///< coordinator: members asking to join g
  std::size_t accept(GroupId g, Nanos now);   ///< coordinator: admit every pending member
  std::size_t members(GroupId g) const;       ///< members in g's view, excluding the coordinator

  std::uint64_t barrier_arrive(GroupId g, Nanos now);
  bool barrier_released(GroupId g, std::uint64_t round) const;

  SenderStream::WriteResult bcast_write(GroupId g, std::span<const std::uint8_t> data, bool begin, bool end, Nanos now);
  bool bcast_flush(GroupId g, Nanos now);
  void flush_all(Nanos now); ///< seals every sender's partly filled packet the window allows
  bool bcast_has_open(GroupId g) const;
  bool bcast_all_acked(GroupId g) const;
  void bcast_request_ack(GroupId g, Nanos now); ///< see SenderStream::request_ack
  bool bcast_pop(GroupId g, CoreMessage &out);
  std::size_t bcast_queued(GroupId g) const;

private:
  struct Group {
    GroupKind kind = GroupKind::barrier;
    bool ready = false;
    bool closed = false; ///< member: the coordinator ended this group
    Nanos last_join_tx = 0;
    std::uint64_t view_no = 0;
    std::vector<MemberId> view; ///< sorted; includes the coordinator
    std::vector<MemberId> pending;
    std::unique_ptr<BarrierCoordinator> bc;
    std::unique_ptr<BarrierMember> bm;
    std::unique_ptr<SenderStream> sender;
    std::map<MemberId, std::unique_ptr<ReceiverStream>> receivers;
    std::deque<CoreMessage> inbox;
    std::size_t inbox_bytes = 0;
    bool in_view(MemberId m) const;
  };
  struct MemberInfo {
    PeerAddr addr;
    std::uint64_t nonce = 0;
    Nanos last_rx = 0;
  };

  void send(const PeerAddr *to, FrameType t, GroupId g, std::uint32_t aux, std::uint64_t seq,
            std::span<const std::uint8_t> payload = {});
  const PeerAddr *addr_of(MemberId m) const;
  bool on_coordinator_frame(const Frame &f, const PeerAddr &from, Nanos now);
  void on_member_frame(const Frame &f, const PeerAddr &from, Nanos now);
  void on_group_frame(const Frame &f, const PeerAddr &from, const Buffer &dg, Nanos now);
  void remove_member(MemberId m, bool evicted, Nanos now);
  void set_view(GroupId gid, Group &g, std::vector<MemberId> view, Nanos now);
  void send_view(GroupId gid, const Group &g, const PeerAddr *to);
  void send_welcome(GroupId gid, const Group &g, MemberId m);
  void install_group_engines(GroupId gid, Group &g, Nanos now);
  Group *find_group(GroupId g, GroupKind k);
  const Group *find_group(GroupId g, GroupKind k) const;
  ReceiverStream &receiver(GroupId gid, Group &g, MemberId sender);

  CoreConfig cfg_;
  Emit emit_;
  Codec codec_;
  FrameContext ctx_;
  NodeState state_;
  DropCounters drops_;
  std::map<GroupId, Group> groups_;
  // coordinator
  std::map<MemberId, MemberInfo> members_;
  std::map<std::uint64_t, MemberId> by_nonce_;
  std::map<MemberId, Nanos> evicted_; ///< recently evicted ids -> last EVICTED reply
  std::map<GroupId, std::uint64_t> retired_barriers_; ///< ended barrier groups -> rounds released
  void send_close(const std::vector<std::pair<GroupId, std::uint64_t>> &groups, bool group_only);
  void apply_close(const Frame &f);
  MemberId next_id_ = 1;
  // member
  std::vector<std::uint8_t> multicast_info_;
  std::map<MemberId, PeerAddr> peer_addr_;
  Nanos coord_last_rx_ = 0;
  Nanos last_join_tx_ = 0;
  Nanos last_heartbeat_ = 0;
  Nanos last_view_refresh_ = 0;
  Nanos last_tick_ = 0; ///< a long gap means this process was not running: do not judge peers by it
  CoreStats stats_;
  std::vector<std::uint8_t> scratch_;
};

} // namespace camure::net
