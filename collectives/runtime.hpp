// The runtime of one rank: job info, the host's job segment, barrier, bcast, topics.
#pragma once

#include "collectives/job_segment.hpp"
#include "collectives/shm_barrier.hpp"
#include "collectives/shm_bcast.hpp"
#include "collectives/transport.hpp"
#include "runtime/bootstrap/job_info.hpp"

#include <memory>
#include <span>
#include <string>
#include <vector>
#include <system_error>

namespace camure::collectives {

class TopicHub;
class TopicForwarder;

/// Everything camure_init sets up for this process. One per process (see current()).
class Runtime {
public:
  /// Reads the job from the environment and attaches the host's shared memory; returns after
  /// every local rank has done the same (init barrier). Errors as camure_init.
  static std::unique_ptr<Runtime> create(std::error_code &ec, std::string &detail);
  ~Runtime();

  const bootstrap::JobInfo &job() const noexcept { return job_; }

  std::error_code barrier(std::string &detail) noexcept;
  std::error_code bcast(std::span<std::byte> buf, int root, std::string &detail) noexcept;
  TopicHub &topics() noexcept { return *topics_; }

  /// Final barrier, then detach. The runtime is unusable afterwards, whatever the result.
  std::error_code finalize(std::string &detail) noexcept;

  /// Leaves without the final barrier (a World destroyed by an exception): marks the host's
  /// collectives broken so the other ranks fail with peer_lost instead of waiting for this
  /// rank forever, then detaches.
  void abandon() noexcept;

private:
  Runtime() = default;
  JobSegment::clock::time_point collective_deadline() const noexcept;

  bootstrap::JobInfo job_;
  std::error_code wire_up_ranks(JobSegment::clock::time_point deadline, std::string &detail);
  int local_of(int rank) const noexcept;

  JobSegment seg_;
  LocalTransport transport_;
  std::unique_ptr<InterNodeTransport> net_; ///< node leader of a multi-host job only
  std::vector<int> local_ranks_;            ///< job-wide rank of each local rank
  std::vector<int> rank_node_;              ///< leader of a multi-host job: host of every rank
  std::uint64_t net_seq_ = 0;               ///< non-empty bcasts so far (multi-host)
  std::unique_ptr<ShmBarrier> barrier_;
  std::unique_ptr<ShmBcast> bcast_;
  std::unique_ptr<TopicHub> topics_;
  std::unique_ptr<TopicForwarder> forwarder_; ///< node leader of a multi-host job only
  bool finalized_ = false;
};

/// The process's runtime, or nullptr before init / after finalize.
Runtime *current() noexcept;
/// Installs (init) or removes (finalize) the process's runtime. install fails with
/// already_exists if one is installed.
std::error_code install(std::unique_ptr<Runtime> rt) noexcept;
std::unique_ptr<Runtime> uninstall() noexcept;

} // namespace camure::collectives
