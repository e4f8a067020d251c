// camure-bench-raw-barrier: what a multicast barrier can cost on this machine without camure.
// A coordinator and N member processes on loopback: each member sends an 8-byte ARRIVE by
// unicast, the coordinator multicasts RELEASE once all N arrived. No authentication, no
// retransmission, no progress thread: the floor camure's barrier is judged against.
// Wait modes: spin (non-blocking recv in a loop), yield (recv + sched_yield), block (blocking
// recv), hybrid (yield for --spin-us, then block). One RESULT line.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

enum class Mode { spin, yield, block, hybrid };

struct Config {
  int members = 7;
  int iters = 20000;
  int warmup = 500;
  Mode mode = Mode::yield;        ///< members
  Mode coord_mode = Mode::yield;  ///< coordinator (--mode sets both, --coord-mode only this)
  long spin_us = 200;
  std::string group = "239.77.201.1";
};

[[noreturn]] void die(const char *what) {
  std::perror(what);
  std::exit(1);
}

sockaddr_in addr(const char *ip, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) die("inet_pton");
  return a;
}

const sockaddr *sa(const sockaddr_in &a) { return reinterpret_cast<const sockaddr *>(&a); }

int unicast_socket(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0) die("socket");
  const auto a = addr("127.0.0.1", port);
  if (::bind(fd, sa(a), sizeof a) != 0) die("bind");
  in_addr lo{};
  inet_pton(AF_INET, "127.0.0.1", &lo);
  ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof lo);
  const unsigned char ttl = 0, loop = 1;
  ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
  ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop);
  return fd;
}

int group_socket(const Config &c, std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0) die("socket");
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const auto a = addr(c.group.c_str(), port);
  if (::bind(fd, sa(a), sizeof a) != 0) die("bind group");
  ip_mreq m{};
  inet_pton(AF_INET, c.group.c_str(), &m.imr_multiaddr);
  inet_pton(AF_INET, "127.0.0.1", &m.imr_interface);
  if (::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) != 0) die("IP_ADD_MEMBERSHIP");
  return fd;
}

/// Receives one datagram from fd in the configured way; returns its length.
ssize_t wait_recv(const Config &c, Mode mode, int fd, std::uint8_t *buf, std::size_t cap) {
  const auto start = Clock::now();
  for (;;) {
    const ssize_t n = ::recv(fd, buf, cap, MSG_DONTWAIT);
    if (n >= 0) return n;
    if (errno != EAGAIN && errno != EWOULDBLOCK) die("recv");
    switch (mode) {
    case Mode::spin: break;
    case Mode::yield: sched_yield(); break;
    case Mode::block: {
      pollfd p{fd, POLLIN, 0};
      ::poll(&p, 1, -1);
      break;
    }
    case Mode::hybrid:
      if (Clock::now() - start < std::chrono::microseconds(c.spin_us)) {
        sched_yield();
      } else {
        pollfd p{fd, POLLIN, 0};
        ::poll(&p, 1, -1);
      }
      break;
    }
  }
}

int run_member(const Config &c, std::uint16_t port, int index) {
  const int u = unicast_socket(0);
  const int g = group_socket(c, static_cast<std::uint16_t>(port + 1));
  const auto coord = addr("127.0.0.1", port);
  std::uint8_t buf[64];
  for (std::uint64_t round = 0; round < static_cast<std::uint64_t>(c.iters + c.warmup + 1); ++round) {
    std::uint8_t msg[16];
    std::memcpy(msg, &round, 8);
    const std::uint64_t who = static_cast<std::uint64_t>(index);
    std::memcpy(msg + 8, &who, 8);
    if (::sendto(u, msg, sizeof msg, 0, sa(coord), sizeof coord) != sizeof msg) die("sendto");
    for (;;) { // wait for RELEASE(round)
      const ssize_t n = wait_recv(c, c.mode, g, buf, sizeof buf);
      std::uint64_t r = 0;
      if (n >= 8) std::memcpy(&r, buf, 8);
      if (n >= 8 && r >= round) break;
    }
  }
  return 0;
}

