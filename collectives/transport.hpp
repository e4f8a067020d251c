// The seam to other hosts: what the collectives need from an inter-node transport.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>

namespace camure::collectives {

/// What a node leader does with the other hosts' leaders. On one host this is LocalTransport
/// (nothing to do); across hosts SessionTransport (multicast sessions). Only the node leader
/// (local rank 0) calls it, from one thread at a time.
class InterNodeTransport {
public:
  using clock = std::chrono::steady_clock;
  virtual ~InterNodeTransport() = default;
  /// Number of hosts in the job.
  virtual int num_nodes() const noexcept = 0;
  /// Leaders' barrier: returns when every host's leader has called it.
  virtual std::error_code barrier(clock::time_point deadline, std::string &detail) noexcept = 0;
  /// Root host's leader: sends bytes [offset, offset + chunk.size()) of bcast number `seq`
  /// (total bytes `total`) to every other leader.
  virtual std::error_code send_chunk(std::uint64_t seq, std::uint64_t total, std::uint64_t offset,
                                     std::span<const std::byte> chunk, clock::time_point deadline,
                                     std::string &detail) noexcept = 0;
  /// Other leaders: receives the chunk at `offset` of bcast `seq` from host root_node into dest
  /// (dest.size() is the chunk length every host derives from the same total).
  virtual std::error_code recv_chunk(int root_node, std::uint64_t seq, std::uint64_t total, std::uint64_t offset,
                                     std::span<std::byte> dest, clock::time_point deadline,
                                     std::string &detail) noexcept = 0;
};

/// One host: every inter-node step is a no-op.
class LocalTransport final : public InterNodeTransport {
public:
  int num_nodes() const noexcept override { return 1; }
  std::error_code barrier(clock::time_point, std::string &) noexcept override { return {}; }
  std::error_code send_chunk(std::uint64_t, std::uint64_t, std::uint64_t, std::span<const std::byte>,
                             clock::time_point, std::string &) noexcept override {
    return {};
  }
  std::error_code recv_chunk(int, std::uint64_t, std::uint64_t, std::uint64_t, std::span<std::byte>,
                             clock::time_point, std::string &) noexcept override {
    return {};
  }
};

} // namespace camure::collectives
