// Multiprocess RMP tests: W writers x R readers as processes with one identical total order,
// a reader killed while writers carry on, exact overrun loss, robust writer-lock owner death.
#include "test_rmp_message.hpp"

#include "runtime/shm/ring_shared.hpp"
#include "support/child.hpp"

#include <camure/rmp.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <memory>

using namespace camure;
using namespace camure::rmp;
using namespace camure::test::rmpmsg;
using namespace std::chrono_literals;

namespace {

struct Named {
  std::string name = test::unique_name("rmpmp");
  ~Named() { Ring::remove(name); }
};

// Reader child: attaches, signals ready, reads `expect` messages with no loss allowed, checks
// every byte and per-writer order, and reports the digest of the (writer, counter) sequence.
int verifying_reader(const std::string &name, Pipe &ready, Pipe &result, std::uint64_t expect, unsigned writers) {
  Ring ring = Ring::open(name, 10s);
  Reader r = Reader::create(ring);
  ready.put<int>(1);
  std::vector<std::byte> buf(ring.max_message_size());
  std::vector<std::uint64_t> next(writers, 0);
  std::uint64_t digest = 1469598103934665603ull, seq = 0;
  for (std::uint64_t n = 0; n < expect; ++n) {
    const ReadResult res = r.read_into(buf, 20s);
    if (res.status != ReadStatus::ok) return 10 + static_cast<int>(res.status);
    if (res.sequence != seq++) return 30;
    const auto h = verify(std::span<const std::byte>(buf.data(), res.size));
    if (!h) return 31;
    if (h->writer >= writers || h->counter != next[h->writer]++) return 32;
    const std::uint64_t pair[2] = {h->writer, h->counter};
    digest = fnv(pair, sizeof pair, digest);
  }
  result.put(digest);
  return 0;
}

int counting_writer(const std::string &name, unsigned id, std::uint64_t count, bool batch) {
  Ring ring = Ring::open(name, 10s);
  Writer w = Writer::create(ring);
  std::vector<std::byte> m;
  std::vector<std::vector<std::byte>> pending;
  for (std::uint64_t c = 0; c < count; ++c) {
    const auto len = static_cast<std::uint32_t>((c * 37 + id * 11) % 300);
    if (!batch) {
      build(m, id, c, len);
      w.write(m);
      continue;
    }
    pending.emplace_back();
    build(pending.back(), id, c, len);
    if (pending.size() == 16 || c + 1 == count) {
      std::vector<std::span<const std::byte>> spans(pending.begin(), pending.end());
      std::error_code ec;
      if (w.write_batch(spans, ec) != spans.size()) return 40;
      pending.clear();
    }
  }
  return 0;
}

} // namespace

TEST(RmpMultiprocess, WritersTimesReadersSeeOneIdenticalOrderIntact) {
  Named n;
  RingOptions o;
  o.capacity = 64 * 1024;
  o.backpressure = Backpressure::block; // no loss: every reader must see everything
  o.block_timeout = 20s;
  Ring ring = Ring::create(n.name, o);
  constexpr unsigned W = 3, R = 3;
  constexpr std::uint64_t per_writer = 4000;
  Pipe ready, results[R];
  std::vector<std::unique_ptr<test::Child>> readers, writers;
  for (unsigned i = 0; i < R; ++i)
    readers.push_back(std::make_unique<test::Child>([&, i] {
      return verifying_reader(n.name, ready, results[i], W * per_writer, W);
    }));
  for (unsigned i = 0; i < R; ++i) ASSERT_TRUE(ready.get<int>()) << "reader " << i << " never attached";
  for (unsigned i = 0; i < W; ++i)
    writers.push_back(std::make_unique<test::Child>([&, i] { return counting_writer(n.name, i, per_writer, i % 2 == 1); }));
  for (auto &w : writers) EXPECT_EQ(w->exit_code(60s), 0);
  std::vector<std::uint64_t> digests;
  for (unsigned i = 0; i < R; ++i) {
    EXPECT_EQ(readers[i]->exit_code(60s), 0) << "reader " << i;
    auto d = results[i].get<std::uint64_t>(1s);
    ASSERT_TRUE(d);
    digests.push_back(*d);
  }
  for (unsigned i = 1; i < R; ++i) EXPECT_EQ(digests[i], digests[0]) << "readers saw different orders";
  EXPECT_EQ(ring.head_sequence(), W * per_writer);
}

