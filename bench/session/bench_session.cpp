// camure-bench-session: barrier latency and broadcast throughput/latency of camure::session on loopback.
// Members run as forked processes; the coordinator runs in this process. One RESULT line per point.
#include <camure/session.hpp>

#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace camure::session;
using std::chrono::seconds;

namespace {

struct Config {
  std::vector<int> members = {1, 3, 7};
  std::vector<double> losses = {0.0, 0.01};
  std::vector<std::size_t> sizes = {8, 1024, 65536, 1 << 20};
  int barrier_iters = 3000;
  double seconds_per_point = 1.0;
  std::size_t datagram = 8192;
  std::size_t window = 2 << 20;
  std::string bind = "127.0.0.1";
  std::string group = "239.77.200.1";
  std::string coordinator; // member mode: join this coordinator (cluster runs)
  std::string role = "local"; // local | coordinator | member
  int expect_members = 0;     // coordinator role: how many remote members to wait for
  std::string tag;            // extra key=value text appended to RESULT lines
};

template <class T> std::vector<T> parse_list(const std::string &s) {
  std::vector<T> v;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) v.push_back(static_cast<T>(std::stod(item)));
  return v;
}

std::string load() {
  std::ifstream f("/proc/loadavg");
  std::string a;
  f >> a;
  return a;
}

std::uint16_t free_port(const std::string &addr) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = 0;
  inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
  ::bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa);
  socklen_t l = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr *>(&sa), &l);
  ::close(fd);
  return ntohs(sa.sin_port);
}

Options options(const Config &c, double loss, std::uint64_t seed) {
  Options o;
  o.key = std::array<std::uint8_t, 32>{};
  o.key->fill(0x5a);
  o.ttl = c.role == "local" ? 0 : 1;
  o.max_datagram = c.datagram;
  o.window_bytes = c.window;
  o.inject_loss = loss;
  o.inject_seed = seed;
  o.liveness_timeout = std::chrono::milliseconds(3000);
  return o;
}

/// Number of messages of `size` for one throughput point (~seconds_per_point at a guessed rate).
std::size_t count_for(const Config &c, std::size_t size) {
  const double rate_bytes = 400e6, rate_msgs = 2e6;
  const double n = std::min(rate_msgs * c.seconds_per_point, rate_bytes * c.seconds_per_point / double(size));
  return std::max<std::size_t>(20, static_cast<std::size_t>(n));
}
std::size_t lat_iters(const Config &c, std::size_t size) {
  return std::max<std::size_t>(20, std::min<std::size_t>(2000, count_for(c, size) / 50));
}

/// The member side of every point, in the same order as the coordinator.
int run_member(const Config &c, const Endpoint &coord, double loss, std::uint64_t seed) {
  std::error_code ec;
  auto m = Member::join(coord, options(c, loss, seed), seconds(20), ec);
  if (ec) {
    std::fprintf(stderr, "member: join failed: %s\n", ec.message().c_str());
    return 2;
  }
  auto bar = m.join_barrier_group(0, seconds(30), ec);
  if (ec) return 3;
  auto bc = m.join_broadcast_group(1, seconds(30), ec);
  if (ec) return 4;
  bar.wait(seconds(30), ec); // start
  if (ec) return 5;
  for (int i = 0; i < c.barrier_iters + 200; ++i) {
    bar.wait(seconds(30), ec);
    if (ec) return 6;
  }
  for (std::size_t size : c.sizes) {
    const std::size_t n = count_for(c, size) + lat_iters(c, size);
    for (std::size_t i = 0; i < n; ++i) {
      auto msg = bc.recv(seconds(30), ec);
      if (ec || msg.size() != size) {
        std::fprintf(stderr, "member: recv %zu/%zu failed: %s\n", i, n, ec.message().c_str());
        return 7;
      }
    }
    bar.wait(seconds(30), ec);
    if (ec) return 8;
  }
  return 0;
}

