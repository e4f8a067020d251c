// One rank's runtime: init (attach, init barrier, unlink names), collectives, finalize.
#include "collectives/runtime.hpp"

#include "collectives/kv_client.hpp"
#include "collectives/session_transport.hpp"
#include "collectives/topic_forwarder.hpp"
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
  const bool multi = job.num_nodes > 1;
  BcastOptions bo;
  bo.ring_bytes = env_bytes("CAMURE_BCAST_RING_BYTES", bo.ring_bytes, ec, detail);
  if (!ec) bo.chunk_bytes = env_bytes("CAMURE_BCAST_CHUNK_BYTES", bo.chunk_bytes, ec, detail);
  if (ec) return nullptr;
  BarrierRelease release = BarrierRelease::last_arriver;
  if (const char *v = std::getenv("CAMURE_BARRIER_RELEASE"); v != nullptr && *v != '\0') {
    if (std::strcmp(v, "leader") == 0) {
      release = BarrierRelease::leader;
    } else if (std::strcmp(v, "last") != 0) {
      ec = errc::invalid_argument;
      detail = std::string("CAMURE_BARRIER_RELEASE='") + v + "' is neither 'last' nor 'leader'";
      return nullptr;
    }
  }

  const auto deadline = clock::now() + init_timeout;
  const std::string prefix = job.segment_prefix();
  rt->seg_ = JobSegment::attach(prefix, job.local_rank, job.local_size, deadline, ec, detail, release);
  if (ec) return nullptr;
  rt->seg_.slot(job.local_rank).rank.store(job.rank, std::memory_order_release);
  if (multi && job.local_rank == 0) {
    // The node leader joins the other hosts' leaders before the host's init barrier completes.
    auto t = SessionTransport::create(job, deadline, ec, detail);
    if (ec) {
      rt->seg_.mark_broken(ec, -1); // the host's other ranks fail instead of waiting for us
      detail = "init: " + detail;
      return nullptr;
    }
    rt->net_ = std::move(t);
  }
  rt->barrier_ = std::make_unique<ShmBarrier>(rt->seg_, rt->net_ ? *rt->net_ : rt->transport_, multi);
  rt->bcast_ = ShmBcast::create(rt->seg_, prefix, bo, deadline, ec, detail);
  if (ec) return nullptr;
  rt->topics_ = TopicHub::create(prefix, job.local_size, deadline, ec, detail);
  if (ec) return nullptr;
  if (multi) rt->topics_->set_origin(job.node_id);
  if (rt->net_) {
    rt->forwarder_ = TopicForwarder::start(*rt->topics_, static_cast<SessionTransport &>(*rt->net_), job.node_id, ec,
                                           detail);
    if (ec) {
      rt->seg_.mark_broken(ec, -1);
      return nullptr;
    }
  }

  // Every local rank has attached everything once this barrier completes.
  std::string bdetail;
  ec = rt->barrier_->wait(deadline, bdetail);
  if (ec) {
    detail = "init: waiting for the other ranks of this host: " + bdetail;
    return nullptr;
  }
  // Every rank's cpu mask is in: decide between spinning and yielding for this host.
  rt->seg_.tune_waiting();
  if (multi) {
    ec = rt->wire_up_ranks(deadline, detail);
    if (ec) {
      rt->seg_.mark_broken(ec, -1);
      return nullptr;
    }
  }
  // From now on nothing needs the names: remove them so a crash leaves nothing in /dev/shm.
  if (job.local_rank == 0) {
    rt->seg_.unlink_name();
    rt->bcast_->unlink_name();
    rt->topics_->unlink_names();
  }
  return rt;
}

std::error_code Runtime::wire_up_ranks(clock::time_point deadline, std::string &detail) {
  // Every rank knows the ranks of its host (job segment); leaders learn every host's ranks
  // through the key/value store, to find a bcast root's host.
  local_ranks_.resize(static_cast<std::size_t>(job_.local_size));
  for (int l = 0; l < job_.local_size; ++l)
    local_ranks_[static_cast<std::size_t>(l)] = static_cast<int>(seg_.slot(l).rank.load(std::memory_order_acquire));
  if (job_.local_rank != 0) return {};
  std::string mine;
  for (int r : local_ranks_) {
    if (!mine.empty()) mine.push_back(',');
    mine.append(std::to_string(r));
  }
  KvClient kv(job_.control_fd);
  std::error_code ec;
  kv.put("camure.ranks." + std::to_string(job_.node_id), mine, ec, detail);
  if (ec) return ec;
  rank_node_.assign(static_cast<std::size_t>(job_.size), -1);
  for (int n = 0; n < job_.num_nodes; ++n) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    const std::string list = kv.get("camure.ranks." + std::to_string(n),
                                    std::max(left, std::chrono::milliseconds(1)), ec, detail);
    if (ec) return ec;
    std::size_t pos = 0;
    while (pos <= list.size()) {
      const std::size_t comma = std::min(list.find(',', pos), list.size());
      int r = -1;
      auto [p, e] = std::from_chars(list.data() + pos, list.data() + comma, r);
      if (e != std::errc() || p != list.data() + comma || r < 0 || r >= job_.size ||
          rank_node_[static_cast<std::size_t>(r)] != -1) {
        detail = "init: host " + std::to_string(n) + "'s rank list is malformed: " + list.substr(0, 80);
        return errc::protocol_error;
      }
      rank_node_[static_cast<std::size_t>(r)] = n;
      pos = comma + 1;
    }
  }
  for (std::size_t r = 0; r < rank_node_.size(); ++r) {
    if (rank_node_[r] < 0) {
      detail = "init: rank " + std::to_string(r) + " is on no host";
      return errc::protocol_error;
    }
  }
  return {};
}

int Runtime::local_of(int rank) const noexcept {
  for (std::size_t l = 0; l < local_ranks_.size(); ++l)
    if (local_ranks_[l] == rank) return static_cast<int>(l);
  return -1;
}

Runtime::~Runtime() {
  forwarder_.reset(); // before the hub and the session it bridges
  if (topics_) topics_->shutdown();
  topics_.reset();
  bcast_.reset();
  barrier_.reset();
  net_.reset();
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
  if (job_.num_nodes == 1) return bcast_->run(buf, root, root, collective_deadline(), detail);
  if (buf.empty()) return {};
  const std::uint64_t seq = ++net_seq_;
  const std::uint64_t total = buf.size();
  const auto deadline = collective_deadline();
  const int root_local = local_of(root);
  if (!net_) {
    // Not the leader: the root itself on the root's host, else the leader feeds the ring.
    return bcast_->run(buf, root_local >= 0 ? root_local : 0, root, deadline, detail);
  }
  BcastRelay relay;
  if (root_local >= 0) {
    relay.sink = [&](std::uint64_t off, std::span<const std::byte> chunk, std::string &d) {
      return net_->send_chunk(seq, total, off, chunk, deadline, d);
    };
    return bcast_->run(buf, root_local, root, deadline, detail, &relay);
  }
  const int root_node = rank_node_[static_cast<std::size_t>(root)];
  relay.source = [&](std::uint64_t off, std::span<std::byte> chunk, std::string &d) {
    return net_->recv_chunk(root_node, seq, total, off, chunk, deadline, d);
  };
  return bcast_->run(buf, 0, root, deadline, detail, &relay);
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
