// Unit tests of the host collectives with threads standing in for ranks (one mapping each):
// barrier ordering (both release rules), bcast content over every root and chunking, deadlines,
// broken jobs, and oversubscribed waiters that give their cpu away.
#include "collectives/bcast_wire.hpp"
#include "collectives/job_layout.hpp"
#include "collectives/job_segment.hpp"
#include "collectives/shm_barrier.hpp"
#include "collectives/shm_bcast.hpp"
#include "collectives/transport.hpp"
#include "support/child.hpp"

#include <camure/error.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <sched.h>
#include <functional>
#include <thread>
#include <vector>

using namespace camure::collectives;
using clock_type = JobSegment::clock;

namespace {

// One "rank": its own mapping of the job segment, barrier and bcast.
struct Rank {
  JobSegment seg;
  LocalTransport transport;
  std::unique_ptr<ShmBarrier> barrier;
  std::unique_ptr<ShmBcast> bcast;
};

// Runs fn(rank, Rank&) on n threads, each attached to the same job; returns after all joined.
void run_ranks(int n, const std::function<void(int, Rank &)> &fn, std::size_t ring_bytes = 256 * 1024,
               BarrierRelease release = BarrierRelease::last_arriver) {
  const std::string prefix = camure::test::unique_name("camure-ut-rt");
  std::vector<Rank> ranks(n);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      std::error_code ec;
      std::string detail;
      const auto deadline = clock_type::now() + std::chrono::seconds(20);
      Rank &me = ranks[r];
      me.seg = JobSegment::attach(prefix, r, n, deadline, ec, detail, release);
      if (ec) {
        ADD_FAILURE() << "attach: " << detail;
        ++failures;
        return;
      }
      me.barrier = std::make_unique<ShmBarrier>(me.seg, me.transport);
      me.bcast = ShmBcast::create(me.seg, prefix, BcastOptions{ring_bytes}, deadline, ec, detail);
      if (ec) {
        ADD_FAILURE() << "bcast: " << detail;
        ++failures;
        return;
      }
      ec = me.barrier->wait(deadline, detail); // everyone attached
      if (ec) {
        ADD_FAILURE() << "init barrier: " << detail;
        ++failures;
        return;
      }
      me.seg.tune_waiting();
      if (r == 0) {
        me.seg.unlink_name();
        me.bcast->unlink_name();
      }
      fn(r, me);
    });
  }
  for (auto &t : threads) t.join();
  for (auto &rk : ranks) rk.seg.leave();
}

} // namespace

TEST(RuntimeLayout, JobSegmentLayoutIsPinned) {
  EXPECT_EQ(JobLayout::control, 64u);
  EXPECT_EQ(JobLayout::barrier, 128u);
  EXPECT_EQ(JobLayout::bcast, 320u);
  EXPECT_EQ(JobLayout::slots, 384u);
  EXPECT_EQ(JobLayout::cpu_masks(16), 384u + 16 * 64);
  EXPECT_EQ(JobLayout::size_for(16), 384u + 16 * 64 + 16 * 128);
  EXPECT_EQ(offsetof(RankSlot, pid), 0u);
  EXPECT_EQ(offsetof(RankSlot, state), 4u);
  EXPECT_EQ(offsetof(RankSlot, start_time), 8u);
  EXPECT_EQ(offsetof(RankSlot, bcast_consumed), 16u);
  EXPECT_EQ(offsetof(RankSlot, bcast_rearmed), 24u);
  EXPECT_EQ(offsetof(JobControl, broken), 4u);
  EXPECT_EQ(sizeof(BcastChunkHeader), 32u);
}

TEST(RuntimeBcastWire, ChunkingCoversEveryByteOnce) {
  const BcastChunking c{4096, 16384, 262144};
  EXPECT_EQ(c.chunk_for(1000), 16384u);
  EXPECT_EQ(c.chunk_for(65536), 16384u);    // a 64 KiB bcast still pipelines
  EXPECT_EQ(c.chunk_for(1 << 20), 131072u); // about an eighth
  EXPECT_EQ(c.chunk_for(64u << 20), 262144u);
  for (std::uint64_t total : {1ull, 4095ull, 4096ull, 4097ull, 65536ull, 69632ull, 69633ull, 1ull << 20, 10'000'019ull}) {
    const std::uint64_t cs = c.chunk_for(total);
    std::uint64_t off = 0, chunks = 0;
    while (off < total) {
      const auto len = c.length_at(off, total);
      ASSERT_GT(len, 0u);
      ASSERT_LE(len, off == 0 ? 4096u : cs);
      off += len;
      ++chunks;
    }
    EXPECT_EQ(off, total);
    EXPECT_EQ(chunks, total <= 4096 ? 1 : 1 + (total - 4096 + cs - 1) / cs) << total;
  }
  EXPECT_EQ(bcast_record_bytes(0), 48u);
  EXPECT_EQ(bcast_record_bytes(1), 56u);
  EXPECT_EQ(bcast_record_bytes(8), 56u);
}

