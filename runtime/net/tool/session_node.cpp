// camure-session-node: runs one session coordinator or member from the command line (cluster tests).
// Prints `RESULT key=value ...` lines; exit 0 only if every check passed.
#include <camure/session.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>
#include <unistd.h>

using namespace camure::session;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

struct Args {
  std::string role;
  std::string bind, group, coordinator, interface;
  int members = 1, rounds = 100, messages = 100;
  std::size_t size = 1000;
  double loss = 0, dup = 0, reorder = 0;
  int liveness_ms = 1000, heartbeat_ms = 100;
  int progress_every = 0; ///< print a progress line every N barrier rounds
  bool hold = false;      ///< coordinator: block after finishing (to be killed)
  bool expect_coordinator_loss = false;
  bool tolerate_eviction = false;
  std::size_t datagram = 1400;
};

[[noreturn]] void usage(const char *why) {
  std::fprintf(stderr,
               "camure-session-node: %s\n"
               "usage: camure-session-node coordinator --bind A:P --group G:P --members N [common]\n"
               "       camure-session-node member --coordinator A:P [common] [--expect-coordinator-loss]\n"
               "common: --rounds R --messages M --size S --loss P --dup P --reorder P --liveness-ms T\n"
               "        --heartbeat-ms T --progress-every N --interface ADDR --datagram BYTES [--hold]\n",
               why);
  std::exit(2);
}

Args parse(int argc, char **argv) {
  if (argc < 2) usage("missing role");
  Args a;
  a.role = argv[1];
  if (a.role != "coordinator" && a.role != "member") usage("role must be coordinator or member");
  for (int i = 2; i < argc; ++i) {
    const std::string k = argv[i];
    auto v = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + k).c_str());
      return argv[++i];
    };
    try {
      if (k == "--bind") a.bind = v();
      else if (k == "--group") a.group = v();
      else if (k == "--coordinator") a.coordinator = v();
      else if (k == "--interface") a.interface = v();
      else if (k == "--members") a.members = std::stoi(v());
      else if (k == "--rounds") a.rounds = std::stoi(v());
      else if (k == "--messages") a.messages = std::stoi(v());
      else if (k == "--size") a.size = std::stoul(v());
      else if (k == "--loss") a.loss = std::stod(v());
      else if (k == "--dup") a.dup = std::stod(v());
      else if (k == "--reorder") a.reorder = std::stod(v());
      else if (k == "--liveness-ms") a.liveness_ms = std::stoi(v());
      else if (k == "--heartbeat-ms") a.heartbeat_ms = std::stoi(v());
      else if (k == "--progress-every") a.progress_every = std::stoi(v());
      else if (k == "--datagram") a.datagram = std::stoul(v());
      else if (k == "--hold") a.hold = true;
      else if (k == "--expect-coordinator-loss") a.expect_coordinator_loss = true;
      else if (k == "--tolerate-eviction") a.tolerate_eviction = true;
      else usage(("unknown option " + k).c_str());
    } catch (const std::logic_error &) {
      usage(("bad value for " + k).c_str());
    }
  }
  return a;
}

Options options(const Args &a) {
  Options o;
  o.key = std::array<std::uint8_t, 32>{};
  for (std::size_t i = 0; i < 32; ++i) (*o.key)[i] = static_cast<std::uint8_t>(0xa5 ^ i);
  o.interface = a.interface;
  o.inject_loss = a.loss;
  o.inject_duplicate = a.dup;
  o.inject_reorder = a.reorder;
  o.inject_seed = static_cast<std::uint64_t>(::getpid());
  o.liveness_timeout = milliseconds(a.liveness_ms);
  o.heartbeat_interval = milliseconds(a.heartbeat_ms);
  o.max_datagram = a.datagram;
  return o;
}

std::vector<std::byte> content(std::uint32_t sender, std::uint32_t i, std::size_t size) {
  std::vector<std::byte> v(size);
  std::uint32_t x = sender * 2654435761u + i * 40503u + 1;
  for (auto &b : v) {
    x = x * 1664525u + 1013904223u;
    b = static_cast<std::byte>(x >> 24);
  }
  return v;
}

void result(const std::string &s) {
  std::printf("RESULT %s\n", s.c_str());
  std::fflush(stdout);
}

int fail(const std::string &what, const std::error_code &ec) {
  result("ok=0 error=" + what + " code=" + std::to_string(ec.value()) + " reason=\"" + ec.message() + "\"");
  return 1;
}

double us_since(Clock::time_point t) { return std::chrono::duration<double, std::micro>(Clock::now() - t).count(); }

