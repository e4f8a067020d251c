// One-way wake-up latency, all measured the same way: the receiver process is blocked (or busy
// polling), the sender stamps CLOCK_MONOTONIC and publishes, the receiver takes the difference.
// The sender waits until the receiver is really asleep before each sample, so every blocked
// sample pays a full cross-CPU wake-up.
#include "bench/rmp/bench_common.hpp"
#include "bench/rmp/latency.hpp"

#include "runtime/shm/futex.hpp"
#include "runtime/shm/notify.hpp"
#include "runtime/shm/ring_shared.hpp"

#include <camure/rmp.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <cstring>
#include <poll.h>
#include <sched.h>
#include <thread>

namespace camure::bench {

double percentile(std::vector<double> &v, double pct) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto idx = static_cast<std::size_t>(pct / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

namespace {

constexpr unsigned kMaxSamples = 20000;

struct Lat {
  std::atomic<std::uint32_t> ready{0};
  std::atomic<std::uint32_t> asleep{0};
  std::atomic<std::uint32_t> word{0};
  std::atomic<std::uint64_t> acked{0};
  std::atomic<std::uint64_t> stamp{0};
  std::uint64_t lat_ns[kMaxSamples];
};

void pin(int cpu) {
  if (std::thread::hardware_concurrency() < 2) return;
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  ::sched_setaffinity(0, sizeof s, &s);
}

void spin_for_ns(std::uint64_t ns) {
  const std::uint64_t until = now_ns() + ns;
  while (now_ns() < until) {
  }
}

void wait_acked(Lat &l, std::uint64_t i) {
  while (l.acked.load(std::memory_order_acquire) < i) {
  }
}

void report(const char *mode, Lat &l, unsigned n, double &median_out) {
  std::vector<double> us;
  for (unsigned i = 0; i < n; ++i) us.push_back(static_cast<double>(l.lat_ns[i]) / 1000.0);
  std::vector<double> copy = us;
  const double med = percentile(copy, 50), p99 = percentile(copy, 99), p90 = percentile(copy, 90);
  median_out = med;
  std::printf("RESULT bench=rmp kind=latency mode=%s samples=%u median_us=%.2f p90_us=%.2f p99_us=%.2f min_us=%.2f "
              "load1=%.2f\n",
              mode, n, med, p90, p99, copy.front(), load1());
  std::fflush(stdout);
}

// mode: 0 blocked ring reader, 1 busy-polling ring reader.
bool ring_latency(const std::string &name, unsigned n, bool busy, double &median) {
  rmp::RingOptions o;
  o.capacity = 1 << 16;
  std::error_code ec;
  rmp::Ring::remove(name);
  rmp::Ring ring = rmp::Ring::create(name, o, ec);
  if (ec) return false;
  Lat *l = shared_block<Lat>();
  const pid_t child = spawn([&] {
    pin(1);
    rmp::Reader r = rmp::Reader::create(ring);
    l->ready.store(1);
    std::uint64_t buf[2];
    for (unsigned i = 0; i < n; ++i) {
      rmp::ReadResult res;
      if (busy) {
        do res = r.try_read(std::as_writable_bytes(std::span(buf)));
        while (res.status == rmp::ReadStatus::would_block);
      } else {
        res = r.read_into(std::as_writable_bytes(std::span(buf)), std::chrono::seconds(10));
      }
      const std::uint64_t t = now_ns();
      if (!res.ok()) return 1;
      l->lat_ns[i] = t - buf[0];
      l->acked.store(i + 1, std::memory_order_release);
    }
    return 0;
  });
  pin(0);
  rmp::Writer w = rmp::Writer::create(ring);
  auto &cell = ring.shared()->ctl->data_cell;
  while (l->ready.load() == 0) std::this_thread::yield();
  for (unsigned i = 0; i < n; ++i) {
    wait_acked(*l, i);
    if (busy) {
      spin_for_ns(3000);
    } else {
      while (cell.sleepers.load(std::memory_order_acquire) == 0) {
      }
      spin_for_ns(20000); // it registered; now it is surely inside futex_wait
    }
    const std::uint64_t stamp[2] = {now_ns(), i};
    w.write(std::as_bytes(std::span(stamp)));
  }
  const bool ok = reap({child});
  if (ok) report(busy ? "busy_poll" : "blocked", *l, n, median);
  free_block(l);
  rmp::Ring::remove(name);
  return ok;
}

bool futex_floor(unsigned n, double &median) {
  Lat *l = shared_block<Lat>();
  const pid_t child = spawn([&] {
    pin(1);
    l->ready.store(1);
    for (unsigned i = 0; i < n; ++i) {
      const std::uint32_t v = l->word.load(std::memory_order_acquire);
      l->asleep.store(1, std::memory_order_seq_cst);
      while (l->word.load(std::memory_order_acquire) == v) shm::futex::wait(l->word, v);
      const std::uint64_t t = now_ns();
      l->asleep.store(0, std::memory_order_relaxed);
      l->lat_ns[i] = t - l->stamp.load(std::memory_order_relaxed);
      l->acked.store(i + 1, std::memory_order_release);
    }
    return 0;
  });
  pin(0);
  while (l->ready.load() == 0) std::this_thread::yield();
  for (unsigned i = 0; i < n; ++i) {
    wait_acked(*l, i);
    while (l->asleep.load(std::memory_order_acquire) == 0) {
    }
    spin_for_ns(20000);
    l->stamp.store(now_ns(), std::memory_order_relaxed);
    l->word.fetch_add(1, std::memory_order_release);
    shm::futex::wake(l->word, 1);
  }
  const bool ok = reap({child});
  if (ok) report("futex_floor", *l, n, median);
  free_block(l);
  return ok;
}

bool udp_wakeup(unsigned n, double &median) {
  Lat *l = shared_block<Lat>();
  in_addr g{};
  ::inet_pton(AF_INET, "239.255.77.79", &g);
  const auto port = static_cast<std::uint16_t>(42000 + ::getpid() % 10000);
  const pid_t child = spawn([&] {
    pin(1);
    shm::udp::Receiver rx;
    if (rx.open(g.s_addr, port)) return 2;
    l->ready.store(1);
    for (unsigned i = 0; i < n; ++i) {
      l->asleep.store(1, std::memory_order_seq_cst);
      pollfd p{rx.fd(), POLLIN, 0};
      if (::poll(&p, 1, 10000) != 1) return 1;
      const std::uint64_t t = now_ns();
      l->asleep.store(0, std::memory_order_relaxed);
      rx.drain();
      l->lat_ns[i] = t - l->stamp.load(std::memory_order_relaxed);
      l->acked.store(i + 1, std::memory_order_release);
    }
    return 0;
  });
  pin(0);
  shm::udp::Sender tx;
  if (tx.open(g.s_addr, port)) return false;
  while (l->ready.load() == 0) std::this_thread::yield();
  for (unsigned i = 0; i < n; ++i) {
    wait_acked(*l, i);
    while (l->asleep.load(std::memory_order_acquire) == 0) {
    }
    spin_for_ns(20000);
    l->stamp.store(now_ns(), std::memory_order_relaxed);
    tx.send();
  }
  const bool ok = reap({child});
  if (ok) report("udp_wakeup", *l, n, median);
  free_block(l);
  return ok;
}

} // namespace

bool run_latency(unsigned samples, const std::string &prefix, LatencySummary &out) {
  samples = std::min(samples, kMaxSamples);
  const std::string name = prefix + "-lat-" + std::to_string(::getpid());
  double busy = 0;
  bool ok = futex_floor(samples, out.futex_median_us);
  ok = ring_latency(name, samples, false, out.blocked_median_us) && ok;
  ok = ring_latency(name, samples, true, busy) && ok;
  ok = udp_wakeup(samples, out.udp_median_us) && ok;
  // Restore the full affinity of this process for the throughput points.
  cpu_set_t all;
  CPU_ZERO(&all);
  for (unsigned i = 0; i < std::thread::hardware_concurrency(); ++i) CPU_SET(i, &all);
  ::sched_setaffinity(0, sizeof all, &all);
  if (ok && out.futex_median_us > 0 && out.blocked_median_us > 0)
    std::printf("RESULT bench=rmp kind=latency_ratio blocked_over_futex=%.2f udp_over_blocked=%.2f\n",
                out.blocked_median_us / out.futex_median_us, out.udp_median_us / out.blocked_median_us);
  return ok;
}

} // namespace camure::bench
