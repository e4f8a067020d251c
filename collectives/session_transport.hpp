// Node leaders over one multicast session: wire-up through the control channel's key/value
// store, a barrier group and a broadcast group among the leaders.
#pragma once

#include "collectives/transport.hpp"
#include "runtime/bootstrap/job_info.hpp"

#include <camure/session.hpp>

#include <deque>
#include <memory>
#include <vector>

namespace camure::collectives {

/// The inter-node transport of a node leader (local rank 0) in a multi-host job.
///
/// Wire-up: fetch the session key (`get camure.session_key`); node 0 starts the Coordinator on
/// CAMURE_NODE_ADDR:0 with the job's group CAMURE_MCAST and `put camure.coord <addr:port>`;
/// other leaders `get camure.coord` and join. create() returns once all num_nodes-1 members
/// are in both groups. Chunks carry their origin node, so chunks of a later bcast from another
/// host that arrive early are kept aside (per origin, FIFO) until their turn.
class SessionTransport final : public InterNodeTransport {
public:
  static std::unique_ptr<SessionTransport> create(const bootstrap::JobInfo &job, clock::time_point deadline,
                                                  std::error_code &ec, std::string &detail);
  ~SessionTransport() override;

  int num_nodes() const noexcept override { return num_nodes_; }
  std::error_code barrier(clock::time_point deadline, std::string &detail) noexcept override;
  std::error_code send_chunk(std::uint64_t seq, std::uint64_t total, std::uint64_t offset,
                             std::span<const std::byte> chunk, clock::time_point deadline,
                             std::string &detail) noexcept override;
  std::error_code recv_chunk(int root_node, std::uint64_t seq, std::uint64_t total, std::uint64_t offset,
                             std::span<std::byte> dest, clock::time_point deadline,
                             std::string &detail) noexcept override;

  /// Topic forwarding (its own broadcast group, used by the leader's forwarder thread only).
  std::error_code send_topic(std::span<const std::byte> bytes, session::Duration timeout) noexcept;
  /// Next forwarded topic message from another host; would_block/timeout when none.
  session::Message recv_topic(session::Duration timeout, std::error_code &ec) noexcept;

private:
  SessionTransport() = default;
  /// errc::peer_lost / coordinator_lost / evicted once the session lost a leader, else {}.
  std::error_code health(std::string &detail) const;

  int num_nodes_ = 1;
  int node_id_ = 0;
  session::Coordinator coord_;
  session::Member member_;
  session::BarrierGroup barrier_;
  session::BroadcastGroup bcast_;
  session::BroadcastGroup topics_;
  std::vector<std::deque<session::Message>> early_; ///< per origin node
  std::vector<std::byte> send_buf_;
};

} // namespace camure::collectives
