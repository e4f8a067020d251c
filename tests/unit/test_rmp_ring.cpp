// Unit tests of the RMP ring in one process: wrap-around at every remainder, sizes 0..max,
// header bounds checks, loss counts, truncation, backpressure, repair, notification, layout.
#include "runtime/shm/ring_shared.hpp"

#include "support/child.hpp"
#include "support/wait.hpp"

#include <camure/rmp.hpp>

#include <gtest/gtest.h>

#include <time.h>

#include <poll.h>

#include <cstring>
#include <numeric>
#include <thread>

using namespace camure;
using namespace camure::rmp;
using namespace camure::shm::ring;
using namespace std::chrono_literals;

namespace {

struct RingFixture : ::testing::Test {
  std::string name = test::unique_name("rmp");
  ~RingFixture() override { Ring::remove(name); }
  Ring make(std::size_t cap = 4096, RingOptions o = {}) {
    o.capacity = cap;
    std::error_code ec;
    Ring r = Ring::create(name, o, ec);
    EXPECT_FALSE(ec) << ec.message();
    return r;
  }
};

std::vector<std::byte> pattern(std::size_t n, std::uint64_t salt) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 131 + salt * 7 + 1) & 0xff);
  return v;
}

} // namespace

TEST(RmpLayout, OffsetsAndSizesArePinned) {
  EXPECT_EQ(sizeof(RecordHeader), 16u);
  EXPECT_EQ(offsetof(RecordHeader, length), 0u);
  EXPECT_EQ(offsetof(RecordHeader, kind), 4u);
  EXPECT_EQ(offsetof(RecordHeader, seq), 8u);
  EXPECT_EQ(sizeof(RingConfig), 64u);
  EXPECT_EQ(offsetof(RingConfig, capacity), 0u);
  EXPECT_EQ(offsetof(RingConfig, notify_port), 44u);
  EXPECT_EQ(sizeof(RingControl), 448u);
  EXPECT_EQ(offsetof(RingControl, writer_lock), 64u);
  EXPECT_EQ(offsetof(RingControl, reserve), 128u);
  EXPECT_EQ(offsetof(RingControl, commit), 192u);
  EXPECT_EQ(offsetof(RingControl, data_cell), 256u);
  EXPECT_EQ(offsetof(RingControl, space_cell), 320u);
  EXPECT_EQ(offsetof(RingControl, counters), 384u);
  EXPECT_EQ(sizeof(ParticipantSlot), 64u);
  EXPECT_EQ(kSlotsOffset, 512u);
  EXPECT_EQ(data_offset_for(64), 8192u);
  EXPECT_EQ(segment_size_for(4096, 64), 8192u + 4096u);
  EXPECT_EQ(record_bytes(0), 16u);
  EXPECT_EQ(record_bytes(1), 24u);
  EXPECT_EQ(record_bytes(8), 24u);
  EXPECT_EQ(record_bytes(9), 32u);
  EXPECT_EQ(kRingMagic, 0x01504d524d4143ull);
  EXPECT_EQ(kRingLayoutVersion, 1u);
}

TEST_F(RingFixture, RejectsBadOptions) {
  std::error_code ec;
  RingOptions o;
  o.capacity = 5000;
  Ring::create(name, o, ec);
  EXPECT_EQ(ec, errc::invalid_argument);
  o.capacity = 1024;
  Ring::create(name, o, ec);
  EXPECT_EQ(ec, errc::invalid_argument);
  o.capacity = 4096;
  o.max_participants = 0;
  Ring::create(name, o, ec);
  EXPECT_EQ(ec, errc::invalid_argument);
  o.max_participants = 8;
  o.notify.enabled = true;
  o.notify.group = "10.1.2.3";
  Ring::create(name, o, ec);
  EXPECT_EQ(ec, errc::invalid_argument);
  EXPECT_THROW(Ring::open(test::unique_name("none"), 10ms), camure::error);
}

