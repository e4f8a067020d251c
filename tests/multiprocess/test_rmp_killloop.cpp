// Kill loop: writer processes SIGKILLed at random instants (mostly mid-write) hundreds of times
// while reader processes verify every byte, every sequence number and every loss count.
#include "test_rmp_message.hpp"

#include "support/child.hpp"

#include <camure/rmp.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <thread>

using namespace camure;
using namespace camure::rmp;
using namespace camure::test::rmpmsg;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t kEndWriter = 0xFFFFFFFFu;

struct ReaderStats {
  std::uint64_t delivered = 0;
  std::uint64_t lost = 0;
  std::uint64_t loss_events = 0;
};

// Verifies every delivered message byte for byte; sequence numbers must be consecutive except
// across a loss report, which must account for the gap exactly.
int verify_until_end(const std::string &name, Pipe &ready, Pipe &result, bool use_drain) {
  Ring ring = Ring::open(name, 10s);
  Reader r = Reader::create(ring);
  ready.put<int>(1);
  std::vector<std::byte> buf(ring.max_message_size());
  ReaderStats st;
  std::uint64_t next_seq = r.next_sequence();
  std::uint32_t last_writer = kEndWriter;
  std::uint64_t last_counter = 0;
  bool end = false;
  int failure = 0;
  // Checks one delivered message (sets failure or end).
  auto check = [&](std::span<const std::byte> m, std::uint64_t seq) {
    if (failure || end) return;
    if (seq != next_seq) {
      failure = 20; // a gap nobody reported, or a duplicate
      return;
    }
    ++next_seq;
    const auto h = verify(m);
    if (!h) {
      failure = 21; // corrupted bytes delivered
      return;
    }
    if (h->writer == kEndWriter) {
      end = true;
      return;
    }
    if (h->writer == last_writer && h->counter != last_counter + 1) {
      failure = 22;
      return;
    }
    last_writer = h->writer;
    last_counter = h->counter;
    ++st.delivered;
  };
  while (use_drain && !end && !failure) {
    const DrainResult res = r.drain(check, 30s);
    if (res.status == ReadStatus::lost) {
      next_seq += res.lost;
      st.lost += res.lost;
      ++st.loss_events;
      last_writer = kEndWriter;
      continue;
    }
    if (res.status != ReadStatus::ok) return 10 + static_cast<int>(res.status);
  }
  if (failure) return failure;
  for (; !end;) {
    const ReadResult res = r.read_into(buf, 30s);
    if (res.status == ReadStatus::lost) {
      next_seq += res.lost;
      st.lost += res.lost;
      ++st.loss_events;
      last_writer = kEndWriter; // per-writer continuity restarts after a gap
      continue;
    }
    if (res.status != ReadStatus::ok) return 10 + static_cast<int>(res.status);
    check(std::span<const std::byte>(buf.data(), res.size), res.sequence);
    if (failure) return failure;
  }
  result.put(st);
  return 0;
}

int write_forever(const std::string &name, std::uint32_t id, Pipe &started) {
  Ring ring = Ring::open(name, 10s);
  Writer w = Writer::create(ring);
  std::mt19937_64 rng(id);
  std::vector<std::byte> m;
  std::vector<std::vector<std::byte>> batch(8);
  bool signalled = false;
  for (std::uint64_t c = 0;; ++c) {
    if (c > 0 && !signalled) signalled = started.put<int>(1); // after the first write
    if (rng() % 4 == 0) { // sometimes a batch, so kills also land inside multi-record commits
      for (auto &b : batch) build(b, id, c++, static_cast<std::uint32_t>(rng() % 2048));
      --c;
      std::vector<std::span<const std::byte>> spans(batch.begin(), batch.end());
      std::error_code ec;
      w.write_batch(spans, ec);
    } else {
      build(m, id, c, static_cast<std::uint32_t>(rng() % 6000));
      w.write(m);
    }
  }
}

} // namespace

TEST(RmpKillLoop, WriterSigkilledAtRandomInstantsNeverCorruptsReaders) {
  const std::string name = test::unique_name("rmpkill");
  struct Cleanup {
    std::string n;
    ~Cleanup() { Ring::remove(n); }
  } cleanup{name};
  RingOptions o;
  o.capacity = 1024 * 1024;
  o.max_participants = 16; // dead writers' slots must be reclaimed for this to keep working
  Ring ring = Ring::create(name, o);
  constexpr int R = 2;
  Pipe ready, results[R];
  std::vector<std::unique_ptr<test::Child>> readers;
  for (int i = 0; i < R; ++i)
    readers.push_back(std::make_unique<test::Child>([&, i] { return verify_until_end(name, ready, results[i], i == 1); }));
  for (int i = 0; i < R; ++i) ASSERT_TRUE(ready.get<int>());

  std::mt19937_64 rng(12345);
  constexpr int kKills = 220;
  int started_kills = 0;
  for (int i = 0; i < kKills; ++i) {
    Pipe started;
    test::Child writer([&, i] { return write_forever(name, static_cast<std::uint32_t>(i), started); });
    if (started.get<int>(10s)) ++started_kills;
    // The random instant: 0..300 us into continuous writing (a delay, not synchronisation).
    const auto delay = std::chrono::microseconds(rng() % 300);
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    writer.kill();
    ASSERT_TRUE(writer.wait(10s));
    ASSERT_TRUE(WIFSIGNALED(*writer.wait(0ms))) << "writer " << i << " ended on its own";
  }
  EXPECT_EQ(started_kills, kKills);
  // The ring still works for a fresh writer after all that; its end marker stops the readers.
  // A reader that is overrun resumes at the head, past the end marker, so repeat the marker
  // until every reader has seen one (bounded by the deadline).
  Writer w = Writer::create(ring);
  std::vector<std::byte> end;
  build(end, kEndWriter, 0, 0);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  for (int i = 0; i < R; ++i) {
    while (!readers[i]->wait(5ms) && std::chrono::steady_clock::now() < deadline) w.write(end);
  }
  std::uint64_t delivered = 0;
  for (int i = 0; i < R; ++i) {
    EXPECT_EQ(readers[i]->exit_code(1s), 0) << "reader " << i;
    auto st = results[i].get<ReaderStats>(1s);
    ASSERT_TRUE(st);
    delivered += st->delivered;
    std::printf("reader %d: delivered %llu, lost %llu in %llu events\n", i,
                static_cast<unsigned long long>(st->delivered), static_cast<unsigned long long>(st->lost),
                static_cast<unsigned long long>(st->loss_events));
  }
  std::printf("kills %d, repairs %llu, head sequence %llu\n", kKills, static_cast<unsigned long long>(ring.repairs()),
              static_cast<unsigned long long>(ring.head_sequence()));
  EXPECT_GT(delivered, 0u);
  EXPECT_GT(ring.repairs(), 0u) << "no kill ever landed inside a write: the test did not test anything";
}
