// The per-host job segment: create-or-open, registration of this rank, broken-job handling.
#include "collectives/job_segment.hpp"

#include "collectives/liveness.hpp"

#include <camure/error.hpp>

#include <cstdlib>
#include <new>
#include <sched.h>
#include <unistd.h>

namespace camure::collectives {
namespace {
// Budgets of JobSegment::prewait(). Spinning: a few futex wake-ups' worth. Yielding: long
// enough for every other rank of a 16-on-2 host to get the cpu once or twice, short against a
// scheduler tick. CAMURE_SPIN_US / CAMURE_YIELD_US override them (0 disables the phase).
constexpr std::uint64_t default_spin_ns = 100'000;
constexpr std::uint64_t default_yield_ns = 200'000;

std::uint64_t env_us(const char *name, std::uint64_t def_ns) {
  const char *v = std::getenv(name);
  if (v == nullptr || *v == '\0') return def_ns;
  return std::strtoull(v, nullptr, 10) * 1000;
}
} // namespace

void JobSegment::yield_cpu() noexcept { ::sched_yield(); }

JobSegment JobSegment::attach(const std::string &prefix, int local_rank, int local_size, clock::time_point deadline,
                              std::error_code &ec, std::string &detail, BarrierRelease release) {
  ec.clear();
  const auto ls = static_cast<std::uint32_t>(local_size);
  const shm::SegmentSpec spec{job_magic, job_layout_version, JobLayout::total_for(ls)};
  auto build = [ls, release](std::byte *base, std::size_t) -> std::error_code {
    auto *c = new (base + JobLayout::control) JobControl{};
    c->local_size = ls;
    c->barrier_release = static_cast<std::uint32_t>(release);
    c->broken_by.store(-1, std::memory_order_relaxed);
    new (base + JobLayout::barrier) BarrierBlock{};
    new (base + JobLayout::bcast) BcastBlock{};
    for (std::uint32_t i = 0; i < ls; ++i) new (base + JobLayout::slots + i * sizeof(RankSlot)) RankSlot{};
    for (std::uint32_t i = 0; i < ls; ++i) new (base + JobLayout::cpu_masks(ls) + i * sizeof(CpuMaskSlot)) CpuMaskSlot{};
    new (base + JobLayout::small_bcast(ls)) SmallBcastBlock{};
    for (std::uint32_t i = 0; i < small_bcast_cells; ++i)
      new (base + JobLayout::small_cells(ls) + i * sizeof(SmallBcastCell)) SmallBcastCell{};
    for (std::uint32_t i = 0; i < ls; ++i) new (base + JobLayout::small_done(ls) + i * sizeof(SmallDoneSlot)) SmallDoneSlot{};
    return {};
  };
  const std::string name = prefix + "-job";
  bool created = false;
  JobSegment js;
  js.seg_ = shm::Segment::create_or_open(name, spec, build, deadline, created, ec);
  if (ec) {
    detail = "cannot attach the job segment " + name + ": " + ec.message();
    return {};
  }
  js.local_rank_ = local_rank;
  js.local_size_ = local_size;
  js.set_waiting(static_cast<unsigned>(local_size) > shm::usable_cpus());
  if (js.control().local_size != ls) {
    ec = errc::size_mismatch;
    detail = "job segment " + name + " was made for " + std::to_string(js.control().local_size) +
             " local ranks, this rank expects " + std::to_string(local_size);
    return {};
  }
  if (js.control().barrier_release != static_cast<std::uint32_t>(release)) {
    ec = errc::invalid_argument;
    detail = std::string("CAMURE_BARRIER_RELEASE differs between the host's ranks: the job segment says '") +
             barrier_release_name(static_cast<BarrierRelease>(js.control().barrier_release)) + "', this rank '" +
             barrier_release_name(release) + "'";
    return {};
  }
  RankSlot &me = js.slot(local_rank);
  const int old = me.pid.load(std::memory_order_acquire);
  if (old != 0 && old != ::getpid() && process_alive(old, me.start_time.load(std::memory_order_relaxed))) {
    ec = errc::invalid_argument;
    detail = "local rank " + std::to_string(local_rank) + " is already taken by pid " + std::to_string(old) +
             " (CAMURE_LOCAL_RANK duplicated?)";
    return {};
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CpuMaskSlot &mask = js.cpu_mask(local_rank);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int c = 0; c < 1024 && c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) mask.bits[c / 64] |= std::uint64_t{1} << (c % 64);
  }
  me.start_time.store(own_start_time(), std::memory_order_relaxed);
  me.bcast_consumed.store(0, std::memory_order_relaxed);
  me.pid.store(::getpid(), std::memory_order_relaxed);
  me.state.store(static_cast<std::uint32_t>(SlotState::attached), std::memory_order_release);
  return js;
}

