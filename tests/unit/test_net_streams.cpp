// Unit tests for SenderStream / ReceiverStream / Interceptor in isolation (captured datagrams, fake time).
#include <gtest/gtest.h>

#include <algorithm>

#include "runtime/net/interceptor.hpp"
#include "runtime/net/receiver_stream.hpp"
#include "runtime/net/sender_stream.hpp"

using namespace camure::net;

namespace {

struct Captured {
  bool multicast;
  PeerAddr to;
  std::vector<std::uint8_t> bytes;
};

PeerAddr addr(std::uint8_t v) {
  PeerAddr a;
  a.raw[0] = v;
  a.len = 1;
  return a;
}

struct SenderFixture {
  Codec codec;
  FrameContext ctx{1, 1, 0};
  std::vector<Captured> out;
  SenderConfig cfg;
  std::unique_ptr<SenderStream> s;
  explicit SenderFixture(std::size_t window = 16 * 1024, std::size_t datagram = 1000) {
    cfg.window = window;
    cfg.max_datagram = datagram;
    cfg.repair_holdoff = 1000;
    s = std::make_unique<SenderStream>(cfg, codec, ctx, [this](const PeerAddr *to, std::span<const std::uint8_t> d) {
      out.push_back({to == nullptr, to ? *to : PeerAddr{}, {d.begin(), d.end()}});
    });
  }
  std::size_t count(FrameType t, bool multicast) const {
    std::size_t n = 0;
    for (const auto &c : out) {
      auto f = codec.decode(c.bytes, nullptr);
      if (f && f->h.type == t && c.multicast == multicast) ++n;
    }
    return n;
  }
};

std::vector<std::uint8_t> nak_range(std::uint64_t first, std::uint32_t count) {
  std::vector<std::uint8_t> r(16);
  put_u64(r.data(), first);
  put_u32(r.data() + 8, count);
  return r;
}

} // namespace

TEST(NetSenderStream, WindowBoundsBytesInFlight) {
  SenderFixture f(8 * 1000, 1000);
  f.s->set_members({0, 1, 2}, 0);
  std::vector<std::uint8_t> big(100'000, 7);
  auto r = f.s->write(big, true, true, 0);
  EXPECT_FALSE(r.done);
  EXPECT_LT(r.consumed, big.size());
  EXPECT_LE(f.s->in_flight_bytes(), 8 * 1000u);
  EXPECT_TRUE(f.s->window_full());
  // One member acknowledging is not enough; the slowest one holds the window.
  f.s->on_ack(1, f.s->next_seq(), 10);
  EXPECT_TRUE(f.s->window_full());
  f.s->on_ack(2, f.s->next_seq(), 10);
  EXPECT_EQ(f.s->in_flight_bytes(), 0u);
  auto r2 = f.s->write(std::span(big).subspan(r.consumed), false, true, 20);
  EXPECT_GT(r2.consumed, 0u);
}

TEST(NetSenderStream, RepairsUnicastForOneAskerMulticastForSeveral) {
  SenderFixture f;
  f.s->set_members({0, 1, 2, 3}, 0);
  std::vector<std::uint8_t> m(3000, 1);
  ASSERT_TRUE(f.s->write(m, true, true, 0).done);
  ASSERT_TRUE(f.s->flush(0));
  f.out.clear();
  f.s->on_nak(1, addr(1), nak_range(0, 1), 100);
  EXPECT_EQ(f.count(FrameType::data, false), 1u) << "first asker: unicast";
  f.s->on_nak(2, addr(2), nak_range(0, 1), 200);
  EXPECT_EQ(f.count(FrameType::data, true), 1u) << "second asker within the hold-off: one multicast";
  f.s->on_nak(3, addr(3), nak_range(0, 1), 300);
  EXPECT_EQ(f.out.size(), 2u) << "third asker: already covered by the multicast";
  EXPECT_EQ(f.s->stats().repairs_suppressed, 1u);
  f.s->on_nak(77, addr(9), nak_range(0, 3), 5000); // not a member: ignored
  EXPECT_EQ(f.out.size(), 2u);
  f.s->on_nak(1, addr(1), nak_range(1000, 5), 5000); // beyond what was sent: ignored
  EXPECT_EQ(f.out.size(), 2u);
}

TEST(NetSenderStream, StatusTellsNewMembersWhereTheyStart) {
  SenderFixture f;
  f.s->set_members({0, 1}, 0);
  std::vector<std::uint8_t> m(10, 1);
  f.s->write(m, true, true, 0);
  f.s->flush(0);
  f.out.clear();
  f.s->set_members({0, 1, 5}, 10);
  ASSERT_EQ(f.count(FrameType::status, true), 1u);
  auto st = f.codec.decode(f.out.back().bytes, nullptr);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->h.seq, f.s->next_seq());
  ASSERT_EQ(st->payload.size(), 32u); // both 1 (never acked) and 5 (new)
  EXPECT_EQ(get_u32(st->payload.data() + 16), 5u);
  EXPECT_EQ(get_u64(st->payload.data() + 24), f.s->next_seq());
  EXPECT_FALSE(f.s->all_acked());
  f.s->on_ack(1, f.s->next_seq(), 20);
  f.s->on_ack(5, f.s->next_seq(), 20);
  EXPECT_TRUE(f.s->all_acked());
}

