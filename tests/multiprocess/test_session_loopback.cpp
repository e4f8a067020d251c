// Multiprocess session tests on loopback: a coordinator and members as separate processes.
#include <cstdio>
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <future>
#include <map>
#include <memory>

#include "support/child.hpp"
#include "test_session_support.hpp"

using namespace camure;
using namespace camure::session;
using camure::test::Child;
using camure::test::Signal;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

constexpr GroupId kBarrier = 0;
constexpr GroupId kBcast = 1;

/// Starts a coordinator child on an ephemeral port; it reports the port through `ports`.
/// body gets the coordinator and returns the exit code.
std::unique_ptr<Child> coordinator(const Endpoint &group, const Signal &ports,
                                   std::function<int(Coordinator &)> body) {
  return std::make_unique<Child>([&group, &ports, body] {
    std::error_code ec;
    auto c = Coordinator::start(Endpoint{"127.0.0.1", 0}, group, test::loopback_options(), ec);
    if (ec) return 90;
    ports.send(c.local_endpoint().port);
    return body(c);
  });
}

std::unique_ptr<Child> member(std::uint16_t port, std::function<int(Member &)> body) {
  return std::make_unique<Child>([port, body] {
    std::error_code ec;
    auto m = Member::join(Endpoint{"127.0.0.1", port}, test::loopback_options(), seconds(10), ec);
    if (ec) return 91;
    return body(m);
  });
}

bool same(const Message &m, std::uint32_t s, std::uint32_t i) {
  const auto want = test::payload(s, i, test::size_of(i));
  return m.size() == want.size() && std::equal(want.begin(), want.end(), m.data().begin());
}

} // namespace

TEST(SessionLoopback, CoordinatorAndEightMembersBarrierAndBroadcast) {
  constexpr int kMembers = 8, kRounds = 200;
  constexpr std::uint32_t kMsgs = 400, kMemberMsgs = 60;
  const Endpoint group = test::unique_group();
  Signal ports;
  auto coord = coordinator(group, ports, [&](Coordinator &c) {
    auto bar = c.create_barrier_group(kBarrier);
    auto bc = c.create_broadcast_group(kBcast);
    std::error_code ec;
    bar.accept_until(kMembers, seconds(20), ec);
    if (ec) return 10;
    bc.accept_until(kMembers, seconds(20), ec);
    if (ec) return 11;
    bar.wait(seconds(20), ec); // everyone is in both groups
    if (ec) return 12;
    for (int r = 0; r < kRounds; ++r) {
      bar.wait(seconds(20), ec);
      if (ec) return 13;
    }
    for (std::uint32_t i = 0; i < kMsgs; ++i) {
      bc.send(test::payload(0, i, test::size_of(i)), seconds(20), ec);
      if (ec) return 14;
    }
    bc.wait(seconds(20), ec);
    if (ec) return 15;
    // Member 1's stream reaches the coordinator too.
    for (std::uint32_t i = 0; i < kMemberMsgs; ++i) {
      auto m = bc.recv(seconds(20), ec);
      if (ec) return 16;
      if (m.sender() != 1 || !same(m, 1, i)) return 17;
    }
    bar.wait(seconds(20), ec); // nobody leaves before everyone has checked
    return ec ? 18 : 0;
  });
  auto port = ports.recv(milliseconds(10000));
  ASSERT_TRUE(port) << "coordinator did not start";
  std::vector<std::unique_ptr<Child>> members;
  for (int k = 0; k < kMembers; ++k) {
    members.push_back(member(static_cast<std::uint16_t>(*port), [&](Member &m) {
      std::error_code ec;
      auto bar = m.join_barrier_group(kBarrier, seconds(20), ec);
      if (ec) return 20;
      auto bc = m.join_broadcast_group(kBcast, seconds(20), ec);
      if (ec) return 21;
      bar.wait(seconds(20), ec);
      if (ec) return 22;
      for (int r = 0; r < kRounds; ++r) {
        bar.wait(seconds(20), ec);
        if (ec) return 23;
      }
      const bool sender = m.id() == 1;
      if (sender) {
        bc.wait_for_members(kMembers, seconds(20), ec);
        if (ec) return 24;
        for (std::uint32_t i = 0; i < kMemberMsgs; ++i) {
          bc.send(test::payload(1, i, test::size_of(i)), seconds(20), ec);
          if (ec) return 25;
        }
      }
      std::map<MemberId, std::uint32_t> next;
      const std::uint32_t expect = kMsgs + (sender ? 0 : kMemberMsgs);
      for (std::uint32_t n = 0; n < expect; ++n) {
        auto msg = bc.recv(seconds(20), ec);
        if (ec) return 26;
        const std::uint32_t i = next[msg.sender()]++;
        if (msg.sender() == m.id() || !same(msg, msg.sender(), i)) return 27;
      }
      if (sender) {
        bc.wait(seconds(20), ec);
        if (ec) return 28;
      }
      bar.wait(seconds(20), ec);
      return ec ? 29 : 0;
    }));
  }
  for (auto &m : members) EXPECT_EQ(m->exit_code(seconds(60)), 0);
  EXPECT_EQ(coord->exit_code(seconds(60)), 0);
}