void JobSegment::set_waiting(bool oversubscribed) noexcept {
  oversubscribed_ = oversubscribed;
  spin_ns_ = env_us("CAMURE_SPIN_US", default_spin_ns);
  yield_ns_ = env_us("CAMURE_YIELD_US", default_yield_ns);
  if (local_size_ == 1) spin_ns_ = yield_ns_ = 0; // nobody to wait for
  max_yields_ = yield_ns_ == 0 ? 0 : static_cast<unsigned>(local_size_) * 2;
  if (const char *v = std::getenv("CAMURE_YIELD_COUNT"); v != nullptr && *v != '\0')
    max_yields_ = static_cast<unsigned>(std::strtoul(v, nullptr, 10));
}

unsigned JobSegment::job_cpus() const noexcept {
  std::uint64_t all[16] = {};
  for (int r = 0; r < local_size_; ++r) {
    const CpuMaskSlot &m = cpu_mask(r);
    for (int w = 0; w < 16; ++w) all[w] |= m.bits[w];
  }
  unsigned n = 0;
  for (std::uint64_t w : all) n += static_cast<unsigned>(__builtin_popcountll(w));
  return n == 0 ? shm::usable_cpus() : n;
}

void JobSegment::tune_waiting() noexcept { set_waiting(static_cast<unsigned>(local_size_) > job_cpus()); }

void JobSegment::unlink_name() noexcept {
  if (seg_.valid()) (void)shm::Segment::unlink(seg_.name());
}

void JobSegment::leave() noexcept {
  if (!seg_.valid()) return;
  slot(local_rank_).state.store(static_cast<std::uint32_t>(SlotState::left), std::memory_order_release);
  seg_.reset();
}

std::error_code JobSegment::broken() const noexcept {
  const auto b = control().broken.load(std::memory_order_acquire);
  if (b == 0) return {};
  return make_error_code(static_cast<errc>(b));
}

void JobSegment::mark_broken(std::error_code why, int dead_local_rank) noexcept {
  std::uint32_t expected = 0;
  const auto code = why.category() == error_category() ? static_cast<std::uint32_t>(why.value())
                                                       : static_cast<std::uint32_t>(errc::system_error);
  if (control().broken.compare_exchange_strong(expected, code, std::memory_order_acq_rel))
    control().broken_by.store(dead_local_rank, std::memory_order_release);
  // Everyone blocked anywhere must see it.
  shm::notify(barrier().release);
  shm::notify(bcast().consumed);
  shm::notify(small_bcast().posted);
  shm::notify(small_bcast().freed);
}

int JobSegment::find_dead_peer() const noexcept {
  for (int r = 0; r < local_size_; ++r) {
    if (r == local_rank_) continue;
    const RankSlot &s = slot(r);
    const auto st = static_cast<SlotState>(s.state.load(std::memory_order_acquire));
    if (st != SlotState::attached) continue; // not there yet, or left cleanly
    if (!process_alive(s.pid.load(std::memory_order_relaxed), s.start_time.load(std::memory_order_relaxed)))
      return r;
  }
  return -1;
}

std::error_code JobSegment::explain_broken(const char *what, std::string &detail) const {
  const std::error_code b = broken();
  const int who = control().broken_by.load(std::memory_order_acquire);
  detail = std::string(what) + ": " + b.message();
  if (b == errc::peer_lost && who >= 0) detail += " (local rank " + std::to_string(who) + " died)";
  return b ? b : make_error_code(errc::internal);
}

} // namespace camure::collectives