int run_coordinator(const Config &c, Coordinator &coord, int members, double loss) {
  auto bar = coord.create_barrier_group(0);
  auto bc = coord.create_broadcast_group(1);
  bar.accept_until(static_cast<std::size_t>(members), seconds(60));
  bc.accept_until(static_cast<std::size_t>(members), seconds(60));
  bar.wait(seconds(30));
  const std::string common = "members=" + std::to_string(members) + " loss=" + std::to_string(loss) +
                             " datagram=" + std::to_string(c.datagram) + (c.tag.empty() ? "" : " " + c.tag);
  for (int i = 0; i < 200; ++i) bar.wait(seconds(30));
  auto t0 = Clock::now();
  for (int i = 0; i < c.barrier_iters; ++i) bar.wait(seconds(30));
  const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / c.barrier_iters;
  std::printf("RESULT bench=session op=barrier %s iters=%d avg_us=%.2f load=%s\n", common.c_str(), c.barrier_iters,
              us, load().c_str());
  std::fflush(stdout);
  for (std::size_t size : c.sizes) {
    std::vector<std::byte> msg(size, std::byte{0x42});
    const std::size_t n = count_for(c, size);
    const SessionStats before = coord.stats();
    t0 = Clock::now();
    for (std::size_t i = 0; i < n; ++i) bc.send(msg);
    bc.wait(seconds(60));
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    const SessionStats after = coord.stats();
    std::printf("RESULT bench=session op=bcast_throughput %s size=%zu msgs=%zu msgs_per_s=%.0f MiB_per_s=%.1f "
                "packets=%llu repairs=%llu load=%s\n",
                common.c_str(), size, n, n / s, n * double(size) / s / (1 << 20),
                static_cast<unsigned long long>(after.packets_sent - before.packets_sent),
                static_cast<unsigned long long>(after.repairs_unicast + after.repairs_multicast -
                                                before.repairs_unicast - before.repairs_multicast),
                load().c_str());
    std::fflush(stdout);
    const std::size_t li = lat_iters(c, size);
    t0 = Clock::now();
    for (std::size_t i = 0; i < li; ++i) {
      bc.send(msg);
      bc.wait(seconds(30));
    }
    const double lus = std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / li;
    std::printf("RESULT bench=session op=bcast_latency %s size=%zu iters=%zu avg_us=%.2f load=%s\n", common.c_str(),
                size, li, lus, load().c_str());
    std::fflush(stdout);
    bar.wait(seconds(60));
  }
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: camure-bench-session [--members 1,3,7] [--loss 0,0.01] [--sizes 8,1024,65536,1048576]\n"
               "  [--barrier-iters N] [--seconds S] [--datagram BYTES] [--window BYTES] [--group ADDR]\n"
               "  [--role local|coordinator|member] [--bind ADDR] [--coordinator ADDR:PORT] [--expect N] [--tag k=v]\n");
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  Config c;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto next = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument("missing value for " + a);
        return argv[++i];
      };
      if (a == "--members") c.members = parse_list<int>(next());
      else if (a == "--loss") c.losses = parse_list<double>(next());
      else if (a == "--sizes") c.sizes = parse_list<std::size_t>(next());
      else if (a == "--barrier-iters") c.barrier_iters = std::stoi(next());
      else if (a == "--seconds") c.seconds_per_point = std::stod(next());
      else if (a == "--datagram") c.datagram = std::stoul(next());
      else if (a == "--window") c.window = std::stoul(next());
      else if (a == "--group") c.group = next();
      else if (a == "--bind") c.bind = next();
      else if (a == "--role") c.role = next();
      else if (a == "--coordinator") c.coordinator = next();
      else if (a == "--expect") c.expect_members = std::stoi(next());
      else if (a == "--tag") c.tag = next();
      else if (a == "-h" || a == "--help") return usage();
      else throw std::invalid_argument("unknown argument " + a);
    }
  } catch (const std::exception &e) {
    std::fprintf(stderr, "camure-bench-session: %s\n", e.what());
    return usage();
  }
  try {
    if (c.role == "member") {
      std::error_code ec;
      auto ep = Endpoint::parse(c.coordinator, ec);
      if (ec) throw std::invalid_argument("bad --coordinator " + c.coordinator);
      return run_member(c, ep, c.losses.empty() ? 0 : c.losses[0], static_cast<std::uint64_t>(::getpid()));
    }
    if (c.role == "coordinator") {
      const double loss = c.losses.empty() ? 0 : c.losses[0];
      auto coord = Coordinator::start(Endpoint::parse(c.coordinator.empty() ? c.bind + ":45000" : c.coordinator),
                                      Endpoint{c.group, 45001}, options(c, loss, 1));
      return run_coordinator(c, coord, c.expect_members, loss);
    }
    for (int members : c.members) {
      for (double loss : c.losses) {
        const std::uint16_t port = free_port(c.bind);
        const Endpoint ep{c.bind, port};
        std::vector<pid_t> kids;
        for (int k = 0; k < members; ++k) {
          const pid_t pid = ::fork();
          if (pid == 0) ::_exit(run_member(c, ep, loss, 1000 + static_cast<std::uint64_t>(k)));
          kids.push_back(pid);
        }
        int rc = 0;
        {
          auto coord = Coordinator::start(ep, Endpoint{c.group, static_cast<std::uint16_t>(port + 1)}, options(c, loss, 1));
          rc = run_coordinator(c, coord, members, loss);
        }
        for (pid_t p : kids) {
          int st = 0;
          ::waitpid(p, &st, 0);
          if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            std::fprintf(stderr, "camure-bench-session: member %d failed (status %d)\n", p, st);
            rc = 1;
          }
        }
        if (rc) return rc;
      }
    }
  } catch (const std::exception &e) {
    std::fprintf(stderr, "camure-bench-session: %s\n", e.what());
    return 1;
  }
  return 0;
}
