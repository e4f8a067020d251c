// One rank's runtime: init (attach, init barrier, unlink names), collectives, finalize.
#include "collectives/runtime.hpp"

#include "collectives/topic_hub.hpp"

#include <camure/error.hpp>

#include <atomic>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace camure::collectives {
namespace {

using clock = JobSegment::clock;

// How long init waits for the other ranks of the host to show up.
constexpr auto init_timeout = std::chrono::seconds(60);

std::mutex g_install_mu;
std::atomic<Runtime *> g_runtime{nullptr};

// A byte count from the environment, or def when unset.
std::size_t env_bytes(const char *name, std::size_t def, std::error_code &ec, std::string &detail) {
  const char *v = std::getenv(name);
  if (v == nullptr || *v == '\0') return def;
  std::size_t n = 0;
  const char *end = v + std::strlen(v);
  auto [p, e] = std::from_chars(v, end, n);
  if (e != std::errc() || p != end) {
    ec = errc::invalid_argument;
    detail = std::string(name) + "='" + v + "' is not a number of bytes";
    return 0;
  }
  return n;
}

} // namespace

Runtime *current() noexcept { return g_runtime.load(std::memory_order_acquire); }

std::error_code install(std::unique_ptr<Runtime> rt) noexcept {
  std::lock_guard lock(g_install_mu);
  if (g_runtime.load(std::memory_order_relaxed) != nullptr) return errc::already_exists;
  g_runtime.store(rt.release(), std::memory_order_release);
  return {};
}

std::unique_ptr<Runtime> uninstall() noexcept {
  std::lock_guard lock(g_install_mu);
  return std::unique_ptr<Runtime>(g_runtime.exchange(nullptr, std::memory_order_acq_rel));
}

std::unique_ptr<Runtime> Runtime::create(std::error_code &ec, std::string &detail) {
  std::unique_ptr<Runtime> rt(new Runtime());
  rt->job_ = bootstrap::job_from_process_environment(ec, detail);
  if (ec) return nullptr;
  const auto &job = rt->job_;
  if (job.num_nodes > 1) {
    ec = errc::unsupported;
    detail = "this job spans " + std::to_string(job.num_nodes) +
             " hosts; this build of camure runs the collectives on one host only";
    return nullptr;
  }
  BcastOptions bo;
  bo.ring_bytes = env_bytes("CAMURE_BCAST_RING_BYTES", bo.ring_bytes, ec, detail);
  if (!ec) bo.chunk_bytes = env_bytes("CAMURE_BCAST_CHUNK_BYTES", bo.chunk_bytes, ec, detail);
  if (ec) return nullptr;

  const auto deadline = clock::now() + init_timeout;
  const std::string prefix = job.segment_prefix();
  rt->seg_ = JobSegment::attach(prefix, job.local_rank, job.local_size, deadline, ec, detail);
  if (ec) return nullptr;
  rt->barrier_ = std::make_unique<ShmBarrier>(rt->seg_, rt->transport_);
  rt->bcast_ = ShmBcast::create(rt->seg_, prefix, bo, deadline, ec, detail);
  if (ec) return nullptr;
  rt->topics_ = TopicHub::create(prefix, job.local_size, deadline, ec, detail);
  if (ec) return nullptr;

  // Every local rank has attached everything once this barrier completes.
  std::string bdetail;
  ec = rt->barrier_->wait(deadline, bdetail);
  if (ec) {
    detail = "init: waiting for the other ranks of this host: " + bdetail;
    return nullptr;
  }
  // Every rank's cpu mask is in: decide between spinning and yielding for this host.
  rt->seg_.tune_waiting();
  // From now on nothing needs the names: remove them so a crash leaves nothing in /dev/shm.
  if (job.local_rank == 0) {
    rt->seg_.unlink_name();
    rt->bcast_->unlink_name();
    rt->topics_->unlink_names();
  }
  return rt;
}

Runtime::~Runtime() {
  if (topics_) topics_->shutdown();
  topics_.reset();
  bcast_.reset();
  barrier_.reset();
  seg_.leave();
}

clock::time_point Runtime::collective_deadline() const noexcept {
  if (job_.collective_timeout_s <= 0) return clock::time_point::max();
  return clock::now() + std::chrono::duration_cast<clock::duration>(
                            std::chrono::duration<double>(job_.collective_timeout_s));
}

std::error_code Runtime::barrier(std::string &detail) noexcept {
  return barrier_->wait(collective_deadline(), detail);
}

std::error_code Runtime::bcast(std::span<std::byte> buf, int root, std::string &detail) noexcept {
  // One host: the local rank of a rank is the rank itself.
  return bcast_->run(buf, root, root, collective_deadline(), detail);
}

void Runtime::abandon() noexcept {
  if (finalized_) return;
  finalized_ = true;
  if (topics_) topics_->shutdown();
  seg_.mark_broken(errc::peer_lost, job_.local_rank);
}

std::error_code Runtime::finalize(std::string &detail) noexcept {
  if (finalized_) return {};
  finalized_ = true;
  if (topics_) topics_->shutdown();
  // Nobody may leave while others could still need its participation in a collective.
  std::error_code ec = barrier_->wait(collective_deadline(), detail);
  if (ec) detail = "finalize: " + detail;
  return ec;
}

} // namespace camure::collectives