TEST(SessionLoopback, BarrierRoundsSurviveLossWhileTheWaitersRunTheTimers) {
  // 10 % of every node's datagrams are dropped (ARRIVE and RELEASE alike). While an app thread
  // waits in a barrier it runs the node's timers itself (the progress thread ticks slowly
  // then and steps in only when the waiter has not ticked lately): the ARRIVE retransmits
  // that finish these rounds must still happen.
  constexpr int kMembers = 3, kRounds = 100;
  const Endpoint group = test::unique_group();
  Signal ports;
  auto lossy = [](std::uint64_t seed) {
    auto o = test::loopback_options();
    o.inject_loss = 0.1;
    o.inject_seed = seed;
    return o;
  };
  Child coord([&] {
    std::error_code ec;
    auto c = Coordinator::start(Endpoint{"127.0.0.1", 0}, group, lossy(1), ec);
    if (ec) return 90;
    ports.send(c.local_endpoint().port);
    auto bar = c.create_barrier_group(kBarrier);
    bar.accept_until(kMembers, seconds(20), ec);
    if (ec) return 10;
    for (int r = 0; r < kRounds + 1; ++r) {
      bar.wait(seconds(20), ec);
      if (ec) return 11;
    }
    return 0;
  });
  auto port = ports.recv(milliseconds(10000));
  ASSERT_TRUE(port) << "coordinator did not start";
  std::vector<std::unique_ptr<Child>> members;
  for (int k = 0; k < kMembers; ++k) {
    members.push_back(std::make_unique<Child>([&, k] {
      std::error_code ec;
      auto m = Member::join(Endpoint{"127.0.0.1", static_cast<std::uint16_t>(*port)},
                            lossy(100 + static_cast<std::uint64_t>(k)), seconds(10), ec);
      if (ec) return 91;
      auto bar = m.join_barrier_group(kBarrier, seconds(20), ec);
      if (ec) return 20;
      for (int r = 0; r < kRounds + 1; ++r) {
        bar.wait(seconds(20), ec);
        if (ec) return 21;
      }
      // With 10 % loss on ~200 ARRIVE/RELEASE, some were certainly lost and repeated.
      return m.stats().barrier_retransmits > 0 ? 0 : 22;
    }));
  }
  for (auto &m : members) EXPECT_EQ(m->exit_code(seconds(60)), 0);
  EXPECT_EQ(coord.exit_code(seconds(60)), 0);
}

