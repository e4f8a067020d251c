// The host barrier: a generation counter in the job segment, spin-then-futex waiting.
#pragma once

#include "collectives/job_segment.hpp"
#include "collectives/transport.hpp"

#include <string>
#include <system_error>

namespace camure::collectives {

/// Barrier of all ranks: arrive with one atomic add on the host; the last arriver of the host
/// runs the inter-node step (no-op on one host), then bumps the generation and wakes the
/// sleepers (no syscall if nobody sleeps). Waiters spin only while the machine has a free
/// core (shm::wait_until decides), else they sleep at once.
class ShmBarrier {
public:
  /// multi_node: the job spans hosts; then local rank 0 (the node leader) waits for its host,
  /// runs transport.barrier (transport is used on the leader only) and releases the host.
  ShmBarrier(JobSegment &seg, InterNodeTransport &transport, bool multi_node = false) noexcept
      : seg_(seg), transport_(transport), multi_node_(multi_node) {}

  /// Returns when every rank arrived. Errors: peer_lost (a local rank died while others
  /// waited), timeout (deadline), or the inter-node error. Any error breaks the job's
  /// collectives for every rank of the host (the barrier state is then undefined).
  std::error_code wait(JobSegment::clock::time_point deadline, std::string &detail) noexcept;

private:
  JobSegment &seg_;
  InterNodeTransport &transport_;
  bool multi_node_;
};

} // namespace camure::collectives
