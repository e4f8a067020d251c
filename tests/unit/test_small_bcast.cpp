// Unit tests of the small-bcast cells (threads stand in for ranks, one job-segment mapping each):
// layout, wrap over the cells with root changes, lazy reuse only after every reader is done,
// size/root/path mismatches, broken jobs, and the ShmBcast path mix (cells and ring).
#include "collectives/job_layout.hpp"
#include "collectives/job_segment.hpp"
#include "collectives/shm_barrier.hpp"
#include "collectives/shm_bcast.hpp"
#include "collectives/small_bcast.hpp"
#include "collectives/transport.hpp"
#include "support/child.hpp"
#include "support/wait.hpp"

#include <camure/error.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

using namespace camure::collectives;
using clock_type = JobSegment::clock;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t K = small_bcast_cells;

// n mappings of one fresh job segment, attached from this thread (attach does not wait).
struct Job {
  explicit Job(int n) {
    const std::string prefix = camure::test::unique_name("camure-ut-sb");
    for (int r = 0; r < n; ++r) {
      std::error_code ec;
      std::string detail;
      segs.push_back(JobSegment::attach(prefix, r, n, clock_type::now() + 10s, ec, detail));
      EXPECT_FALSE(ec) << detail;
    }
    for (auto &s : segs) s.tune_waiting();
    segs[0].unlink_name();
  }
  ~Job() {
    for (auto &s : segs) s.leave();
  }
  std::vector<JobSegment> segs;
};

// Byte i of bcast seq's payload.
std::byte pattern(std::uint64_t seq, std::size_t i) { return static_cast<std::byte>((seq * 131 + i * 7 + 1) & 0xFF); }

std::vector<std::byte> payload(std::uint64_t seq, std::size_t n) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = pattern(seq, i);
  return v;
}

} // namespace

TEST(SmallBcastLayout, RegionFollowsTheLayout2PartAndIsPinned) {
  EXPECT_EQ(JobLayout::small_bcast(16), 384u + 16 * 64 + 16 * 128);
  EXPECT_EQ(JobLayout::small_cells(16), JobLayout::small_bcast(16) + 128);
  EXPECT_EQ(JobLayout::small_done(16), JobLayout::small_cells(16) + K * 4160);
  EXPECT_EQ(JobLayout::total_for(16), JobLayout::small_done(16) + 16 * 64);
  EXPECT_EQ(JobLayout::total_for(1) % 64, 0u);
  EXPECT_EQ(offsetof(SmallBcastCell, seq), 0u);
  EXPECT_EQ(offsetof(SmallBcastCell, payload), 32u);
  EXPECT_EQ(sizeof(SmallBcastCell), 32u + small_bcast_max + 32u);
  EXPECT_EQ(small_bcast_max, 4096u); // <= the ring path's first chunk (relays see one chunk)
  EXPECT_TRUE(SmallBcast::fits(0));
  EXPECT_TRUE(SmallBcast::fits(4096));
  EXPECT_FALSE(SmallBcast::fits(4097));
}

TEST(SmallBcast, WrapsTheCellsManyTimesWithEveryRootAndSize) {
  constexpr int n = 3;
  Job job(n);
  const std::vector<std::size_t> sizes{1, 8, 31, 32, 33, 1000, 4095, 4096, 5000 /* ring: announced only */};
  constexpr std::uint64_t rounds = 12 * K + 5; // every cell reused a dozen times
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      SmallBcast cells(job.segs[r]);
      std::string detail;
      for (std::uint64_t seq = 1; seq <= rounds; ++seq) {
        const int root = static_cast<int>((seq / 3) % n); // runs of one root, then a change
        const std::size_t size = sizes[seq % sizes.size()];
        std::vector<std::byte> buf = r == root ? payload(seq, size) : std::vector<std::byte>(size, std::byte{0xEE});
        const auto deadline = clock_type::now() + 20s;
        const std::error_code ec = r == root ? cells.post(seq, buf, static_cast<std::uint32_t>(root), deadline, detail)
                                             : cells.take(seq, buf, static_cast<std::uint32_t>(root), deadline, detail);
        if (ec) {
          ADD_FAILURE() << "rank " << r << " seq " << seq << ": " << detail;
          ++bad;
          return;
        }
        if (!SmallBcast::fits(size)) continue; // the payload would follow in the ring
        if (buf != payload(seq, size)) {
          ADD_FAILURE() << "rank " << r << " seq " << seq << " size " << size << ": wrong bytes";
          ++bad;
        }
      }
    });
  }
  for (auto &t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
  // Every rank is done with the last bcast.
  for (int r = 0; r < n; ++r) EXPECT_EQ(job.segs[0].small_done(r).done.load(), rounds) << r;
}