TEST(SessionLoopback, MemberKilledMidBarrierSurvivorsCarryOn) {
  constexpr int kMembers = 4, kRounds = 300;
  const Endpoint group = test::unique_group();
  Signal ports, progress;
  auto coord = coordinator(group, ports, [&](Coordinator &c) {
    auto bar = c.create_barrier_group(kBarrier);
    std::error_code ec;
    bar.accept_until(kMembers, seconds(20), ec);
    if (ec) return 10;
    for (int r = 0; r < kRounds; ++r) {
      if (r == 50) progress.send(1);
      bar.wait(seconds(20), ec);
      if (ec) return 11;
    }
    // Survivors may already be leaving (LEAVE is not an eviction): exactly one eviction.
    return c.stats().evictions == 1 ? 0 : 12;
  });
  auto port = ports.recv(milliseconds(10000));
  ASSERT_TRUE(port);
  std::vector<std::unique_ptr<Child>> members;
  for (int k = 0; k < kMembers; ++k)
    members.push_back(member(static_cast<std::uint16_t>(*port), [&](Member &m) {
      std::error_code ec;
      auto bar = m.join_barrier_group(kBarrier, seconds(20), ec);
      if (ec) return 20;
      for (int r = 0; r < kRounds; ++r) {
        bar.wait(seconds(20), ec);
        if (ec) return 21;
      }
      return 0;
    }));
  ASSERT_TRUE(progress.recv(milliseconds(30000))) << "barrier rounds did not start";
  members[1]->kill(SIGKILL);
  EXPECT_EQ(members[1]->exit_code(seconds(10)), -SIGKILL);
  for (int k : {0, 2, 3}) EXPECT_EQ(members[static_cast<std::size_t>(k)]->exit_code(seconds(60)), 0) << k;
  EXPECT_EQ(coord->exit_code(seconds(60)), 0);
}

TEST(SessionLoopback, MemberKilledMidBroadcastSurvivorsGetEverything) {
  constexpr int kMembers = 4;
  constexpr std::uint32_t kMsgs = 3000;
  const Endpoint group = test::unique_group();
  Signal ports, progress;
  auto coord = coordinator(group, ports, [&](Coordinator &c) {
    auto bc = c.create_broadcast_group(kBcast);
    std::error_code ec;
    bc.accept_until(kMembers, seconds(20), ec);
    if (ec) return 10;
    for (std::uint32_t i = 0; i < kMsgs; ++i) {
      if (i == 300) progress.send(1);
      bc.send(test::payload(0, i, test::size_of(i)), seconds(20), ec);
      if (ec) return 11;
    }
    bc.wait(seconds(20), ec);
    if (ec) return 12;
    return c.stats().evictions == 1 ? 0 : 13;
  });
  auto port = ports.recv(milliseconds(10000));
  ASSERT_TRUE(port);
  std::vector<std::unique_ptr<Child>> members;
  for (int k = 0; k < kMembers; ++k)
    members.push_back(member(static_cast<std::uint16_t>(*port), [&](Member &m) {
      std::error_code ec;
      auto bc = m.join_broadcast_group(kBcast, seconds(20), ec);
      if (ec) return 20;
      for (std::uint32_t i = 0; i < kMsgs; ++i) {
        auto msg = bc.recv(seconds(20), ec);
        if (ec) return 21;
        if (msg.sender() != coordinator_id || !same(msg, 0, i)) return 22;
      }
      return 0;
    }));
  ASSERT_TRUE(progress.recv(milliseconds(30000)));
  members[2]->kill(SIGKILL);
  for (int k : {0, 1, 3}) EXPECT_EQ(members[static_cast<std::size_t>(k)]->exit_code(seconds(60)), 0) << k;
  EXPECT_EQ(coord->exit_code(seconds(60)), 0);
}