TEST_F(RingFixture, OpenFindsParametersAndCreateOrOpenChecksCapacity) {
  Ring a = make(8192);
  std::error_code ec;
  Ring b = Ring::open(name, std::chrono::steady_clock::now() + 1s, ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(b.capacity(), 8192u);
  EXPECT_EQ(b.max_message_size(), 8192u - 16u);
  RingOptions o;
  o.capacity = 4096;
  Ring::create_or_open(name, o, std::chrono::steady_clock::now() + 1s, ec);
  EXPECT_EQ(ec, errc::size_mismatch);
}

TEST_F(RingFixture, EveryWrapRemainderAndEverySizeUpTo64) {
  Ring ring = make(4096);
  Writer w = Writer::create(ring);
  Reader r = Reader::create(ring);
  std::uint64_t pos = 0;
  std::vector<std::byte> buf(4096);
  std::uint64_t seq = 0;
  auto write_check = [&](std::size_t len, std::uint64_t salt) {
    const auto msg = pattern(len, salt);
    EXPECT_EQ(w.write(msg), seq);
    const ReadResult res = r.try_read(buf);
    ASSERT_EQ(res.status, ReadStatus::ok);
    EXPECT_EQ(res.sequence, seq);
    ASSERT_EQ(res.size, len);
    if (len > 0) {
      EXPECT_EQ(std::memcmp(buf.data(), msg.data(), len), 0);
    }
    ++seq;
    pos += record_bytes(len);
  };
  for (std::uint64_t remainder = 0; remainder <= 64; remainder += 8) {
    for (std::size_t len = 0; len <= 64; ++len) {
      // Move to position == remainder bytes before the end of the ring using filler records.
      const std::uint64_t target = 4096 - remainder;
      std::uint64_t delta = (target - (pos & 4095)) & 4095;
      if (delta == 8) delta += 4096;
      while (delta > 0) {
        const std::uint64_t rec = delta >= 1048 ? 1024 : delta;
        write_check(rec - 16, rec);
        delta -= rec;
      }
      ASSERT_EQ(pos & 4095, target & 4095);
      write_check(len, len + remainder);
    }
  }
  EXPECT_EQ(r.try_read(buf).status, ReadStatus::would_block);
  EXPECT_EQ(ring.head_sequence(), seq);
}

TEST_F(RingFixture, ZeroLengthAndMaximumSizeAtManyOffsets) {
  Ring ring = make(4096);
  Writer w = Writer::create(ring);
  Reader r = Reader::create(ring);
  const std::size_t max = ring.max_message_size();
  std::vector<std::byte> buf(max);
  for (int i = 0; i < 40; ++i) {
    const auto big = pattern(max, static_cast<std::uint64_t>(i));
    w.write(big);
    auto res = r.try_read(buf);
    ASSERT_EQ(res.status, ReadStatus::ok) << i;
    ASSERT_EQ(res.size, max);
    EXPECT_EQ(std::memcmp(buf.data(), big.data(), max), 0);
    w.write({});
    res = r.try_read(buf);
    ASSERT_EQ(res.status, ReadStatus::ok);
    EXPECT_EQ(res.size, 0u);
    const auto odd = pattern(static_cast<std::size_t>(i) * 13, 3);
    w.write(odd); // shifts the offset for the next maximum-size message
    ASSERT_TRUE(r.try_read(buf).ok());
  }
  std::error_code ec;
  std::vector<std::byte> too_big(max + 1);
  w.write(too_big, ec);
  EXPECT_EQ(ec, errc::message_too_large);
  EXPECT_THROW(w.write(too_big), camure::error);
}

TEST_F(RingFixture, TruncatedLeavesMessageForABiggerBuffer) {
  Ring ring = make();
  Writer w = Writer::create(ring);
  Reader r = Reader::create(ring);
  w.write(pattern(100, 1));
  std::vector<std::byte> small(10);
  auto res = r.try_read(small);
  EXPECT_EQ(res.status, ReadStatus::truncated);
  EXPECT_EQ(res.size, 100u);
  std::vector<std::byte> out;
  res = r.read(out, 1s);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(out, pattern(100, 1));
}

TEST_F(RingFixture, OverrunReportsExactLossThenResumesAtHead) {
  Ring ring = make(4096);
  Writer w = Writer::create(ring);
  Reader r = Reader::create(ring);
  std::vector<std::byte> buf(4096);
  const auto m = pattern(40, 0); // 56-byte records
  w.write(m);
  w.write(m);
  ASSERT_TRUE(r.try_read(buf).ok()); // reader consumed seq 0; expects 1
  for (int i = 0; i < 500; ++i) w.write(m); // head is now 502
  auto res = r.try_read(buf);
  ASSERT_EQ(res.status, ReadStatus::lost);
  EXPECT_EQ(res.lost, 501u); // seq 1..501 are gone
  EXPECT_EQ(r.next_sequence(), 502u);
  EXPECT_EQ(r.try_read(buf).status, ReadStatus::would_block);
  w.write(m);
  res = r.try_read(buf);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res.sequence, 502u);
}