TEST(NetReceiverStream, ReordersReassemblesAndNaksGaps) {
  SenderFixture snd(1 << 20, 200);
  snd.s->set_members({0, 7}, 0);
  Codec codec;
  std::vector<Captured> out;
  std::vector<std::vector<std::uint8_t>> got;
  ReceiverConfig rc;
  rc.sender = 0;
  rc.window = 1 << 20;
  ReceiverStream r(rc, codec, FrameContext{1, 1, 7},
                   [&](const PeerAddr *to, std::span<const std::uint8_t> d) {
                     out.push_back({to == nullptr, to ? *to : PeerAddr{}, {d.begin(), d.end()}});
                   },
                   [&](CoreMessage &&m) { got.emplace_back(m.bytes().begin(), m.bytes().end()); });
  r.set_sender_addr(addr(1));
  // Sync via STATUS, as a joiner would.
  auto status = codec.decode(snd.out.back().bytes, nullptr);
  ASSERT_TRUE(status);
  r.on_status(status->h.seq, status->payload, 0);
  ASSERT_TRUE(r.synced());
  snd.out.clear();
  std::vector<std::uint8_t> a(1000), b(5, 9);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<std::uint8_t>(i);
  snd.s->write(a, true, true, 0);
  snd.s->write(b, true, true, 0);
  snd.s->flush(0);
  std::vector<std::pair<std::uint64_t, std::shared_ptr<const std::vector<std::uint8_t>>>> pkts;
  for (auto &c : snd.out) {
    auto f = codec.decode(c.bytes, nullptr);
    if (f && f->h.type == FrameType::data) pkts.emplace_back(f->h.seq, std::make_shared<const std::vector<std::uint8_t>>(c.bytes));
  }
  ASSERT_GE(pkts.size(), 6u);
  auto feed = [&](std::size_t i) {
    auto f = codec.decode(*pkts[i].second, nullptr);
    r.on_data(f->h.seq, pkts[i].second, f->payload, 1);
  };
  // Deliver all but packet 2, in reverse order, with a duplicate.
  for (std::size_t i = pkts.size(); i-- > 0;)
    if (i != 2) feed(i);
  feed(0);
  EXPECT_TRUE(got.empty()) << "nothing can be delivered past the gap";
  EXPECT_GT(r.stats().duplicates, 0u);
  out.clear();
  r.tick(1 + rc.nak_interval); // the periodic re-NAK names exactly what is still missing
  std::optional<Frame> nak;
  for (const auto &c : out)
    if (auto f = codec.decode(c.bytes, nullptr); f && f->h.type == FrameType::nak) nak = f;
  ASSERT_TRUE(nak);
  EXPECT_FALSE(out.front().multicast) << "NAKs go to the sender only";
  EXPECT_EQ(get_u64(nak->payload.data()), pkts[2].first);
  EXPECT_EQ(get_u32(nak->payload.data() + 8), 1u);
  feed(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], a);
  EXPECT_EQ(got[1], b);
  EXPECT_EQ(r.expected(), snd.s->next_seq());
}