TEST(SessionLoopback, CoordinatorKilledMembersFailWithCoordinatorLost) {
  constexpr int kMembers = 3;
  const Endpoint group = test::unique_group();
  Signal ports, progress;
  auto coord = coordinator(group, ports, [&](Coordinator &c) {
    auto bar = c.create_barrier_group(kBarrier);
    auto bc = c.create_broadcast_group(kBcast);
    std::error_code ec;
    bar.accept_until(kMembers, seconds(20), ec);
    bc.accept_until(kMembers, seconds(20), ec);
    if (ec) return 10;
    for (int r = 0; r < 10; ++r) bar.wait(seconds(20), ec);
    if (ec) return 11;
    progress.send(1);
    ::pause(); // killed here
    return 12;
  });
  auto port = ports.recv(milliseconds(10000));
  ASSERT_TRUE(port);
  std::vector<std::unique_ptr<Child>> members;
  for (int k = 0; k < kMembers; ++k)
    members.push_back(member(static_cast<std::uint16_t>(*port), [&, k](Member &m) {
      std::error_code ec;
      auto bar = m.join_barrier_group(kBarrier, seconds(20), ec);
      auto bc = m.join_broadcast_group(kBcast, seconds(20), ec);
      if (ec) return 20;
      for (int r = 0; r < 10; ++r) bar.wait(seconds(20), ec);
      if (ec) return 21;
      // Blocked in a barrier (or recv) when the coordinator dies: must fail, not time out.
      if (k == 0)
        (void)bc.recv(seconds(20), ec);
      else
        bar.wait(seconds(20), ec);
      if (ec != errc::coordinator_lost) return 22;
      // Every later blocking call fails the same way, at once.
      bar.wait(seconds(20), ec);
      return ec == errc::coordinator_lost && m.status() == errc::coordinator_lost ? 0 : 23;
    }));
  ASSERT_TRUE(progress.recv(milliseconds(30000)));
  coord->kill(SIGKILL);
  for (auto &m : members) EXPECT_EQ(m->exit_code(seconds(30)), 0);
}

