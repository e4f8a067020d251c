// Seeded datagram interceptor: drops, duplicates and reorders outgoing datagrams for tests/benches.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <span>
#include <vector>

#include "runtime/net/peer_addr.hpp"
#include "runtime/net/seq.hpp"

namespace camure::net {

struct InterceptorConfig {
  double drop = 0;      ///< probability a datagram is dropped
  double duplicate = 0; ///< probability a datagram is sent twice
  double reorder = 0;   ///< probability a datagram is held back and sent after the next one
  std::uint64_t seed = 1;
  bool active() const noexcept { return drop > 0 || duplicate > 0 || reorder > 0; }
};

/// Sits between the protocol core and the wire. Deterministic for a given seed and input order.
class Interceptor {
public:
  using Sink = std::function<void(const PeerAddr *to, std::span<const std::uint8_t>)>;

  explicit Interceptor(InterceptorConfig cfg) : cfg_(cfg), rng_(cfg.seed) {}

  /// Passes a datagram through (to == nullptr means multicast).
  void send(const PeerAddr *to, std::span<const std::uint8_t> d, const Sink &sink);
  /// Releases any held-back datagram (call from the progress loop so nothing is held forever).
  void flush(const Sink &sink);

  std::uint64_t dropped() const noexcept { return dropped_; }
  std::uint64_t duplicated() const noexcept { return duplicated_; }
  std::uint64_t reordered() const noexcept { return reordered_; }

private:
  bool chance(double p) { return p > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

  InterceptorConfig cfg_;
  std::mt19937_64 rng_;
  bool held_ = false;
  bool held_multicast_ = false;
  PeerAddr held_to_;
  std::vector<std::uint8_t> held_data_;
  std::uint64_t dropped_ = 0, duplicated_ = 0, reordered_ = 0;
};

} // namespace camure::net