TEST_F(RingFixture, NewReaderSeesOnlyLaterMessages) {
  Ring ring = make();
  Writer w = Writer::create(ring);
  w.write(pattern(5, 1));
  Reader r = Reader::create(ring);
  std::vector<std::byte> buf(64);
  EXPECT_EQ(r.try_read(buf).status, ReadStatus::would_block);
  w.write(pattern(5, 2));
  auto res = r.try_read(buf);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res.sequence, 1u);
}

TEST_F(RingFixture, BatchWritesKeepOrderAcrossChunks) {
  Ring ring = make(4096);
  Writer w = Writer::create(ring);
  Reader r = Reader::create(ring);
  std::vector<std::vector<std::byte>> msgs;
  for (int i = 0; i < 30; ++i) msgs.push_back(pattern(static_cast<std::size_t>(i * 3), static_cast<std::uint64_t>(i)));
  std::vector<std::span<const std::byte>> spans(msgs.begin(), msgs.end());
  std::error_code ec;
  ASSERT_EQ(w.write_batch(spans, ec), msgs.size());
  ASSERT_FALSE(ec);
  std::vector<std::byte> buf(4096);
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    auto res = r.try_read(buf);
    ASSERT_TRUE(res.ok()) << i;
    EXPECT_EQ(res.sequence, i);
    EXPECT_EQ(std::vector<std::byte>(buf.begin(), buf.begin() + static_cast<long>(res.size)), msgs[i]);
  }
  const std::span<const std::byte> parts[3] = {msgs[3], msgs[4], msgs[5]};
  w.write_gather(parts, ec);
  auto res = r.try_read(buf);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res.size, msgs[3].size() + msgs[4].size() + msgs[5].size());
}

TEST_F(RingFixture, CorruptedHeadersAreRejectedNotFollowed) {
  Ring ring = make(4096);
  Writer w = Writer::create(ring);
  Reader r = Reader::create(ring);
  auto &sh = *ring.shared();
  std::vector<std::byte> buf(4096);
  struct Case {
    const char *what;
    void (*corrupt)(RecordHeader &);
  };
  const Case cases[] = {
      {"length beyond ring", [](RecordHeader &h) { h.length = 0xFFFFFFF0u; }},
      {"length beyond commit", [](RecordHeader &h) { h.length = 2000; }},
      {"bad kind", [](RecordHeader &h) { h.kind = 0x12345678u; }},
      {"wrong sequence", [](RecordHeader &h) { h.seq += 7; }},
  };
  for (const Case &c : cases) {
    const std::uint64_t at = sh.ctl->commit.commit.load();
    w.write(pattern(24, 9));
    RecordHeader h;
    copy_out(sh.bytes, at, &h, sizeof h);
    c.corrupt(h);
    copy_in(sh.bytes, at, &h, sizeof h);
    auto res = r.try_read(buf);
    EXPECT_EQ(res.status, ReadStatus::corrupt) << c.what;
    // The reader resynchronised at the head and keeps working.
    w.write(pattern(8, 1));
    res = r.try_read(buf);
    EXPECT_TRUE(res.ok()) << c.what;
  }
}

