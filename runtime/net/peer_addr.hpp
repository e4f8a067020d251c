// An opaque, comparable socket address so the protocol core can name unicast peers without asio.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

namespace camure::net {

/// Raw sockaddr bytes (sockaddr_in or sockaddr_in6) as the transport saw them. The core only
/// stores and compares these; the transport converts them back into endpoints.
struct PeerAddr {
  std::array<std::uint8_t, 28> raw{};
  std::uint8_t len = 0;

  bool empty() const noexcept { return len == 0; }
  friend bool operator==(const PeerAddr &a, const PeerAddr &b) noexcept {
    return a.len == b.len && std::memcmp(a.raw.data(), b.raw.data(), a.len) == 0;
  }
};

} // namespace camure::net
