// The callback through which sans-IO protocol classes hand datagrams to the wire.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "runtime/net/peer_addr.hpp"

namespace camure::net {

/// to == nullptr: send to the session's multicast group; otherwise unicast to that address.
using Emit = std::function<void(const PeerAddr *to, std::span<const std::uint8_t> datagram)>;

/// Header fields every frame of one node shares.
struct FrameContext {
  std::uint64_t session = 0;
  std::uint32_t epoch = 0;
  std::uint32_t self = 0;
};

} // namespace camure::net