TEST(RuntimeLayout, JobCpusIsTheUnionOfTheRanksMasks) {
  // Threads share the process's affinity: the union is this process's cpus, whatever n is.
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(::sched_getaffinity(0, sizeof set, &set), 0);
  const unsigned mine = static_cast<unsigned>(CPU_COUNT(&set));
  std::atomic<unsigned> seen{0};
  run_ranks(3, [&](int, Rank &me) { seen = me.seg.job_cpus(); });
  EXPECT_EQ(seen.load(), mine);
}

class RuntimeBarrierRelease : public ::testing::TestWithParam<BarrierRelease> {};

TEST_P(RuntimeBarrierRelease, NoThreadLeavesBeforeAllEntered) {
  constexpr int n = 4, rounds = 500;
  std::vector<std::atomic<int>> round(n);
  std::atomic<int> violations{0};
  run_ranks(
      n,
      [&](int r, Rank &me) {
        std::string detail;
        for (int k = 1; k <= rounds; ++k) {
          round[r].store(k);
          ASSERT_FALSE(me.barrier->wait(clock_type::time_point::max(), detail)) << detail;
          for (int o = 0; o < n; ++o) {
            const int v = round[o].load();
            if (v != k && v != k + 1) ++violations;
          }
        }
      },
      256 * 1024, GetParam());
  EXPECT_EQ(violations.load(), 0);
}