TEST(SessionLoopback, WrongKeyCannotJoinAndTwoSessionsShareAGroup) {
  // In one process: two coordinators on the same multicast group and port, different keys.
  const Endpoint group = test::unique_group();
  auto oa = test::loopback_options();
  auto ob = oa;
  (*ob.key)[0] ^= 0xff;
  auto a = Coordinator::start(Endpoint{"127.0.0.1", 0}, group, oa);
  auto b = Coordinator::start(Endpoint{"127.0.0.1", 0}, group, ob);
  auto ga = a.create_broadcast_group(kBcast);
  auto gb = b.create_broadcast_group(kBcast);
  auto ma = Member::join(a.local_endpoint(), oa);
  auto mb = Member::join(b.local_endpoint(), ob);
  std::error_code ec;
  auto stranger = Member::join(a.local_endpoint(), ob, milliseconds(300), ec);
  EXPECT_EQ(ec, errc::timeout) << "a member with another key is never admitted";
  EXPECT_FALSE(stranger);
  // join_*_group blocks until the coordinator accepts: accept on another thread.
  auto acc_a = std::async(std::launch::async, [&] { return ga.accept(seconds(10)); });
  auto acc_b = std::async(std::launch::async, [&] { return gb.accept(seconds(10)); });
  auto ra = ma.join_broadcast_group(kBcast, seconds(10), ec);
  ASSERT_FALSE(ec);
  auto rb = mb.join_broadcast_group(kBcast, seconds(10), ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(acc_a.get(), 1u);
  EXPECT_EQ(acc_b.get(), 1u);
  ga.send(std::string_view("for a"));
  gb.send(std::string_view("for b"));
  ga.wait();
  gb.wait();
  EXPECT_EQ(ra.recv(seconds(5)).read().read_all(), "for a");
  EXPECT_EQ(rb.recv(seconds(5)).read().read_all(), "for b");
  ra.try_recv(ec);
  EXPECT_EQ(ec, errc::would_block) << "b's traffic never reaches a's member";
  EXPECT_GT(ma.stats().dropped_auth + ma.stats().dropped_wrong_session, 0u);
}

TEST(SessionLoopback, StreamWriterLargeAndEmptyMessages) {
  const Endpoint group = test::unique_group();
  auto o = test::loopback_options();
  o.max_datagram = 8192;
  o.liveness_timeout = std::chrono::milliseconds(5000); // not a liveness test; sanitizers are slow
  auto c = Coordinator::start(Endpoint{"127.0.0.1", 0}, group, o);
  auto g = c.create_broadcast_group(kBcast);
  auto m = Member::join(c.local_endpoint(), o);
  std::error_code ec;
  auto acc = std::async(std::launch::async, [&] { g.accept_until(1, seconds(10)); });
  auto r = m.join_broadcast_group(kBcast, seconds(10), ec);
  ASSERT_FALSE(ec);
  acc.get();
  const auto big = test::payload(0, 1, 12 << 20);
  {
    auto w = g.write_message();
    w << std::string_view("head:");
    for (std::size_t off = 0; off < big.size(); off += 1 << 20)
      w.write(std::span(big).subspan(off, std::min<std::size_t>(1 << 20, big.size() - off)));
  } // the destructor finishes the message
  {
    auto w = g.write_message();
    g.send(std::span<const std::byte>(), seconds(1), ec);
    EXPECT_EQ(ec, errc::busy) << "a send while this thread's own writer is open must not wait for itself";
  }
  g.send(std::span<const std::byte>());
  g.write_message().finish();
  auto m1 = r.recv(seconds(120));
  ASSERT_EQ(m1.size(), 5 + big.size());
  EXPECT_EQ(std::memcmp(m1.data().data(), "head:", 5), 0);
  EXPECT_TRUE(std::equal(big.begin(), big.end(), m1.data().begin() + 5));
  EXPECT_EQ(r.recv(seconds(5)).size(), 0u); // the writer closed above (empty message)
  EXPECT_EQ(r.recv(seconds(5)).size(), 0u);
  EXPECT_EQ(r.recv(seconds(5)).size(), 0u);
  g.wait(seconds(60), ec);
  EXPECT_FALSE(ec);
}

TEST(SessionLoopback, GiantMessageOfOneGiB) {
  // Moves 1 GiB + 1 byte through the window as one message (streamed by write_message) and
  // checks every byte. Slow on a shared 2-core VM, so opt-in.
  if (!std::getenv("CAMURE_TEST_GIANT")) GTEST_SKIP() << "set CAMURE_TEST_GIANT=1 to move a 1 GiB message";
  const Endpoint group = test::unique_group();
  auto o = test::loopback_options();
  o.max_datagram = 60000;
  o.window_bytes = 8 << 20;
  o.liveness_timeout = std::chrono::milliseconds(5000);
  auto c = Coordinator::start(Endpoint{"127.0.0.1", 0}, group, o);
  auto g = c.create_broadcast_group(kBcast);
  auto m = Member::join(c.local_endpoint(), o);
  std::error_code ec;
  auto acc = std::async(std::launch::async, [&] { g.accept_until(1, seconds(10)); });
  auto r = m.join_broadcast_group(kBcast, seconds(10), ec);
  ASSERT_FALSE(ec);
  acc.get();
  constexpr std::size_t kSize = (std::size_t{1} << 30) + 1, kPiece = 16 << 20;
  auto byte_at = [](std::size_t i) { return static_cast<std::byte>((i * 2654435761u) >> 13); };
  auto sender = std::async(std::launch::async, [&] {
    std::vector<std::byte> piece(kPiece);
    auto w = g.write_message();
    for (std::size_t off = 0; off < kSize; off += kPiece) {
      const std::size_t n = std::min(kPiece, kSize - off);
      for (std::size_t i = 0; i < n; ++i) piece[i] = byte_at(off + i);
      w.write(std::span(piece).first(n));
    }
    w.finish();
    g.wait(seconds(120));
  });
  auto msg = r.recv(seconds(600));
  ASSERT_EQ(msg.size(), kSize);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < kSize; ++i) bad += msg.data()[i] != byte_at(i);
  EXPECT_EQ(bad, 0u);
  sender.get();
}

