// The host barrier: a generation counter in the job segment, spin-then-futex waiting.
#pragma once

#include "collectives/job_segment.hpp"
#include "collectives/transport.hpp"

#include <string>
#include <system_error>

namespace camure::collectives {

/// Barrier of all ranks: arrive with one atomic add on the host. Who ends the round:
/// - one host, BarrierRelease::last_arriver (the default): the last arriver bumps the
///   generation and wakes the sleepers (no syscall if nobody sleeps). Nobody waits for a
///   particular rank to be scheduled, so an oversubscribed host needs the fewest switches.
/// - multi-host, or BarrierRelease::leader (CAMURE_BARRIER_RELEASE=leader): local rank 0 waits
///   for every arrival, runs the inter-node step (multi-host), then bumps the generation. Rank 0
///   leaves first, which an oversubscribed host pays for with the switches until rank 0 runs.
/// Waiting is JobSegment::await's (spin while the machine has a free core, else yield, then sleep).
class ShmBarrier {
public:
  /// multi_node: the job spans hosts; then local rank 0 (the node leader) waits for its host,
  /// runs transport.barrier (transport is used on the leader only) and releases the host.
  /// On one host the segment's barrier_release (see JobSegment::attach) says who releases.
  ShmBarrier(JobSegment &seg, InterNodeTransport &transport, bool multi_node = false) noexcept
      : seg_(seg), transport_(transport), multi_node_(multi_node),
        leader_releases_(multi_node || seg.control().barrier_release ==
                                           static_cast<std::uint32_t>(BarrierRelease::leader)) {}

  /// Returns when every rank arrived. Errors: peer_lost (a local rank died while others
  /// waited), timeout (deadline), or the inter-node error. Any error breaks the job's
  /// collectives for every rank of the host (the barrier state is then undefined).
  std::error_code wait(JobSegment::clock::time_point deadline, std::string &detail) noexcept;

private:
  JobSegment &seg_;
  InterNodeTransport &transport_;
  bool multi_node_;
  bool leader_releases_;
};

} // namespace camure::collectives