int coordinator(const Args &a) {
  std::error_code ec;
  const auto bind = Endpoint::parse(a.bind, ec);
  if (ec) usage("bad --bind");
  const auto group = Endpoint::parse(a.group, ec);
  if (ec) usage("bad --group");
  auto c = Coordinator::start(bind, group, options(a), ec);
  if (ec) return fail("start", ec);
  auto bar = c.create_barrier_group(0);
  auto bc = c.create_broadcast_group(1);
  result("role=coordinator event=started endpoint=" + c.local_endpoint().to_string());
  bar.accept_until(static_cast<std::size_t>(a.members), seconds(60), ec);
  if (ec) return fail("accept_barrier", ec);
  bc.accept_until(static_cast<std::size_t>(a.members), seconds(60), ec);
  if (ec) return fail("accept_broadcast", ec);
  bar.wait(seconds(60), ec);
  if (ec) return fail("barrier_start", ec);
  result("role=coordinator event=ready members=" + std::to_string(a.members));
  auto t0 = Clock::now();
  for (int r = 1; r <= a.rounds; ++r) {
    bar.wait(seconds(60), ec);
    if (ec) return fail("barrier", ec);
    if (a.progress_every && r % a.progress_every == 0) result("role=coordinator event=round n=" + std::to_string(r));
  }
  result("role=coordinator op=barrier rounds=" + std::to_string(a.rounds) +
         " avg_us=" + std::to_string(a.rounds ? us_since(t0) / a.rounds : 0.0));
  t0 = Clock::now();
  for (int i = 0; i < a.messages; ++i) {
    bc.send(content(0, static_cast<std::uint32_t>(i), a.size), seconds(60), ec);
    if (ec) return fail("send", ec);
    if (a.progress_every && (i + 1) % a.progress_every == 0)
      result("role=coordinator event=sent n=" + std::to_string(i + 1));
  }
  bc.wait(seconds(60), ec);
  if (ec) return fail("bcast_wait", ec);
  const double s = us_since(t0) / 1e6;
  result("role=coordinator op=bcast messages=" + std::to_string(a.messages) + " size=" + std::to_string(a.size) +
         " MiB_per_s=" + std::to_string(s > 0 ? a.messages * double(a.size) / s / (1 << 20) : 0.0));
  bar.wait(seconds(60), ec);
  if (ec) return fail("barrier_end", ec);
  const auto st = c.stats();
  result("role=coordinator ok=1 members=" + std::to_string(bar.members()) + " evictions=" + std::to_string(st.evictions) +
         " repairs=" + std::to_string(st.repairs_unicast + st.repairs_multicast) +
         " injected_drops=" + std::to_string(st.interceptor_dropped) + " bad_frames=" + std::to_string(st.dropped_total));
  if (a.hold) {
    result("role=coordinator event=holding");
    for (;;) ::pause();
  }
  return 0;
}

int member(const Args &a) {
  std::error_code ec;
  const auto coord = Endpoint::parse(a.coordinator, ec);
  if (ec) usage("bad --coordinator");
  auto m = Member::join(coord, options(a), seconds(30), ec);
  if (ec) return fail("join", ec);
  const std::string me = "role=member id=" + std::to_string(m.id());
  auto bar = m.join_barrier_group(0, seconds(60), ec);
  if (ec) return fail("join_barrier", ec);
  auto bc = m.join_broadcast_group(1, seconds(60), ec);
  if (ec) return fail("join_broadcast", ec);
  result(me + " event=joined");
  bar.wait(seconds(60), ec);
  if (ec) return fail("barrier_start", ec);
  for (int r = 1; r <= a.rounds; ++r) {
    bar.wait(seconds(60), ec);
    if (ec) return fail("barrier", ec);
  }
  for (int i = 0; i < a.messages; ++i) {
    auto msg = bc.recv(seconds(60), ec);
    if (ec) return fail("recv", ec);
    const auto want = content(0, static_cast<std::uint32_t>(i), a.size);
    if (msg.sender() != coordinator_id || msg.size() != want.size() ||
        !std::equal(want.begin(), want.end(), msg.data().begin())) {
      result(me + " ok=0 error=content index=" + std::to_string(i));
      return 1;
    }
  }
  bar.wait(seconds(60), ec);
  if (ec) return fail("barrier_end", ec);
  result(me + " event=done rounds=" + std::to_string(a.rounds) + " messages=" + std::to_string(a.messages));
  if (a.expect_coordinator_loss) {
    const auto t0 = Clock::now();
    bar.wait(seconds(60), ec);
    if (ec != camure::errc::coordinator_lost) return fail("expected_coordinator_lost", ec);
    result(me + " ok=1 event=coordinator_lost after_ms=" + std::to_string(static_cast<long>(us_since(t0) / 1000)));
    return 0;
  }
  const auto st = m.stats();
  result(me + " ok=1 bad_frames=" + std::to_string(st.dropped_total) + " malformed=" + std::to_string(st.dropped_malformed) +
         " naks=" + std::to_string(st.naks_sent) + " packets=" + std::to_string(st.packets_received));
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  const Args a = parse(argc, argv);
  try {
    return a.role == "coordinator" ? coordinator(a) : member(a);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "camure-session-node: %s\n", e.what());
    return 1;
  }
}