TEST(SessionLoopback, StoppedMemberIsEvictedAndLearnsIt) {
  const Endpoint group = test::unique_group();
  Signal ports, evicted, ready;
  auto coord = coordinator(group, ports, [&](Coordinator &c) {
    auto bar = c.create_barrier_group(kBarrier);
    std::error_code ec;
    bar.accept_until(2, seconds(20), ec);
    if (ec) return 10;
    bar.wait(seconds(20), ec);
    if (ec) return 13;
    ready.send(1);
    // Rounds go on; while member B is stopped they wait for its eviction, then carry on.
    for (int r = 0; r < 100000 && c.stats().evictions == 0; ++r) {
      bar.wait(seconds(20), ec);
      if (ec) return 11;
    }
    evicted.send(1);
    for (int r = 0; r < 20; ++r) bar.wait(seconds(20), ec);
    return ec ? 12 : 0;
  });
  auto port = ports.recv(milliseconds(10000));
  ASSERT_TRUE(port);
  auto body = [](Member &m) {
    std::error_code ec;
    auto bar = m.join_barrier_group(kBarrier, seconds(20), ec);
    if (ec) return 20;
    for (;;) {
      bar.wait(seconds(20), ec);
      if (ec == errc::evicted) return 0; // the stopped one, once it runs again
      if (ec == errc::closed) return 0;  // the survivor, when the coordinator ends the session
      if (ec) {
        const auto st = m.stats();
        std::fprintf(stderr, "member: barrier wait failed: %s (arrive retransmits %llu dropped %llu)\n", ec.message().c_str(),
                     static_cast<unsigned long long>(st.barrier_retransmits), static_cast<unsigned long long>(st.dropped_total));
        return 21;
      }
    }
  };
  auto a = member(static_cast<std::uint16_t>(*port), body);
  auto b = member(static_cast<std::uint16_t>(*port), body);
  ASSERT_TRUE(ready.recv(milliseconds(30000))) << "members did not join";
  ASSERT_EQ(::kill(b->pid(), SIGSTOP), 0);
  ASSERT_TRUE(evicted.recv(milliseconds(30000))) << "the stopped member was never evicted";
  ASSERT_EQ(::kill(b->pid(), SIGCONT), 0);
  EXPECT_EQ(b->exit_code(seconds(30)), 0) << "a stopped-then-resumed member must see errc::evicted";
  EXPECT_EQ(coord->exit_code(seconds(30)), 0);
  EXPECT_EQ(a->exit_code(seconds(30)), 0);
}

TEST(SessionLoopback, GroupHandlesOutlivingTheirSessionFailCleanly) {
  const Endpoint group = test::unique_group();
  auto o = test::loopback_options();
  o.inject_loss = 0.01; // the interceptor path too
  BarrierGroup bar;
  BroadcastGroup bc;
  {
    auto c = Coordinator::start(Endpoint{"127.0.0.1", 0}, group, o);
    bar = c.create_barrier_group(kBarrier);
    bc = c.create_broadcast_group(kBcast);
  } // the coordinator is gone; its group handles are not
  std::error_code ec;
  bar.wait(seconds(5), ec);
  EXPECT_EQ(ec, errc::closed);
  const std::string late = "late";
  bc.send(std::as_bytes(std::span(late.data(), late.size())), seconds(5), ec);
  EXPECT_EQ(ec, errc::closed);
  bc.wait(seconds(5), ec);
  EXPECT_EQ(ec, errc::closed);
  BarrierGroup empty;
  empty.wait(seconds(1), ec);
  EXPECT_EQ(ec, errc::closed);
} // destroying them (which says goodbye to the group) must not touch the closed sockets