TEST(RmpMultiprocess, KilledReaderNeverHoldsBlockingWritersBack) {
  Named n;
  RingOptions o;
  o.capacity = 16 * 1024;
  o.backpressure = Backpressure::block;
  o.block_timeout = 20s; // a dead reader counted as live would stall the writer for 20 s per write
  Ring ring = Ring::create(n.name, o);
  constexpr std::uint64_t total = 5000; // ~30 rings' worth
  Pipe ready, result, stuck_ready;
  test::Child live([&] { return verifying_reader(n.name, ready, result, total, 1); });
  // A reader that reads a few messages, then stops reading (and later sleeps in the futex).
  test::Child stuck([&] {
    Ring r2 = Ring::open(n.name, 10s);
    Reader r = Reader::create(r2);
    stuck_ready.put<int>(1);
    std::vector<std::byte> buf(r2.max_message_size());
    for (int i = 0; i < 10; ++i)
      if (!r.read_into(buf, 20s).ok()) return 1;
    Pipe never;
    never.get<int>(60s); // blocked in poll until killed
    return 0;
  });
  // A reader that dies while asleep in the futex wait.
  test::Child sleeper([&] {
    Ring r2 = Ring::open(n.name, 10s);
    Reader r = Reader::create(r2);
    std::vector<std::byte> buf(64);
    std::uint64_t dummy = 0;
    ready.put<int>(2);
    while (dummy != ~std::uint64_t{0}) dummy += r.read_into(buf, 60s).size + 1; // until killed
    return 0;
  });
  ASSERT_TRUE(ready.get<int>());
  ASSERT_TRUE(ready.get<int>());
  ASSERT_TRUE(stuck_ready.get<int>());
  sleeper.kill();
  ASSERT_TRUE(sleeper.wait(10s));
  // Phase 1: the stuck reader holds writers back (a probe writer with a short timeout fails).
  std::vector<std::byte> m;
  std::uint64_t c = 0;
  {
    Writer probe = Writer::create(ring, BackpressurePolicy::block(50ms));
    std::error_code ec;
    for (; c < total; ++c) {
      build(m, 0, c, static_cast<std::uint32_t>(c % 200));
      probe.write(m, ec);
      if (ec) break;
    }
    ASSERT_EQ(ec, errc::timeout) << "the stuck reader never held the writer back";
    ASSERT_LT(c, total / 2);
  }
  // Phase 2: kill it; the writer carries on at full speed although the reader never detached.
  stuck.kill();
  ASSERT_TRUE(stuck.wait(10s));
  Writer w = Writer::create(ring);
  const auto t0 = std::chrono::steady_clock::now();
  for (; c < total; ++c) {
    build(m, 0, c, static_cast<std::uint32_t>(c % 200));
    std::error_code ec;
    w.write(m, ec);
    ASSERT_FALSE(ec) << "write " << c << ": " << ec.message();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 15s);
  EXPECT_EQ(live.exit_code(60s), 0);
}