TEST_F(RingFixture, RepairTurnsATornBatchIntoASkipRecord) {
  Ring ring = make(4096);
  Writer w = Writer::create(ring);
  Reader r = Reader::create(ring);
  auto &sh = *ring.shared();
  w.write(pattern(8, 1));
  // Simulate a writer that reserved 200 bytes, scribbled, and died before committing.
  auto &c = *sh.ctl;
  const std::uint64_t commit = c.commit.commit.load();
  c.reserve.intent_base_seq = c.commit.head_seq.load();
  c.reserve.intent_seq = c.reserve.intent_base_seq + 3;
  c.reserve.intent_commit = commit + 200;
  c.reserve.reserve.store(commit + 200);
  std::vector<std::byte> junk(200, std::byte{0xEE});
  copy_in(sh.bytes, commit, junk.data(), junk.size());
  w.write(pattern(16, 2)); // next writer repairs, then writes
  EXPECT_EQ(ring.repairs(), 1u);
  std::vector<std::byte> buf(64);
  auto res = r.try_read(buf);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res.sequence, 0u);
  res = r.try_read(buf);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res.sequence, 1u); // the torn batch consumed no sequence number
  EXPECT_EQ(res.size, 16u);
  EXPECT_EQ(std::vector<std::byte>(buf.begin(), buf.begin() + 16), pattern(16, 2));
}

TEST_F(RingFixture, RepairAfterDeathInsidePairPublication) {
  Ring ring = make(4096);
  Writer w = Writer::create(ring);
  Reader r = Reader::create(ring);
  auto &c = *ring.shared()->ctl;
  w.write(pattern(8, 1));
  // Died after storing commit but before finishing the pair (gen odd, head_seq stale).
  const std::uint64_t commit = c.commit.commit.load();
  const std::uint64_t seq = c.commit.head_seq.load();
  c.reserve.intent_base_seq = seq;
  c.reserve.intent_seq = seq + 1;
  c.reserve.intent_commit = commit + 24;
  c.reserve.reserve.store(commit + 24);
  const RecordHeader h{8, kKindMessage, seq};
  copy_in(ring.shared()->bytes, commit, &h, sizeof h);
  c.commit.gen.store(c.commit.gen.load() | 1u);
  c.commit.commit.store(commit + 24);
  EXPECT_EQ(ring.head_sequence(), seq + 1); // read_head falls back to the lock and repairs
  EXPECT_EQ(c.commit.gen.load() & 1u, 0u);
  std::vector<std::byte> buf(64);
  EXPECT_TRUE(r.try_read(buf).ok());
  auto res = r.try_read(buf);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res.sequence, seq);
  w.write(pattern(8, 3));
  res = r.try_read(buf);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res.sequence, seq + 1);
}

TEST_F(RingFixture, BlockPolicyTimesOutAndNeverHoldsTheLock) {
  RingOptions o;
  o.backpressure = Backpressure::block;
  o.block_timeout = 30ms;
  Ring ring = make(4096, o);
  Writer w = Writer::create(ring);
  Reader r = Reader::create(ring);
  const auto m = pattern(100, 1);
  std::error_code ec;
  int written = 0;
  while (!ec && written < 1000) {
    w.write(m, ec);
    if (!ec) ++written;
  }
  EXPECT_EQ(ec, errc::timeout);
  EXPECT_EQ(written, 4096 / 120); // exactly one ring of unread data
  // The lock is free while blocked: another writer with an overrun policy gets through.
  Writer w2 = Writer::create(ring, BackpressurePolicy::overrun());
  w2.write(m);
  std::vector<std::byte> buf(200);
  auto res = r.try_read(buf);
  EXPECT_EQ(res.status, ReadStatus::lost);
  // Resuming at the head skips everything committed so far: the blocked ones and w2's.
  EXPECT_EQ(res.lost, static_cast<std::uint64_t>(written) + 1);
}