TEST(NetReceiverStream, RepairThatClosesAGapIsAcknowledgedAtOnce) {
  // Window 8 KiB, 200-byte datagrams: an ACK is due every 2 KiB of in-order bytes. Packets
  // behind a gap are held; the repair releases them all, and the ACK that opens the sender's
  // window must follow at once (same call, no tick), naming everything now in order.
  SenderFixture snd(1 << 20, 200);
  snd.s->set_members({0, 7}, 0);
  Codec codec;
  std::vector<Captured> out;
  ReceiverConfig rc;
  rc.sender = 0;
  rc.window = 8 * 1024;
  ReceiverStream r(rc, codec, FrameContext{1, 1, 7},
                   [&](const PeerAddr *to, std::span<const std::uint8_t> d) {
                     out.push_back({to == nullptr, to ? *to : PeerAddr{}, {d.begin(), d.end()}});
                   },
                   [](CoreMessage &&) {});
  r.set_sender_addr(addr(1));
  auto status = codec.decode(snd.out.back().bytes, nullptr);
  ASSERT_TRUE(status);
  r.on_status(status->h.seq, status->payload, 0);
  ASSERT_TRUE(r.synced());
  snd.out.clear();
  std::vector<std::uint8_t> msg(100, 3); // one message per packet
  for (int i = 0; i < 40; ++i) snd.s->write(msg, true, true, 0), snd.s->flush(0);
  std::vector<std::shared_ptr<const std::vector<std::uint8_t>>> pkts;
  for (auto &c : snd.out)
    if (auto f = codec.decode(c.bytes, nullptr); f && f->h.type == FrameType::data)
      pkts.push_back(std::make_shared<const std::vector<std::uint8_t>>(c.bytes));
  ASSERT_EQ(pkts.size(), 40u);
  auto feed = [&](std::size_t i) {
    auto f = codec.decode(*pkts[i], nullptr);
    r.on_data(f->h.seq, pkts[i], f->payload, 1);
  };
  auto acks = [&] {
    std::vector<std::uint64_t> v;
    for (const auto &c : out)
      if (auto f = codec.decode(c.bytes, nullptr); f && f->h.type == FrameType::ack) v.push_back(f->h.seq);
    return v;
  };
  feed(0);
  for (std::size_t i = 2; i < pkts.size(); ++i) feed(i); // packet 1 lost: 38 packets held
  for (auto seq : acks()) EXPECT_LE(seq, r.expected()) << "an ACK never claims what is missing";
  out.clear();
  feed(1); // the repair
  EXPECT_EQ(r.expected(), snd.s->next_seq());
  const auto after = acks();
  ASSERT_FALSE(after.empty()) << "the repair must be acknowledged without waiting for a tick";
  EXPECT_EQ(after.back(), snd.s->next_seq());
}

