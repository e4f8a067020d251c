// Wire-up helpers: random key and group, local-host detection, addresses.
#include "launcher/wireup.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdint>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

namespace camure::launcher {

namespace {
std::string numeric(const sockaddr *sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET)
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in *>(sa)->sin_addr, buf, sizeof buf);
  else if (sa->sa_family == AF_INET6)
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6 *>(sa)->sin6_addr, buf, sizeof buf);
  return buf;
}

std::uint32_t random_u32() {
  if (::sodium_init() < 0) std::abort();
  return ::randombytes_random();
}
} // namespace

std::string make_session_key_hex() {
  if (::sodium_init() < 0) std::abort(); // no random source: nothing sensible to do
  unsigned char key[32];
  ::randombytes_buf(key, sizeof key);
  char hex[65];
  ::sodium_bin2hex(hex, sizeof hex, key, sizeof key);
  ::sodium_memzero(key, sizeof key);
  return hex;
}

std::string choose_mcast() {
  const std::uint32_t r = random_u32();
  const unsigned c = (r >> 8) & 0xff, d = 1 + (r & 0xff) % 254;
  const unsigned port = 20000 + (r >> 16) % 40001;
  return "239.77." + std::to_string(c) + "." + std::to_string(d) + ":" + std::to_string(port);
}

bool valid_mcast(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  const std::string group(text.substr(0, colon));
  const std::string port(text.substr(colon + 1));
  in_addr a{};
  if (::inet_pton(AF_INET, group.c_str(), &a) != 1) return false;
  if ((ntohl(a.s_addr) >> 28) != 0xe) return false;
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return false;
  const int p = std::atoi(port.c_str());
  return p > 0 && p < 65536;
}

std::string host_name() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

bool is_local_host(std::string_view name) {
  if (name == "localhost" || name == "::1" || name.rfind("127.", 0) == 0) return true;
  const std::string me = host_name();
  if (name == me) return true;
  if (const auto dot = me.find('.'); dot != std::string::npos && name == std::string_view(me).substr(0, dot)) return true;
  ifaddrs *ifs = nullptr;
  if (::getifaddrs(&ifs) != 0) return false;
  bool local = false;
  for (ifaddrs *i = ifs; i && !local; i = i->ifa_next)
    if (i->ifa_addr && (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6))
      local = numeric(i->ifa_addr) == name;
  ::freeifaddrs(ifs);
  return local;
}

std::string resolve_iface(const std::string &iface, std::string &why) {
  ifaddrs *ifs = nullptr;
  if (::getifaddrs(&ifs) != 0) {
    why = "--iface: cannot list interfaces: " + std::string(std::strerror(errno));
    return "";
  }
  std::string v4, v6;
  for (ifaddrs *i = ifs; i; i = i->ifa_next) {
    if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6)) continue;
    const std::string a = numeric(i->ifa_addr);
    if (a == iface) {
      v4 = a;
      break;
    }
    if (iface == i->ifa_name) {
      if (i->ifa_addr->sa_family == AF_INET && v4.empty()) v4 = a;
      if (i->ifa_addr->sa_family == AF_INET6 && v6.empty()) v6 = a;
    }
  }
  ::freeifaddrs(ifs);
  if (!v4.empty()) return v4;
  if (!v6.empty()) return v6;
  why = "--iface: '" + iface + "' is neither an interface with an address nor an address of host " + host_name();
  return "";
}

std::string route_address_to(const std::string &host) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo *res = nullptr;
  if (::getaddrinfo(host.c_str(), "9", &hints, &res) != 0 || !res) return "";
  std::string out;
  for (addrinfo *a = res; a && out.empty(); a = a->ai_next) {
    const int fd = ::socket(a->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    // connect() on UDP only picks a route and a source address; nothing is sent.
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      if (::getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &len) == 0) out = numeric(reinterpret_cast<sockaddr *>(&ss));
    }
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return out;
}

std::string ssh_connection_local_address() {
  const char *c = std::getenv("SSH_CONNECTION");
  if (!c) return "";
  // "client_ip client_port server_ip server_port"
  std::string s = c;
  std::size_t pos = 0;
  for (int field = 0; field < 2; ++field) {
    pos = s.find(' ', pos);
    if (pos == std::string::npos) return "";
    ++pos;
  }
  const auto end = s.find(' ', pos);
  return s.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
}

} // namespace camure::launcher
