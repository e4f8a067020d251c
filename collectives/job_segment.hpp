// The per-host job segment: attach, rank registration, liveness-checked waiting, broken flag.
#pragma once

#include "collectives/job_layout.hpp"
#include "runtime/shm/segment.hpp"
#include "runtime/common/load.hpp"
#include "runtime/shm/wait.hpp"

#include <camure/error.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <system_error>

namespace camure::collectives {

/// The job's shared state on this host. Every local rank maps the same segment
/// "<prefix>-job"; the first to arrive creates it.
class JobSegment {
public:
  using clock = std::chrono::steady_clock;

  JobSegment() = default;
  JobSegment(JobSegment &&) noexcept = default;
  JobSegment &operator=(JobSegment &&) noexcept = default;

  /// Creates or opens the segment and registers this process in slot local_rank. The creator
  /// records `release` (how the one-host barrier ends a round); every other rank must ask for
  /// the same. Errors: invalid_argument (slot taken by another live process, a different
  /// `release`), size_mismatch (local_size), not_found/not_ready (deadline), system_error.
  static JobSegment attach(const std::string &prefix, int local_rank, int local_size, clock::time_point deadline,
                           std::error_code &ec, std::string &detail,
                           BarrierRelease release = BarrierRelease::last_arriver);

  /// Removes the segment's name (mappings stay); called once every rank has attached so that
  /// nothing is left in /dev/shm even if the job crashes later.
  void unlink_name() noexcept;

  /// Marks this rank as having left (finalize) and unmaps.
  void leave() noexcept;

  JobControl &control() const noexcept { return at<JobControl>(JobLayout::control); }
  BarrierBlock &barrier() const noexcept { return at<BarrierBlock>(JobLayout::barrier); }
  BcastBlock &bcast() const noexcept { return at<BcastBlock>(JobLayout::bcast); }
  RankSlot &slot(int local_rank) const noexcept {
    return at<RankSlot>(JobLayout::slots + static_cast<std::size_t>(local_rank) * sizeof(RankSlot));
  }
  CpuMaskSlot &cpu_mask(int local_rank) const noexcept {
    return at<CpuMaskSlot>(JobLayout::cpu_masks(static_cast<std::uint32_t>(local_size_)) +
                           static_cast<std::size_t>(local_rank) * sizeof(CpuMaskSlot));
  }
  SmallBcastBlock &small_bcast() const noexcept {
    return at<SmallBcastBlock>(JobLayout::small_bcast(static_cast<std::uint32_t>(local_size_)));
  }
  /// Cell i (0 .. small_bcast_cells-1) of the small-bcast region.
  SmallBcastCell &small_cell(std::uint32_t i) const noexcept {
    return at<SmallBcastCell>(JobLayout::small_cells(static_cast<std::uint32_t>(local_size_)) +
                              static_cast<std::size_t>(i) * sizeof(SmallBcastCell));
  }
  SmallDoneSlot &small_done(int local_rank) const noexcept {
    return at<SmallDoneSlot>(JobLayout::small_done(static_cast<std::uint32_t>(local_size_)) +
                             static_cast<std::size_t>(local_rank) * sizeof(SmallDoneSlot));
  }
  int local_size() const noexcept { return local_size_; }

  /// Number of distinct cpus the host's ranks may run on (union of their affinity masks).
  /// Meaningful once every rank has attached (after the init barrier).
  unsigned job_cpus() const noexcept;
  /// Chooses the waiting strategy (spin or yield, see prewait()) from local_size against
  /// job_cpus(). Call once every rank has attached; until then attach() assumes that ranks
  /// fit the cpus if this process alone may use as many cpus as there are ranks.
  void tune_waiting() noexcept;
  int local_rank() const noexcept { return local_rank_; }
  bool valid() const noexcept { return seg_.valid(); }

  /// The error that broke the job's collectives, or {} if none.
  std::error_code broken() const noexcept;
  /// Marks the collectives broken (peer_lost, timeout, ...) and wakes every waiter.
  void mark_broken(std::error_code why, int dead_local_rank) noexcept;

  /// First registered local rank whose process is gone (not counting ranks that left
  /// cleanly), or -1.
  int find_dead_peer() const noexcept;