TEST(NetReceiverStream, ANewGapIsNakedAtOnceWithoutRepeatingOlderHoles) {
  SenderFixture snd(1 << 20, 200);
  snd.s->set_members({0, 7}, 0);
  Codec codec;
  std::vector<Captured> out;
  ReceiverConfig rc;
  rc.sender = 0;
  ReceiverStream r(rc, codec, FrameContext{1, 1, 7},
                   [&](const PeerAddr *to, std::span<const std::uint8_t> d) {
                     out.push_back({to == nullptr, to ? *to : PeerAddr{}, {d.begin(), d.end()}});
                   },
                   [](CoreMessage &&) {});
  r.set_sender_addr(addr(1));
  auto status = codec.decode(snd.out.back().bytes, nullptr);
  ASSERT_TRUE(status);
  r.on_status(status->h.seq, status->payload, 0);
  snd.out.clear();
  std::vector<std::uint8_t> msg(100, 3); // one message per packet
  for (int i = 0; i < 6; ++i) snd.s->write(msg, true, true, 0), snd.s->flush(0);
  std::vector<std::pair<std::uint64_t, std::shared_ptr<const std::vector<std::uint8_t>>>> pkts;
  for (auto &c : snd.out)
    if (auto f = codec.decode(c.bytes, nullptr); f && f->h.type == FrameType::data)
      pkts.emplace_back(f->h.seq, std::make_shared<const std::vector<std::uint8_t>>(c.bytes));
  ASSERT_EQ(pkts.size(), 6u);
  auto feed = [&](std::size_t i, Nanos t) {
    auto f = codec.decode(*pkts[i].second, nullptr);
    r.on_data(f->h.seq, pkts[i].second, f->payload, t);
  };
  // The NAK ranges (first, count) of every NAK captured since the last clear.
  auto naks = [&] {
    std::vector<std::vector<std::pair<std::uint64_t, std::uint32_t>>> v;
    for (const auto &c : out)
      if (auto f = codec.decode(c.bytes, nullptr); f && f->h.type == FrameType::nak) {
        v.emplace_back();
        for (std::size_t k = 0; k + 16 <= f->payload.size(); k += 16)
          v.back().emplace_back(get_u64(f->payload.data() + k), get_u32(f->payload.data() + k + 8));
      }
    out.clear();
    return v;
  };
  const std::uint64_t s0 = pkts[0].first;
  feed(0, 1);
  feed(2, 2); // 1 missing: NAKed at once
  auto n = naks();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0], (std::vector<std::pair<std::uint64_t, std::uint32_t>>{{s0 + 1, 1}}));
  feed(4, 3); // 3 missing: NAKed at once, without asking for 1 again
  n = naks();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0], (std::vector<std::pair<std::uint64_t, std::uint32_t>>{{s0 + 3, 1}}));
  r.tick(2 + rc.nak_interval); // the periodic re-NAK names every hole
  n = naks();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0], (std::vector<std::pair<std::uint64_t, std::uint32_t>>{{s0 + 1, 1}, {s0 + 3, 1}}));
  feed(1, 4);
  feed(3, 5);
  feed(5, 6);
  EXPECT_EQ(r.expected(), snd.s->next_seq());
  r.tick(6 + 2 * rc.nak_interval);
  EXPECT_TRUE(naks().empty()) << "nothing missing, nothing asked";
}

TEST(NetInterceptor, SameSeedSameFate) {
  auto run = [](std::uint64_t seed) {
    Interceptor ic({0.2, 0.1, 0.1, seed});
    std::vector<std::uint8_t> seen;
    for (std::uint8_t i = 0; i < 200; ++i) {
      std::vector<std::uint8_t> d = {i};
      ic.send(nullptr, d, [&](const PeerAddr *, std::span<const std::uint8_t> x) { seen.push_back(x[0]); });
    }
    ic.flush([&](const PeerAddr *, std::span<const std::uint8_t> x) { seen.push_back(x[0]); });
    return seen;
  };
  EXPECT_EQ(run(3), run(3));
  EXPECT_NE(run(3), run(4));
  const auto s = run(3);
  EXPECT_LT(s.size(), 200u + 40u);
  EXPECT_FALSE(std::is_sorted(s.begin(), s.end())) << "some reordering";
}

