// Optional UDP-multicast commit notification on loopback: a pollable fd for readers.
#pragma once

#include <cstdint>
#include <system_error>

namespace camure::shm::udp {

/// Sends 0-byte datagrams to a multicast group on the loopback interface, TTL 0 (never leaves
/// the host).
class Sender {
public:
  Sender() = default;
  Sender(const Sender &) = delete;
  Sender &operator=(const Sender &) = delete;
  ~Sender();
  /// group is an IPv4 address in network byte order, port in host byte order.
  std::error_code open(std::uint32_t group, std::uint16_t port) noexcept;
  bool is_open() const noexcept { return fd_ >= 0; }
  /// Best effort: a full socket buffer just drops the datagram (readers drain and re-check).
  void send() noexcept;

private:
  int fd_ = -1;
  std::uint32_t group_ = 0;
  std::uint16_t port_ = 0;
};

/// A non-blocking socket joined to the group on loopback; readable after each notification.
class Receiver {
public:
  Receiver() = default;
  Receiver(const Receiver &) = delete;
  Receiver &operator=(const Receiver &) = delete;
  ~Receiver();
  std::error_code open(std::uint32_t group, std::uint16_t port) noexcept;
  int fd() const noexcept { return fd_; }
  /// Reads and discards every pending datagram; returns how many.
  unsigned drain() noexcept;

private:
  int fd_ = -1;
};

} // namespace camure::shm::udp
