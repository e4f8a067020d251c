// UDP-multicast notification over loopback (TTL 0, loop on): sender and pollable receiver.
#include "runtime/shm/notify.hpp"

#include <camure/error.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace camure::shm::udp {
namespace {

sockaddr_in make_addr(std::uint32_t group, std::uint16_t port) noexcept {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = group;
  a.sin_port = htons(port);
  return a;
}

std::error_code fail(int &fd) noexcept {
  if (fd >= 0) ::close(fd);
  fd = -1;
  return make_error_code(errc::system_error);
}

} // namespace

Sender::~Sender() {
  if (fd_ >= 0) ::close(fd_);
}

std::error_code Sender::open(std::uint32_t group, std::uint16_t port) noexcept {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) return fail(fd_);
  in_addr lo{};
  lo.s_addr = htonl(INADDR_LOOPBACK);
  const unsigned char ttl = 0, loop = 1;
  if (::setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof lo) != 0 ||
      ::setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0 ||
      ::setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0)
    return fail(fd_);
  group_ = group;
  port_ = port;
  return {};
}

void Sender::send() noexcept {
  if (fd_ < 0) return;
  const sockaddr_in a = make_addr(group_, port_);
  ::sendto(fd_, "", 0, MSG_DONTWAIT, reinterpret_cast<const sockaddr *>(&a), sizeof a);
}

Receiver::~Receiver() {
  if (fd_ >= 0) ::close(fd_);
}

std::error_code Receiver::open(std::uint32_t group, std::uint16_t port) noexcept {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) return fail(fd_);
  const int on = 1;
  if (::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) return fail(fd_);
  // Bound to the group address: only datagrams for this group arrive here.
  const sockaddr_in a = make_addr(group, port);
  if (::bind(fd_, reinterpret_cast<const sockaddr *>(&a), sizeof a) != 0) return fail(fd_);
  ip_mreq m{};
  m.imr_multiaddr.s_addr = group;
  m.imr_interface.s_addr = htonl(INADDR_LOOPBACK);
  if (::setsockopt(fd_, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) != 0) return fail(fd_);
  return {};
}

unsigned Receiver::drain() noexcept {
  unsigned n = 0;
  char b[1];
  while (fd_ >= 0 && ::recv(fd_, b, sizeof b, MSG_DONTWAIT) >= 0) ++n;
  return n;
}

} // namespace camure::shm::udp