TEST(SmallBcast, RootDoesNotReuseACellBeforeEveryReaderIsDoneWithIt) {
  Job job(2);
  SmallBcast root(job.segs[0]);
  std::string detail;
  for (std::uint64_t seq = 1; seq <= K; ++seq)
    ASSERT_FALSE(root.post(seq, payload(seq, 8), 0, clock_type::now() + 5s, detail)) << detail;
  // Reader 1 has taken nothing: cell 1 is still bcast 1's, so bcast K+1 cannot be posted.
  const auto ec = root.post(K + 1, payload(K + 1, 8), 0, clock_type::now() + 300ms, detail);
  EXPECT_EQ(ec, camure::errc::timeout) << detail;
  const SmallBcastCell &cell = job.segs[0].small_cell(static_cast<std::uint32_t>((K + 1) % K));
  EXPECT_EQ(cell.seq.load(), 1u);
  EXPECT_EQ(cell.payload[0], pattern(1, 0));
}

TEST(SmallBcast, BlockedRootResumesWhenTheSlowReaderCatchesUp) {
  Job job(3);
  std::string detail;
  SmallBcast root(job.segs[0]), fast(job.segs[1]), slow(job.segs[2]);
  for (std::uint64_t seq = 1; seq <= K; ++seq) {
    ASSERT_FALSE(root.post(seq, payload(seq, 100), 0, clock_type::now() + 5s, detail)) << detail;
    std::vector<std::byte> b(100);
    ASSERT_FALSE(fast.take(seq, b, 0, clock_type::now() + 5s, detail)) << detail;
  }
  std::atomic<bool> root_done{false};
  std::error_code root_ec;
  std::thread t([&] {
    std::string d;
    root_ec = root.post(K + 1, payload(K + 1, 100), 0, clock_type::now() + 20s, d);
    root_done = true;
  });
  // The root goes to sleep on `freed` (after its spin/yield phase) without a wake-up from us.
  ASSERT_TRUE(POLL_FOR(job.segs[1].small_bcast().freed.sleepers.load() > 0, 10s));
  EXPECT_FALSE(root_done.load());
  std::vector<std::byte> b(100);
  ASSERT_FALSE(slow.take(1, b, 0, clock_type::now() + 5s, detail)) << detail;
  EXPECT_EQ(b, payload(1, 100));
  ASSERT_TRUE(POLL_FOR(root_done.load(), 10s));
  t.join();
  EXPECT_FALSE(root_ec);
  for (std::uint64_t seq = 2; seq <= K + 1; ++seq) {
    ASSERT_FALSE(slow.take(seq, b, 0, clock_type::now() + 5s, detail)) << detail;
    EXPECT_EQ(b, payload(seq, 100)) << seq;
  }
}

