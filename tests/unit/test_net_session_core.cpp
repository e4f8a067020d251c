// Unit tests for the sans-IO session protocol on a fake network with a fake clock and seeded loss.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "test_net_fake_network.hpp"

using namespace camure::net;
using namespace camure::net::test;

namespace {

constexpr GroupId kG = 0; // group 0 is a valid id, as in the seed

/// A coordinator (node 0) and n members, all joined.
void start(FakeNetwork &net, std::size_t n, std::uint64_t initial_seq = 0, std::size_t max_datagram = 1400) {
  auto cc = coordinator_config(initial_seq);
  cc.max_datagram = max_datagram;
  net.add(cc);
  for (std::size_t i = 1; i <= n; ++i) {
    auto mc = member_config(i, initial_seq);
    mc.max_datagram = max_datagram;
    net.add(mc).start_join(net.now());
  }
  ASSERT_TRUE(net.run_until([&] {
    for (std::size_t i = 1; i <= n; ++i)
      if (net.node(i).state() != NodeState::joined) return false;
    return true;
  }));
}

void form_group(FakeNetwork &net, GroupKind kind, GroupId g = kG) {
  ASSERT_FALSE(net.node(0).create_group(g, kind, net.now()));
  for (std::size_t i = 1; i < net.size(); ++i) ASSERT_FALSE(net.node(i).join_group(g, kind, net.now()));
  ASSERT_TRUE(net.run_until([&] {
    net.node(0).accept(g, net.now());
    for (std::size_t i = 1; i < net.size(); ++i)
      if (!net.node(i).group_ready(g)) return false;
    return net.node(0).members(g) == net.size() - 1;
  }));
}

std::vector<std::uint8_t> message(std::uint64_t sender, std::uint64_t index, std::size_t size) {
  std::vector<std::uint8_t> m(size);
  std::mt19937_64 r(sender * 1'000'003 + index);
  for (auto &b : m) b = static_cast<std::uint8_t>(r());
  return m;
}

/// Sends msgs from node `from`, stepping the network whenever the window is full.
void send_all(FakeNetwork &net, std::size_t from, const std::vector<std::vector<std::uint8_t>> &msgs) {
  for (const auto &m : msgs) {
    std::span<const std::uint8_t> rest(m);
    bool begin = true;
    for (int guard = 0;; ++guard) {
      ASSERT_LT(guard, 1'000'000) << "window never opened";
      auto r = net.node(from).bcast_write(kG, rest, begin, true, net.now());
      rest = rest.subspan(r.consumed);
      if (r.consumed) begin = false;
      if (r.done) break;
      net.step();
    }
  }
  ASSERT_TRUE(net.run_until([&] { return net.node(from).bcast_flush(kG, net.now()); }));
}

struct LossCase {
  double drop, dup, reorder;
};

class NetLoss : public ::testing::TestWithParam<LossCase> {};

} // namespace

TEST(NetSessionCore, MembersJoinWithUniqueIdsAndSessionId) {
  FakeNetwork net;
  start(net, 5);
  std::set<MemberId> ids;
  for (std::size_t i = 1; i <= 5; ++i) {
    ids.insert(net.node(i).self());
    EXPECT_EQ(net.node(i).session_id(), net.node(0).session_id());
  }
  EXPECT_EQ(ids.size(), 5u);
  EXPECT_FALSE(ids.contains(kCoordinatorId));
  EXPECT_EQ(net.node(0).session_members().size(), 5u);
}

TEST_P(NetLoss, BarrierRoundsNeverReleaseEarly) {
  const auto lc = GetParam();
  FakeNetwork net({lc.drop, lc.dup, lc.reorder, 42});
  start(net, 4);
  form_group(net, GroupKind::barrier);
  constexpr int kRounds = 30;
  std::vector<int> arrived(net.size(), 0);
  std::vector<std::uint64_t> waiting(net.size());
  std::vector<bool> in_round(net.size(), false);
  for (int guard = 0;; ++guard) {
    ASSERT_LT(guard, 2'000'000);
    bool all_done = true;
    for (std::size_t i = 0; i < net.size(); ++i) {
      if (in_round[i] && net.node(i).barrier_released(kG, waiting[i])) {
        // Released: every node must have arrived at this round already.
        for (std::size_t j = 0; j < net.size(); ++j) ASSERT_GE(arrived[j], arrived[i]) << "node " << j;
        in_round[i] = false;
      }
      if (!in_round[i] && arrived[i] < kRounds) {
        waiting[i] = net.node(i).barrier_arrive(kG, net.now());
        in_round[i] = true;
        ++arrived[i];
      }
      all_done &= arrived[i] == kRounds && !in_round[i];
    }
    if (all_done) break;
    net.step();
  }
  if (lc.drop > 0) {
    EXPECT_GT(net.dropped(), 0u);
  }
}