TEST_F(RingFixture, BlockPolicyIgnoresDeadReaders) {
  RingOptions o;
  o.backpressure = Backpressure::block;
  o.block_timeout = 5s;
  Ring ring = make(4096, o);
  // A reader process attaches and dies without reading.
  test::Child reader([&] {
    Reader rr = Reader::create(ring);
    return 0;
  });
  ASSERT_EQ(reader.exit_code(), 0);
  Writer w = Writer::create(ring);
  const auto m = pattern(100, 1);
  for (int i = 0; i < 200; ++i) w.write(m); // would block for 5 s per write if the dead reader counted
  EXPECT_EQ(ring.head_sequence(), 200u);
}

TEST_F(RingFixture, ReadTimesOutAndWakesOnWrite) {
  Ring ring = make();
  Writer w = Writer::create(ring);
  Reader r = Reader::create(ring);
  std::vector<std::byte> buf(64);
  auto res = r.read_into(buf, 20ms);
  EXPECT_EQ(res.status, ReadStatus::timeout);
  test::Child writer([&] {
    Ring r2 = Ring::open(name);
    Writer w2 = Writer::create(r2);
    w2.write(pattern(8, 5));
    return 0;
  });
  res = r.read_into(buf, 10s);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(writer.exit_code(), 0);
}

TEST_F(RingFixture, AnIdleReaderSleepsInsteadOfSpinning) {
  // "Zero CPU while idle": a reader that waits 400 ms for a message that never comes spends
  // that time asleep on the futex, not spinning (its spin phase is bounded to microseconds).
  Ring ring = make();
  Writer w = Writer::create(ring);
  Reader r = Reader::create(ring);
  std::vector<std::byte> buf(64);
  auto cpu_ns = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
  };
  const std::int64_t before = cpu_ns();
  auto res = r.read_into(buf, 400ms);
  const std::int64_t used = cpu_ns() - before;
  EXPECT_EQ(res.status, ReadStatus::timeout);
  EXPECT_LT(used, 40'000'000) << "the waiting thread burnt " << used / 1000 << " us of CPU in a 400 ms wait";
}

TEST_F(RingFixture, ParticipantSlotsRunOutAndComeBack) {
  RingOptions o;
  o.max_participants = 3;
  Ring ring = make(4096, o);
  Writer w = Writer::create(ring);
  Reader a = Reader::create(ring);
  Reader b = Reader::create(ring);
  std::error_code ec;
  Reader c = Reader::create(ring, ec);
  EXPECT_EQ(ec, errc::busy);
  b = Reader();
  c = Reader::create(ring, ec);
  EXPECT_FALSE(ec);
}

TEST_F(RingFixture, NotifyFdBecomesReadableOnCommit) {
  RingOptions o;
  o.notify.enabled = true;
  o.notify.group = "239.255.77.78";
  o.notify.port = static_cast<std::uint16_t>(40000 + ::getpid() % 20000);
  Ring ring = make(4096, o);
  Writer w = Writer::create(ring);
  Reader r = Reader::create(ring);
  std::error_code ec;
  const int fd = r.notify_fd(ec);
  ASSERT_FALSE(ec) << ec.message();
  pollfd p{fd, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);
  w.write(pattern(8, 1));
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  r.drain_notifications();
  std::vector<std::byte> buf(64);
  EXPECT_TRUE(r.try_read(buf).ok());
  EXPECT_EQ(::poll(&p, 1, 0), 0);

  Ring plain = Ring::create(name + "-plain", {});
  Reader pr = Reader::create(plain);
  pr.notify_fd(ec);
  EXPECT_EQ(ec, errc::unsupported);
  Ring::remove(name + "-plain");
}