TEST(NetSenderStream, ALargeMessageLeavesAtOnceSmallOnesWaitToShareAPacket) {
  SenderFixture f(64 * 1000, 1000);
  f.s->set_members({0, 1}, 0);
  // Small messages share the open packet until a flush.
  std::vector<std::uint8_t> small(10, 1);
  ASSERT_TRUE(f.s->write(small, true, true, 0).done);
  ASSERT_TRUE(f.s->write(small, true, true, 0).done);
  EXPECT_EQ(f.count(FrameType::data, true), 0u);
  EXPECT_TRUE(f.s->has_open_data());
  f.s->flush(0);
  EXPECT_EQ(f.count(FrameType::data, true), 1u);
  f.out.clear();
  // A message of several datagrams: its last, partly filled packet is sent with it, so the
  // receiver can deliver it without waiting for a flush.
  std::vector<std::uint8_t> big(2500, 2);
  ASSERT_TRUE(f.s->write(big, true, true, 0).done);
  EXPECT_FALSE(f.s->has_open_data());
  EXPECT_EQ(f.count(FrameType::data, true), 3u);
  // Written in parts (a MessageWriter), the end still seals.
  f.out.clear();
  ASSERT_TRUE(f.s->write(big, true, false, 0).done);
  EXPECT_TRUE(f.s->has_open_data());
  ASSERT_TRUE(f.s->write({}, false, true, 0).done);
  EXPECT_FALSE(f.s->has_open_data());
  EXPECT_EQ(f.count(FrameType::data, true), 3u);
}

TEST(NetReceiverStream, RecycledReassemblyBuffersNeverAliasALiveMessage) {
  SenderFixture snd(1 << 20, 200);
  snd.s->set_members({0, 7}, 0);
  Codec codec;
  std::vector<CoreMessage> held; // messages the application still holds
  ReceiverConfig rc;
  rc.sender = 0;
  ReceiverStream r(rc, codec, FrameContext{1, 1, 7}, [](const PeerAddr *, std::span<const std::uint8_t>) {},
                   [&](CoreMessage &&m) { held.push_back(std::move(m)); });
  r.set_sender_addr(addr(1));
  auto status = codec.decode(snd.out.back().bytes, nullptr);
  ASSERT_TRUE(status);
  r.on_status(status->h.seq, status->payload, 0);
  auto pump = [&] {
    for (auto &c : snd.out) {
      auto dg = std::make_shared<const std::vector<std::uint8_t>>(c.bytes);
      auto f = codec.decode(*dg, nullptr);
      if (f && f->h.type == FrameType::data) r.on_data(f->h.seq, dg, f->payload, 1);
    }
    snd.out.clear();
  };
  // Rounds of three 3000-byte messages (fragmented); the application drops the oldest held
  // message each round, so buffers go back to the pool while others are still held.
  for (std::uint8_t round = 0; round < 8; ++round) {
    for (std::uint8_t k = 0; k < 3; ++k) {
      std::vector<std::uint8_t> m(3000, static_cast<std::uint8_t>(round * 3 + k));
      ASSERT_TRUE(snd.s->write(m, true, true, 0).done);
    }
    snd.s->flush(0);
    pump();
    ASSERT_EQ(held.size(), round == 0 ? 3u : 5u) << "round " << int(round);
    // Every held message still has its own bytes: value = its number, in order.
    const int first = round * 3 - static_cast<int>(held.size() - 3);
    for (std::size_t i = 0; i < held.size(); ++i) {
      const auto b = held[i].bytes();
      ASSERT_EQ(b.size(), 3000u);
      const auto want = static_cast<std::uint8_t>(first + static_cast<int>(i));
      EXPECT_TRUE(std::all_of(b.begin(), b.end(), [&](std::uint8_t x) { return x == want; }))
          << "round " << int(round) << " message " << i;
    }
    // Keep the two newest only.
    while (held.size() > 2) held.erase(held.begin());
  }
}
