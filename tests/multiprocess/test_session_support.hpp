// Multiprocess session test helpers: unique loopback groups, a pipe for child-to-parent signals.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <camure/session.hpp>

namespace camure::test {

/// A multicast endpoint on 239.77.x.y unique to this process and call (loopback only, TTL 0).
inline session::Endpoint unique_group() {
  static unsigned n = 0;
  const unsigned pid = static_cast<unsigned>(::getpid());
  ++n;
  return {"239.77." + std::to_string((pid >> 8) % 250 + 1) + "." + std::to_string((pid + n) % 250 + 1),
          static_cast<std::uint16_t>(20000 + (pid * 7 + n * 131) % 30000)};
}

inline session::Options loopback_options() {
  session::Options o;
  o.key = std::array<std::uint8_t, 32>{};
  for (std::size_t i = 0; i < 32; ++i) (*o.key)[i] = static_cast<std::uint8_t>(i * 13 + 1);
  o.ttl = 0;
  o.interface = "127.0.0.1";
  o.heartbeat_interval = std::chrono::milliseconds(50);
  o.liveness_timeout = std::chrono::milliseconds(600);
  return o;
}

/// A pipe children write small tokens to; the parent reads them with a deadline.
class Signal {
public:
  Signal() {
    if (::pipe2(fd_, O_CLOEXEC) != 0) fd_[0] = fd_[1] = -1;
  }
  ~Signal() {
    for (int f : fd_)
      if (f >= 0) ::close(f);
  }
  void send(std::uint32_t v) const { (void)!::write(fd_[1], &v, sizeof v); }
  std::optional<std::uint32_t> recv(std::chrono::milliseconds timeout) const {
    pollfd p{fd_[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
    std::uint32_t v = 0;
    if (::read(fd_[0], &v, sizeof v) != sizeof v) return std::nullopt;
    return v;
  }

private:
  int fd_[2];
};

/// Deterministic message content: sender s, index i.
inline std::vector<std::byte> payload(std::uint32_t s, std::uint32_t i, std::size_t size) {
  std::vector<std::byte> v(size);
  std::uint64_t x = (std::uint64_t{s} << 32) ^ i ^ 0x9e3779b97f4a7c15ULL;
  for (auto &b : v) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b = static_cast<std::byte>(x);
  }
  return v;
}
inline std::size_t size_of(std::uint32_t i) { return i % 50 == 0 ? 20000 + i : i % 300; }

} // namespace camure::test