TEST(RmpMultiprocess, OverrunReportsExactLossAcrossProcesses) {
  Named n;
  RingOptions o;
  o.capacity = 4096;
  Ring ring = Ring::create(n.name, o);
  Pipe ready, go, result;
  test::Child reader([&] {
    Ring r2 = Ring::open(n.name, 10s);
    Reader r = Reader::create(r2);
    std::vector<std::byte> buf(4096);
    ready.put<int>(1);
    if (!r.read_into(buf, 20s).ok()) return 1; // message 0
    go.put<int>(1);
    if (!result.get<int>()) return 2; // parent wrote 1000 more
    ReadResult res = r.read_into(buf, 20s);
    if (res.status != ReadStatus::lost) return 3;
    std::uint64_t lost = res.lost;
    std::uint64_t delivered = 0;
    while ((res = r.try_read(buf)).ok()) ++delivered;
    if (res.status != ReadStatus::would_block) return 4;
    // Exact: every one of the 1000 was either delivered or counted lost.
    return lost + delivered == 1000 && lost >= 1000 - 4096 / 40 ? 0 : 5;
  });
  ASSERT_TRUE(ready.get<int>());
  Writer w = Writer::create(ring);
  std::vector<std::byte> m(24);
  w.write(m);
  ASSERT_TRUE(go.get<int>());
  for (int i = 0; i < 1000; ++i) w.write(m);
  result.put<int>(1);
  EXPECT_EQ(reader.exit_code(30s), 0);
}

TEST(RmpMultiprocess, WriterLockOwnerDeathIsRepairedByTheNextWriter) {
  Named n;
  Ring ring = Ring::create(n.name, {});
  Reader r = Reader::create(ring);
  Pipe locked;
  test::Child dier([&] {
    Ring r2 = Ring::open(n.name, 10s);
    auto &sh = *r2.shared();
    if (!detail::lock_writer(sh)) return 1;
    // Reserve a batch and scribble into it, as if killed in the middle of the copy.
    auto &c = *sh.ctl;
    const std::uint64_t commit = c.commit.commit.load();
    c.reserve.intent_base_seq = c.commit.head_seq.load();
    c.reserve.intent_seq = c.reserve.intent_base_seq + 2;
    c.reserve.intent_commit = commit + 64;
    c.reserve.reserve.store(commit + 64);
    std::vector<std::byte> junk(40, std::byte{0x5A});
    shm::ring::copy_in(sh.bytes, commit, junk.data(), junk.size());
    locked.put<int>(1);
    Pipe never;
    never.get<int>(60s);
    return 0;
  });
  ASSERT_TRUE(locked.get<int>());
  dier.kill();
  ASSERT_TRUE(dier.wait(10s));
  Writer w = Writer::create(ring);
  std::vector<std::byte> m;
  build(m, 1, 0, 10);
  std::error_code ec;
  EXPECT_EQ(w.write(m, ec), 0u); // the torn batch consumed no sequence number
  ASSERT_FALSE(ec);
  EXPECT_EQ(ring.repairs(), 1u);
  std::vector<std::byte> buf(256);
  const ReadResult res = r.read_into(buf, 5s);
  ASSERT_TRUE(res.ok());
  EXPECT_TRUE(verify(std::span<const std::byte>(buf.data(), res.size)));
}

TEST(RmpMultiprocess, UdpNotificationWakesAPollingReaderInAnotherProcess) {
  Named n;
  RingOptions o;
  o.notify.enabled = true;
  o.notify.group = "239.255.77.80";
  o.notify.port = static_cast<std::uint16_t>(30000 + ::getpid() % 20000);
  Ring ring = Ring::create(n.name, o);
  Pipe ready;
  test::Child reader([&] {
    Ring r2 = Ring::open(n.name, 10s);
    Reader r = Reader::create(r2);
    std::error_code ec;
    const int fd = r.notify_fd(ec);
    if (ec) return 1;
    ready.put<int>(1);
    std::vector<std::byte> buf(256);
    int got = 0;
    while (got < 3) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20000) != 1) return 2; // only the fd tells us: no timed polling of the ring
      r.drain_notifications();
      ReadResult res;
      while ((res = r.try_read(buf)).ok()) {
        if (!verify(std::span<const std::byte>(buf.data(), res.size))) return 3;
        ++got;
      }
    }
    return 0;
  });
  ASSERT_TRUE(ready.get<int>());
  Writer w = Writer::create(ring);
  std::vector<std::byte> m;
  for (std::uint32_t i = 0; i < 3; ++i) {
    build(m, 0, i, 10 * i);
    w.write(m);
  }
  EXPECT_EQ(reader.exit_code(30s), 0);
}