std::string load() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, d;
  f >> a >> b >> d;
  return a + "," + b + "," + d;
}

int run_coordinator(const Config &c, int u, std::uint16_t port) {
  const sockaddr_in to = addr(c.group.c_str(), static_cast<std::uint16_t>(port + 1));
  std::uint8_t buf[64];
  std::vector<std::uint64_t> arrived_round(static_cast<std::size_t>(c.members), ~0ull);
  Clock::time_point t0{};
  for (std::uint64_t round = 0; round < static_cast<std::uint64_t>(c.iters + c.warmup + 1); ++round) {
    if (round == static_cast<std::uint64_t>(c.warmup) + 1) t0 = Clock::now();
    int count = 0;
    for (auto r : arrived_round) count += r == round;
    while (count < c.members) {
      const ssize_t n = wait_recv(c, c.coord_mode, u, buf, sizeof buf);
      if (n != 16) continue;
      std::uint64_t r = 0, who = 0;
      std::memcpy(&r, buf, 8);
      std::memcpy(&who, buf + 8, 8);
      if (who >= arrived_round.size() || arrived_round[who] == r) continue;
      arrived_round[who] = r;
      count += r == round;
    }
    std::memcpy(buf, &round, 8);
    if (::sendto(u, buf, 8, 0, sa(to), sizeof to) != 8) die("sendto group");
  }
  const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / c.iters;
  static const char *names[] = {"spin", "yield", "block", "hybrid"};
  std::printf("RESULT bench=raw_barrier members=%d mode=%s coord_mode=%s spin_us=%ld iters=%d avg_us=%.2f load=%s\n",
              c.members, names[static_cast<int>(c.mode)], names[static_cast<int>(c.coord_mode)], c.spin_us, c.iters,
              us, load().c_str());
  return 0;
}

bool parse_mode(const std::string &v, Mode &m) {
  if (v == "spin") m = Mode::spin;
  else if (v == "yield") m = Mode::yield;
  else if (v == "block") m = Mode::block;
  else if (v == "hybrid") m = Mode::hybrid;
  else return false;
  return true;
}

int usage() {
  std::fprintf(stderr, "usage: camure-bench-raw-barrier [--members N] [--iters N] [--mode spin|yield|block|hybrid]"
                       " [--coord-mode MODE] [--spin-us US] [--group ADDR]\n");
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  Config c;
  Mode m = Mode::yield;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    const std::string v = argv[++i];
    char *end = nullptr;
    const long n = std::strtol(v.c_str(), &end, 10);
    const bool num = end && *end == '\0' && n >= 0;
    if (a == "--members" && num && n >= 1 && n <= 64) c.members = static_cast<int>(n);
    else if (a == "--iters" && num && n >= 1) c.iters = static_cast<int>(n);
    else if (a == "--spin-us" && num) c.spin_us = n;
    else if (a == "--group") c.group = v;
    else if ((a == "--mode" || a == "--coord-mode") && parse_mode(v, m)) {
      c.coord_mode = m;
      if (a == "--mode") c.mode = m;
    } else {
      std::fprintf(stderr, "camure-bench-raw-barrier: bad argument %s %s\n", a.c_str(), v.c_str());
      return usage();
    }
  }
  // The coordinator's socket exists before the members start, so no ARRIVE is lost.
  const int u = unicast_socket(0);
  sockaddr_in me{};
  socklen_t len = sizeof me;
  ::getsockname(u, reinterpret_cast<sockaddr *>(&me), &len);
  const std::uint16_t port = ntohs(me.sin_port);
  std::vector<pid_t> kids;
  for (int k = 0; k < c.members; ++k) {
    const pid_t pid = ::fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      ::close(u);
      ::_exit(run_member(c, port, k));
    }
    kids.push_back(pid);
  }
  // Members join the group before their first ARRIVE, so the first RELEASE reaches them.
  const int rc = run_coordinator(c, u, port);
  int bad = 0;
  for (pid_t p : kids) {
    int st = 0;
    ::waitpid(p, &st, 0);
    bad += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
  }
  return rc || bad ? 1 : 0;
}