TEST_F(RingFixture, DrainDeliversEverySizeInOrderAcrossWraps) {
  RingOptions o;
  Ring ring = make(1 << 18, o); // 256 KiB: records bigger than drain's 64 KiB chunk too
  Writer w = Writer::create(ring);
  Reader r = Reader::create(ring);
  std::uint64_t next = 0;
  std::size_t got = 0;
  bool ok = true;
  const std::size_t sizes[] = {0, 1, 7, 8, 9, 63, 64, 100, 1000, 70000, 200000, ring.max_message_size()};
  for (int round = 0; round < 6; ++round) {
    for (std::size_t len : sizes) {
      const auto msg = pattern(len, len + static_cast<std::size_t>(round));
      w.write(msg);
      const DrainResult res = r.drain(
          [&](std::span<const std::byte> m, std::uint64_t seq) {
            ok = ok && seq == next++ && m.size() == msg.size() &&
                 (m.empty() || std::memcmp(m.data(), msg.data(), m.size()) == 0);
            ++got;
          },
          1s);
      ASSERT_EQ(res.status, ReadStatus::ok) << len;
      ASSERT_EQ(res.messages, 1u);
    }
  }
  EXPECT_TRUE(ok);
  EXPECT_EQ(got, 6 * std::size(sizes));
  // Many small ones in one call, capped by max_messages.
  std::vector<std::byte> small(8);
  for (int i = 0; i < 100; ++i) w.write(small);
  DrainResult res = r.drain([&](std::span<const std::byte>, std::uint64_t seq) { ok = ok && seq == next++; }, 1s, 30);
  EXPECT_EQ(res.messages, 30u);
  res = r.drain([&](std::span<const std::byte>, std::uint64_t seq) { ok = ok && seq == next++; }, 1s);
  EXPECT_EQ(res.messages, 70u);
  EXPECT_TRUE(ok);
  res = r.drain([&](std::span<const std::byte>, std::uint64_t) {}, 1ms);
  EXPECT_EQ(res.status, ReadStatus::timeout);
}

TEST_F(RingFixture, DrainReportsExactLossAndCorruption) {
  Ring ring = make(4096);
  Writer w = Writer::create(ring);
  Reader r = Reader::create(ring);
  std::vector<std::byte> m(40);
  for (int i = 0; i < 500; ++i) w.write(m);
  DrainResult res = r.drain([](std::span<const std::byte>, std::uint64_t) {}, 0ms);
  ASSERT_EQ(res.status, ReadStatus::lost);
  EXPECT_EQ(res.lost, 500u);
  EXPECT_EQ(res.messages, 0u);
  // A corrupted header after two good records: the good ones come first, then the error.
  auto &sh = *ring.shared();
  w.write(m);
  w.write(m);
  const std::uint64_t at = sh.ctl->commit.commit.load();
  w.write(m);
  RecordHeader h;
  copy_out(sh.bytes, at, &h, sizeof h);
  h.length = 3000;
  copy_in(sh.bytes, at, &h, sizeof h);
  res = r.drain([](std::span<const std::byte>, std::uint64_t) {}, 0ms);
  EXPECT_EQ(res.status, ReadStatus::ok);
  EXPECT_EQ(res.messages, 2u);
  res = r.drain([](std::span<const std::byte>, std::uint64_t) {}, 0ms);
  EXPECT_EQ(res.status, ReadStatus::corrupt);
  w.write(m);
  res = r.drain([](std::span<const std::byte>, std::uint64_t) {}, 0ms);
  EXPECT_EQ(res.status, ReadStatus::ok);
  EXPECT_EQ(res.messages, 1u);
}

TEST_F(RingFixture, InterruptWakesABlockedReaderWithoutAMessage) {
  Ring ring = make();
  Reader r = Reader::create(ring);
  std::atomic<int> status{-1};
  std::thread t([&] {
    std::vector<std::byte> buf(64);
    status = static_cast<int>(r.read_into(buf, std::chrono::hours(1)).status);
  });
  // Wait until the reader sleeps in the futex, then interrupt it.
  ASSERT_TRUE(POLL_FOR(ring.shared()->ctl->data_cell.sleepers.load() == 1, 10s));
  r.interrupt();
  t.join();
  EXPECT_EQ(status.load(), static_cast<int>(ReadStatus::timeout));
  // The interrupt is consumed: the reader works normally afterwards.
  Writer w = Writer::create(ring);
  w.write(pattern(3, 1));
  std::vector<std::byte> buf(64);
  EXPECT_TRUE(r.read_into(buf, 1s).ok());
}