TEST_P(NetLoss, BroadcastStreamsAreFifoGapFreeExactlyOnce) {
  const auto lc = GetParam();
  FakeNetwork net({lc.drop, lc.dup, lc.reorder, 7});
  start(net, 3);
  form_group(net, GroupKind::broadcast);
  // Two senders at once: the coordinator and member 1, each its own ordered stream.
  std::map<std::size_t, std::vector<std::vector<std::uint8_t>>> sent;
  std::mt19937 sizes(3);
  for (std::size_t s : {std::size_t{0}, std::size_t{1}})
    for (int k = 0; k < 150; ++k) sent[s].push_back(message(s, k, sizes() % 4 == 0 ? sizes() % 5000 : sizes() % 40));
  ASSERT_TRUE(net.run_until([&] { return net.node(1).members(kG) == 3; })) << "member 1 learns the view";
  send_all(net, 0, sent[0]);
  send_all(net, 1, sent[1]);
  ASSERT_TRUE(net.run_until([&] { return net.node(0).bcast_all_acked(kG) && net.node(1).bcast_all_acked(kG); }));
  for (std::size_t r = 0; r < net.size(); ++r) {
    std::map<MemberId, std::size_t> next;
    CoreMessage m;
    while (net.node(r).bcast_pop(kG, m)) {
      const std::size_t s = m.sender == kCoordinatorId ? 0 : 1;
      ASSERT_EQ(m.sender, net.node(s).self());
      ASSERT_NE(s, r) << "own messages are not delivered back";
      const std::size_t k = next[m.sender]++;
      ASSERT_LT(k, sent[s].size());
      ASSERT_EQ(std::vector<std::uint8_t>(m.bytes().begin(), m.bytes().end()), sent[s][k]) << "receiver " << r;
    }
    for (std::size_t s : {std::size_t{0}, std::size_t{1}})
      if (s != r) {
        EXPECT_EQ(next[net.node(s).self()], sent[s].size()) << "receiver " << r << " sender " << s;
      }
  }
  if (lc.drop > 0) {
    EXPECT_GT(net.node(0).stats().sender.repairs_unicast + net.node(0).stats().sender.repairs_multicast, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Loss, NetLoss,
                         ::testing::Values(LossCase{0, 0, 0}, LossCase{0.05, 0.05, 0.05}, LossCase{0.1, 0.1, 0.1},
                                           LossCase{0.3, 0.1, 0.2}),
                         [](const auto &pinfo) { return "drop" + std::to_string(static_cast<int>(pinfo.param.drop * 100)); });

TEST(NetSessionCore, SequenceNumbersWrapAround) {
  FakeNetwork net({0.1, 0.05, 0.05, 11});
  start(net, 2, ~std::uint64_t{0} - 20);
  form_group(net, GroupKind::broadcast);
  std::vector<std::vector<std::uint8_t>> msgs;
  for (int k = 0; k < 300; ++k) msgs.push_back(message(0, k, 700));
  send_all(net, 0, msgs);
  ASSERT_TRUE(net.run_until([&] { return net.node(0).bcast_all_acked(kG); }));
  for (std::size_t r = 1; r <= 2; ++r) {
    CoreMessage m;
    std::size_t k = 0;
    while (net.node(r).bcast_pop(kG, m)) ASSERT_EQ(std::vector<std::uint8_t>(m.bytes().begin(), m.bytes().end()), msgs[k++]);
    EXPECT_EQ(k, msgs.size());
  }
}

TEST(NetSessionCore, LargeMessagesAreFragmentedAndReassembled) {
  FakeNetwork net({0.05, 0.02, 0.02, 5});
  start(net, 2, 0, 1400);
  form_group(net, GroupKind::broadcast);
  std::vector<std::vector<std::uint8_t>> msgs = {message(0, 1, 3 << 20), {}, message(0, 2, 1), message(0, 3, 100'000)};
  send_all(net, 0, msgs);
  ASSERT_TRUE(net.run_until([&] { return net.node(0).bcast_all_acked(kG); }, 60'000'000'000));
  for (std::size_t r = 1; r <= 2; ++r) {
    CoreMessage m;
    for (const auto &want : msgs) {
      ASSERT_TRUE(net.node(r).bcast_pop(kG, m));
      ASSERT_EQ(m.size, want.size());
      ASSERT_TRUE(std::equal(want.begin(), want.end(), m.bytes().begin()));
    }
    EXPECT_FALSE(net.node(r).bcast_pop(kG, m));
  }
}

TEST(NetSessionCore, SmallMessagesArePackedIntoFewDatagrams) {
  FakeNetwork net;
  start(net, 1);
  form_group(net, GroupKind::broadcast);
  std::vector<std::vector<std::uint8_t>> msgs(1000, std::vector<std::uint8_t>(8, 1));
  send_all(net, 0, msgs);
  ASSERT_TRUE(net.run_until([&] { return net.node(0).bcast_all_acked(kG); }));
  EXPECT_LE(net.node(0).stats().sender.packets, 20u) << "1000 x 8 B must pack ~80 per 1400 B datagram";
  EXPECT_EQ(net.node(1).bcast_queued(kG), 1000u);
  // Cumulative ACKs: far fewer ACKs than packets... and never one per packet per member.
  EXPECT_LE(net.node(1).stats().receiver.acks, net.node(0).stats().sender.packets + 5);
}

TEST(NetSessionCore, LateJoinerReceivesOnlyWhatIsSentAfterAdmission) {
  FakeNetwork net;
  start(net, 2);
  form_group(net, GroupKind::broadcast); // members 1, 2
  send_all(net, 0, {message(0, 0, 10), message(0, 1, 10)});
  ASSERT_TRUE(net.run_until([&] { return net.node(0).bcast_all_acked(kG); }));
  auto mc = member_config(3);
  net.add(mc).start_join(net.now());
  ASSERT_TRUE(net.run_until([&] { return net.node(3).state() == NodeState::joined; }));
  ASSERT_FALSE(net.node(3).join_group(kG, GroupKind::broadcast, net.now()));
  ASSERT_TRUE(net.run_until([&] {
    net.node(0).accept(kG, net.now());
    return net.node(3).group_ready(kG);
  }));
  send_all(net, 0, {message(0, 2, 10), message(0, 3, 5000)});
  ASSERT_TRUE(net.run_until([&] { return net.node(0).bcast_all_acked(kG); }));
  EXPECT_EQ(net.node(3).bcast_queued(kG), 2u);
  EXPECT_EQ(net.node(1).bcast_queued(kG), 4u);
  CoreMessage m;
  ASSERT_TRUE(net.node(3).bcast_pop(kG, m));
  EXPECT_EQ(std::vector<std::uint8_t>(m.bytes().begin(), m.bytes().end()), message(0, 2, 10));
}

TEST(NetSessionCore, DeadMemberIsEvictedAndBarrierCarriesOn) {
  FakeNetwork net;
  start(net, 3);
  form_group(net, GroupKind::barrier);
  net.crash(2);
  std::vector<std::uint64_t> r(4);
  for (std::size_t i : {0, 1, 3}) r[i] = net.node(i).barrier_arrive(kG, net.now());
  const Nanos t0 = net.now();
  ASSERT_TRUE(net.run_until([&] {
    return net.node(0).barrier_released(kG, r[0]) && net.node(1).barrier_released(kG, r[1]) &&
           net.node(3).barrier_released(kG, r[3]);
  }));
  EXPECT_LE(net.now() - t0, coordinator_config().liveness_timeout + 2 * coordinator_config().heartbeat_interval);
  EXPECT_EQ(net.node(0).members(kG), 2u);
  EXPECT_EQ(net.node(0).stats().evictions, 1u);
}

TEST(NetSessionCore, DeadReceiverNoLongerHoldsBroadcastBack) {
  FakeNetwork net;
  start(net, 3);
  form_group(net, GroupKind::broadcast);
  net.crash(3);
  send_all(net, 0, {message(0, 0, 100'000)}); // more than the 64 KiB window: blocks until eviction
  ASSERT_TRUE(net.run_until([&] { return net.node(0).bcast_all_acked(kG); }));
  EXPECT_EQ(net.node(1).bcast_queued(kG), 1u);
  EXPECT_EQ(net.node(0).members(kG), 2u);
}

TEST(NetSessionCore, MemberLearnsOfItsOwnEviction) {
  FakeNetwork net;
  start(net, 2);
  net.mute(2); // it hears everything, but nothing it says arrives
  ASSERT_TRUE(net.run_until([&] { return net.node(2).state() == NodeState::evicted; }));
  EXPECT_EQ(net.node(1).state(), NodeState::joined);
}

TEST(NetSessionCore, CoordinatorLossIsDetectedWithinTheTimeout) {
  FakeNetwork net;
  start(net, 3);
  form_group(net, GroupKind::barrier);
  net.crash(0);
  const Nanos t0 = net.now();
  ASSERT_TRUE(net.run_until([&] {
    for (std::size_t i = 1; i <= 3; ++i)
      if (net.node(i).state() != NodeState::coordinator_lost) return false;
    return true;
  }));
  EXPECT_LE(net.now() - t0, coordinator_config().liveness_timeout + 1'000'000);
}

TEST(NetSessionCore, TwoSessionsOnOneGroupDoNotSeeEachOther) {
  FakeNetwork net;
  start(net, 1); // session A: nodes 0, 1
  auto cb = coordinator_config();
  cb.session_id = 0x5555;
  net.add(cb); // session B coordinator: node 2, same key on purpose
  auto mb = member_config(9);
  net.add(mb, 2).start_join(net.now()); // node 3 joins B
  ASSERT_TRUE(net.run_until([&] { return net.node(3).state() == NodeState::joined; }));
  ASSERT_FALSE(net.node(0).create_group(kG, GroupKind::broadcast, net.now()));
  ASSERT_FALSE(net.node(2).create_group(kG, GroupKind::broadcast, net.now()));
  ASSERT_FALSE(net.node(1).join_group(kG, GroupKind::broadcast, net.now()));
  ASSERT_FALSE(net.node(3).join_group(kG, GroupKind::broadcast, net.now()));
  ASSERT_TRUE(net.run_until([&] {
    net.node(0).accept(kG, net.now());
    net.node(2).accept(kG, net.now());
    return net.node(1).group_ready(kG) && net.node(3).group_ready(kG);
  }));
  send_all(net, 0, {message(0, 0, 10)});
  ASSERT_TRUE(net.run_until([&] { return net.node(0).bcast_all_acked(kG); }));
  EXPECT_EQ(net.node(1).bcast_queued(kG), 1u);
  EXPECT_EQ(net.node(3).bcast_queued(kG), 0u);
  EXPECT_GT(net.node(3).drops().get(DropReason::wrong_session), 0u);
}

TEST(NetSessionCore, StrangersCannotTriggerRepairs) {
  FakeNetwork net;
  start(net, 1);
  form_group(net, GroupKind::broadcast);
  send_all(net, 0, {message(0, 0, 100)});
  auto before = net.node(0).stats().sender;
  // A NAK with the right key and session but from a member id that is not in the group.
  Codec c(coordinator_config().key);
  FrameHeader h;
  h.type = FrameType::nak;
  h.session = net.node(0).session_id();
  h.epoch = coordinator_config().epoch;
  h.sender = 77;
  h.group = kG;
  std::vector<std::uint8_t> range(16), out;
  put_u64(range.data(), 0);
  put_u32(range.data() + 8, 100);
  c.encode(h, range, out);
  net.inject(1, 0, out);
  // The same NAK signed with another key.
  Codec other(std::array<std::uint8_t, kKeySize>{});
  std::vector<std::uint8_t> forged;
  h.sender = net.node(1).self();
  other.encode(h, range, forged);
  net.inject(1, 0, forged);
  net.step();
  auto after = net.node(0).stats().sender;
  EXPECT_EQ(after.repairs_unicast + after.repairs_multicast, before.repairs_unicast + before.repairs_multicast);
  EXPECT_GE(net.node(0).drops().get(DropReason::unknown_sender), 1u);
  EXPECT_GE(net.node(0).drops().get(DropReason::auth_failed), 1u);
}

TEST(NetSessionCore, GroupEndCompletesABarrierWhoseReleaseWasLost) {
  FakeNetwork net;
  start(net, 2);
  form_group(net, GroupKind::barrier);
  const auto r1 = net.node(1).barrier_arrive(kG, net.now());
  const auto r2 = net.node(2).barrier_arrive(kG, net.now());
  net.step(); // the arrivals reach the coordinator
  net.mute(0);
  const auto r0 = net.node(0).barrier_arrive(kG, net.now());
  ASSERT_TRUE(net.node(0).barrier_released(kG, r0)); // released, but its RELEASE is lost
  net.mute(0, false);
  net.node(0).leave_group(kG, net.now()); // the coordinator ends the group right away
  ASSERT_TRUE(net.run_until([&] { return net.node(1).barrier_released(kG, r1) && net.node(2).barrier_released(kG, r2); },
                            5'000'000));
  EXPECT_TRUE(net.node(1).group_closed(kG));
}

TEST(NetSessionCore, SessionCloseCompletesTheLastBarrierAndClosesMembers) {
  FakeNetwork net;
  start(net, 1);
  form_group(net, GroupKind::barrier);
  const auto r1 = net.node(1).barrier_arrive(kG, net.now());
  net.step();
  net.mute(0);
  net.node(0).barrier_arrive(kG, net.now());
  net.mute(0, false);
  net.node(0).announce_close(net.now());
  net.step();
  EXPECT_TRUE(net.node(1).barrier_released(kG, r1));
  EXPECT_EQ(net.node(1).state(), NodeState::closed);
}

TEST(NetSessionCore, AMemberThatWasStoppedLearnsItWasEvictedNotThatTheCoordinatorDied) {
  FakeNetwork net;
  start(net, 2);
  net.crash(2); // stopped: neither sends nor receives nor ticks
  ASSERT_TRUE(net.run_until([&] { return net.node(0).session_members().size() == 1; }));
  // It wakes up long after its own liveness deadline passed.
  auto &late = net.node(2);
  net.revive(2);
  ASSERT_TRUE(net.run_until([&] { return late.state() != NodeState::joined; }, 2'000'000'000));
  EXPECT_EQ(late.state(), NodeState::evicted);
}

TEST(NetSessionCore, AReceiverThatDoesNotReadHoldsTheSenderBackInsteadOfGrowing) {
  FakeNetwork net;
  auto cc = coordinator_config();
  net.add(cc);
  auto mc = member_config(1);
  mc.max_unread = 20'000;
  net.add(mc).start_join(net.now());
  ASSERT_TRUE(net.run_until([&] { return net.node(1).state() == NodeState::joined; }));
  form_group(net, GroupKind::broadcast);
  std::vector<std::vector<std::uint8_t>> msgs;
  for (int k = 0; k < 100; ++k) msgs.push_back(message(0, k, 4000)); // 400 KB, window 64 KiB
  // A writer that resumes partial writes correctly.
  std::size_t next = 0, off = 0;
  auto pump_sender = [&] {
    while (next < msgs.size()) {
      auto rest = std::span<const std::uint8_t>(msgs[next]).subspan(off);
      auto r = net.node(0).bcast_write(kG, rest, off == 0, true, net.now());
      off += r.consumed;
      if (!r.done) return;
      ++next;
      off = 0;
    }
    net.node(0).bcast_flush(kG, net.now());
  };
  for (int i = 0; i < 2000; ++i) {
    pump_sender();
    net.step();
  }
  EXPECT_LT(next, msgs.size()) << "the sender must be held back";
  EXPECT_LE(net.node(1).bcast_queued(kG) * 4000, 20'000 + 2 * cc.window) << "unread bytes stay bounded";
  // The application reads: everything flows again, in order, exactly once.
  std::size_t k = 0;
  CoreMessage m;
  ASSERT_TRUE(net.run_until([&] {
    pump_sender();
    while (net.node(1).bcast_pop(kG, m)) {
      if (k >= msgs.size() || std::vector<std::uint8_t>(m.bytes().begin(), m.bytes().end()) != msgs[k]) return false;
      ++k;
    }
    return next == msgs.size() && net.node(0).bcast_all_acked(kG) && k == msgs.size();
  }));
}