TEST(SmallBcast, SizeRootAndPathMismatchesAreErrorsNotWrongData) {
  Job job(2);
  SmallBcast root(job.segs[0]), reader(job.segs[1]);
  std::string detail;
  const auto dl = [] { return clock_type::now() + 5s; };
  ASSERT_FALSE(root.post(1, payload(1, 100), 0, dl(), detail));
  std::vector<std::byte> wrong(60, std::byte{0x55});
  EXPECT_EQ(reader.take(1, wrong, 0, dl(), detail), camure::errc::invalid_argument);
  EXPECT_NE(detail.find("100 bytes"), std::string::npos) << detail;
  EXPECT_EQ(wrong, std::vector<std::byte>(60, std::byte{0x55})); // untouched

  ASSERT_FALSE(root.post(2, payload(2, 100), 0, dl(), detail));
  std::vector<std::byte> right(100);
  EXPECT_EQ(reader.take(2, right, 1, dl(), detail), camure::errc::invalid_argument); // root 1 expected

  // Root small (cell), reader large (ring path): the reader learns it from the cell.
  ASSERT_FALSE(root.post(3, payload(3, 8), 0, dl(), detail));
  std::vector<std::byte> big(1 << 20);
  EXPECT_EQ(reader.take(3, big, 0, dl(), detail), camure::errc::invalid_argument);
  // Root large (announced), reader small.
  std::vector<std::byte> large(5000);
  ASSERT_FALSE(root.post(4, large, 0, dl(), detail));
  std::vector<std::byte> small(8);
  EXPECT_EQ(reader.take(4, small, 0, dl(), detail), camure::errc::invalid_argument);
}

TEST(SmallBcast, BrokenJobWakesASleepingReader) {
  Job job(2);
  std::error_code ec;
  std::thread t([&] {
    SmallBcast reader(job.segs[1]);
    std::string d;
    std::vector<std::byte> b(8);
    ec = reader.take(1, b, 0, clock_type::time_point::max(), d);
  });
  ASSERT_TRUE(POLL_FOR(job.segs[0].small_bcast().posted.sleepers.load() > 0, 10s));
  job.segs[0].mark_broken(camure::errc::peer_lost, 0);
  t.join();
  EXPECT_EQ(ec, camure::errc::peer_lost);
}

TEST(SmallBcast, ShmBcastMixesCellsAndRingInOrderWithRootChanges) {
  constexpr int n = 3;
  const std::string prefix = camure::test::unique_name("camure-ut-sbm");
  std::vector<JobSegment> segs(n);
  std::vector<std::unique_ptr<ShmBcast>> bcasts(n);
  for (int r = 0; r < n; ++r) {
    std::error_code ec;
    std::string detail;
    segs[r] = JobSegment::attach(prefix, r, n, clock_type::now() + 10s, ec, detail);
    ASSERT_FALSE(ec) << detail;
    bcasts[r] = ShmBcast::create(segs[r], prefix, BcastOptions{256 * 1024}, clock_type::now() + 10s, ec, detail);
    ASSERT_FALSE(ec) << detail;
  }
  for (auto &s : segs) s.tune_waiting();
  segs[0].unlink_name();
  bcasts[0]->unlink_name();
  // Sizes alternate between the cell and the ring path; roots change often, also mid-run.
  const std::vector<std::size_t> sizes{8, 70000, 1, 4096, 4097, 0, 1024, 300000, 8, 8, 5000, 2};
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      std::string detail;
      for (std::uint64_t i = 0; i < 20 * sizes.size(); ++i) {
        const std::size_t size = sizes[i % sizes.size()];
        const int root = static_cast<int>((i * 7 / 5) % n);
        std::vector<std::byte> buf = r == root ? payload(i, size) : std::vector<std::byte>(size, std::byte{0xEE});
        const auto ec = bcasts[r]->run(buf, root, root, clock_type::now() + 20s, detail);
        if (ec) {
          ADD_FAILURE() << "rank " << r << " bcast " << i << ": " << detail;
          ++bad;
          return;
        }
        if (buf != payload(i, size)) {
          ADD_FAILURE() << "rank " << r << " bcast " << i << " (" << size << " B from " << root << "): wrong bytes";
          ++bad;
          return;
        }
      }
    });
  }
  for (auto &t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
  bcasts.clear();
  for (auto &s : segs) s.leave();
}