  /// Waits on cell until ready() or the job breaks. Every `liveness_period` without progress
  /// it checks the peers: a dead one breaks the job (peer_lost). `deadline` (max() = none)
  /// gives errc::timeout and also breaks the job, since the collective is then half done.
  /// `what` names the operation in the detail message.
  template <class Ready>
  std::error_code await(shm::WaitCell &cell, Ready &&ready, clock::time_point deadline, const char *what,
                        std::string &detail) noexcept {
    auto done = [&] { return ready() || control().broken.load(std::memory_order_acquire) != 0; };
    if (prewait(done)) {
      if (ready()) return {};
      return explain_broken(what, detail);
    }
    for (;;) {
      const auto slice_end = std::min(deadline, clock::now() + liveness_period);
      std::error_code ec = shm::wait_until(cell, done, slice_end);
      if (!ec) {
        if (ready()) return {};
        return explain_broken(what, detail);
      }
      if (ec != errc::timeout) return ec; // a futex failure: report as is
      if (const int dead = find_dead_peer(); dead >= 0) {
        mark_broken(errc::peer_lost, dead);
        return explain_broken(what, detail);
      }
      if (clock::now() >= deadline) {
        mark_broken(errc::timeout, -1);
        detail = std::string(what) + ": collective timeout passed (CAMURE_COLLECTIVE_TIMEOUT)";
        return errc::timeout;
      }
    }
  }

  /// How often a blocked wait checks its peers.
  static constexpr std::chrono::milliseconds liveness_period{100};

  /// True when the host runs more ranks than this process may use cpus.
  bool oversubscribed() const noexcept { return oversubscribed_; }

  /// The first phase of every collective wait, before shm::wait_until's own spin-then-sleep:
  /// - ranks <= cpus and no more runnable tasks on the machine than cpus: spin (pause) for up
  ///   to the spin budget. A rank of the job is what we wait for and it has a cpu of its own,
  ///   so this is the ~0.2 us hand-off instead of a ~25 us futex wake.
  /// - ranks > cpus, or the machine busier than its cpus (other jobs, or several hosts of a
  ///   namespace cluster on one machine): never spin (a spinner holds the cpu the awaited rank
  ///   may need, up to a scheduler tick); give the cpu away with sched_yield() instead, which
  ///   lets the other ranks run and finish without any wake-up syscall.
  /// Returns true if done() became true within the budget.
  template <class Done> bool prewait(Done &&done) const noexcept {
    if (spin_ns_ == 0 && yield_ns_ == 0) return false;
    if (done()) return true;
    // The clock is first read at the first budget check, not on entry: most waits end before
    // it (16 ranks on 2 cpus: every instruction and every page touched between two yields is
    // on the critical path), and the budget only needs to be right within a few yields.
    std::uint64_t start = 0;
    auto over = [&start](std::uint64_t budget) noexcept {
      const std::uint64_t now = shm::detail::now_ns();
      if (start == 0) start = now;
      return now - start >= budget;
    };
    if (!oversubscribed_ && !common::more_runnable_than_cpus(shm::recent_runnable_tasks())) {
      if (spin_ns_ == 0) return false;
      for (unsigned i = 1;; ++i) {
        shm::detail::cpu_relax();
        if (done()) return true;
        if ((i & 31) == 0 && over(spin_ns_)) return false;
      }
    }
    // A few rounds of the run queue at most: long enough for the other ranks to arrive or for
    // the root to write a chunk, but a long wait (a big chunk being copied) must not keep
    // taking slices from the rank that is copying.
    for (unsigned i = 1; i <= max_yields_; ++i) {
      yield_cpu();
      if (done()) return true;
      if ((i & 3) == 0 && over(yield_ns_)) return false;
    }
    return false;
  }

private:
  template <class T> T &at(std::size_t off) const noexcept { return *reinterpret_cast<T *>(seg_.base() + off); }
  std::error_code explain_broken(const char *what, std::string &detail) const;

  static void yield_cpu() noexcept;
  void set_waiting(bool oversubscribed) noexcept;

  shm::Segment seg_;
  int local_rank_ = 0;
  int local_size_ = 0;
  bool oversubscribed_ = false;
  std::uint64_t spin_ns_ = 0;   ///< prewait() budget when spinning
  std::uint64_t yield_ns_ = 0;  ///< prewait() budget when yielding
  unsigned max_yields_ = 0;     ///< yielding prewait(): at most this many sched_yield()s
};

} // namespace camure::collectives