TEST_P(RuntimeBarrierRelease, MissingRankTimesOutAndBreaksTheJob) {
  // Whoever would release (the last arriver, or local rank 0) the round never completes.
  constexpr int n = 3;
  for (int missing : {0, 2}) {
    std::vector<std::error_code> result(n);
    run_ranks(
        n,
        [&](int r, Rank &me) {
          std::string detail;
          if (r == missing) return; // never arrives
          result[r] = me.barrier->wait(clock_type::now() + std::chrono::milliseconds(300), detail);
        },
        256 * 1024, GetParam());
    for (int r = 0; r < n; ++r) {
      if (r == missing) continue;
      EXPECT_EQ(result[r], camure::errc::timeout) << "missing " << missing << ", rank " << r;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Both, RuntimeBarrierRelease,
                         ::testing::Values(BarrierRelease::last_arriver, BarrierRelease::leader),
                         [](const ::testing::TestParamInfo<BarrierRelease> &i) {
                           return std::string(barrier_release_name(i.param));
                         });

std::int64_t thread_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

TEST(RuntimeBarrier, OversubscribedWaitersGiveTheirCpuToTheRankTheyWaitFor) {
  // Two ranks on one cpu (threads pinned before they attach, so the job sees one cpu). Rank 0
  // computes for 300 ms of its own cpu time before each collective; rank 1 waits for it in a
  // barrier, then in a bcast. A waiter that spun through scheduler ticks would take about
  // half the cpu meanwhile; giving the cpu away (then sleeping) it takes a few percent at most.
  cpu_set_t saved;
  ASSERT_EQ(::sched_getaffinity(0, sizeof saved, &saved), 0);
  int cpu = 0;
  while (!CPU_ISSET(cpu, &saved)) ++cpu;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  ASSERT_EQ(::sched_setaffinity(0, sizeof one, &one), 0); // inherited by run_ranks' threads
  constexpr std::int64_t work_ns = 300'000'000;
  std::atomic<std::int64_t> waited_cpu_ns[2] = {0, 0};
  std::atomic<bool> oversubscribed{false};
  run_ranks(2, [&](int r, Rank &me) {
    std::string detail;
    if (r == 1) oversubscribed = me.seg.oversubscribed();
    std::byte value{0};
    for (int phase = 0; phase < 2; ++phase) {
      const std::int64_t before = thread_cpu_ns();
      if (r == 0)
        while (thread_cpu_ns() - before < work_ns) {
        }
      std::error_code ec;
      if (phase == 0) {
        ec = me.barrier->wait(clock_type::now() + std::chrono::seconds(30), detail);
      } else {
        value = r == 0 ? std::byte{42} : std::byte{0};
        ec = me.bcast->run(std::span(&value, 1), 0, 0, clock_type::now() + std::chrono::seconds(30), detail);
      }
      ASSERT_FALSE(ec) << detail;
      if (r == 1) waited_cpu_ns[phase] = thread_cpu_ns() - before;
    }
    if (r == 1) {
      EXPECT_EQ(value, std::byte{42});
    }
  });
  ASSERT_EQ(::sched_setaffinity(0, sizeof saved, &saved), 0);
  EXPECT_TRUE(oversubscribed.load());
  for (int phase = 0; phase < 2; ++phase)
    EXPECT_LT(waited_cpu_ns[phase].load(), work_ns / 10)
        << (phase == 0 ? "barrier" : "bcast") << ": the waiter burnt " << waited_cpu_ns[phase] / 1000
        << " us of cpu while the awaited rank computed for " << work_ns / 1000 << " us";
}

TEST(RuntimeBarrier, RanksThatDisagreeOnTheReleaseModeFailToAttach) {
  const std::string prefix = camure::test::unique_name("camure-ut-rel");
  const auto deadline = clock_type::now() + std::chrono::seconds(5);
  std::error_code ec;
  std::string detail;
  JobSegment first = JobSegment::attach(prefix, 0, 2, deadline, ec, detail, BarrierRelease::leader);
  ASSERT_FALSE(ec) << detail;
  JobSegment second = JobSegment::attach(prefix, 1, 2, deadline, ec, detail, BarrierRelease::last_arriver);
  EXPECT_EQ(ec, camure::errc::invalid_argument);
  EXPECT_NE(detail.find("CAMURE_BARRIER_RELEASE"), std::string::npos) << detail;
  EXPECT_NE(detail.find("'leader'"), std::string::npos) << detail;
  first.unlink_name();
  first.leave();
}

TEST(RuntimeBcast, EveryRootEverySizeArrivesIntact) {
  constexpr int n = 3;
  // A small ring (256 KiB) so that 1 MiB runs through many wraps under flow control.
  const std::vector<std::size_t> sizes{1, 7, 4096, 4097, 40000, 1 << 20};
  std::atomic<int> bad{0};
  run_ranks(n, [&](int r, Rank &me) {
    std::string detail;
    for (std::size_t size : sizes)
      for (int root = 0; root < n; ++root) {
        std::vector<unsigned char> buf(size);
        for (std::size_t i = 0; i < size; ++i)
          buf[i] = r == root ? static_cast<unsigned char>(i * 13 + root + size) : 0xEE;
        auto ec = me.bcast->run(std::as_writable_bytes(std::span(buf)), root, root, clock_type::time_point::max(), detail);
        ASSERT_FALSE(ec) << detail;
        for (std::size_t i = 0; i < size; ++i)
          if (buf[i] != static_cast<unsigned char>(i * 13 + root + size)) {
            ++bad;
            break;
          }
      }
  });
  EXPECT_EQ(bad.load(), 0);
}

TEST(RuntimeBcast, SizeMismatchIsAnErrorNotWrongData) {
  constexpr int n = 2;
  std::vector<std::error_code> result(n);
  run_ranks(n, [&](int r, Rank &me) {
    std::string detail;
    std::vector<std::byte> buf(r == 0 ? 100 : 60);
    result[r] = me.bcast->run(buf, 0, 0, clock_type::now() + std::chrono::seconds(5), detail);
  });
  EXPECT_FALSE(result[0]);
  EXPECT_EQ(result[1], camure::errc::invalid_argument);
}

TEST(RuntimeBarrier, BrokenJobFailsFastEverywhere) {
  constexpr int n = 2;
  std::vector<std::error_code> result(n);
  run_ranks(n, [&](int r, Rank &me) {
    std::string detail;
    if (r == 1) {
      me.seg.mark_broken(camure::errc::peer_lost, 5);
      return;
    }
    const auto t0 = clock_type::now();
    result[r] = me.barrier->wait(clock_type::time_point::max(), detail);
    EXPECT_LT(clock_type::now() - t0, std::chrono::seconds(5));
  });
  EXPECT_EQ(result[0], camure::errc::peer_lost);
}
