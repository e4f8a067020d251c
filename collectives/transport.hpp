// The seam to other hosts: what the collectives need from an inter-node transport.
#pragma once

#include <cstddef>
#include <span>
#include <system_error>

namespace camure::collectives {

/// What a node leader does with the other hosts' leaders. On one host this is
/// LocalTransport (nothing to do); issue 5 plugs in the multicast-session transport.
class InterNodeTransport {
public:
  virtual ~InterNodeTransport() = default;
  /// Number of hosts in the job.
  virtual int num_nodes() const noexcept = 0;
  /// Leaders' barrier: returns when every host's leader has called it.
  virtual void barrier(std::error_code &ec) = 0;
  /// Leaders' broadcast of one chunk from the root host's leader to every other leader.
  virtual void bcast(std::span<std::byte> chunk, int root_node, std::error_code &ec) = 0;
};

/// One host: every inter-node step is a no-op.
class LocalTransport final : public InterNodeTransport {
public:
  int num_nodes() const noexcept override { return 1; }
  void barrier(std::error_code &ec) override { ec.clear(); }
  void bcast(std::span<std::byte>, int, std::error_code &ec) override { ec.clear(); }
};

} // namespace camure::collectives
