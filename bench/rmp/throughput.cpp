// Throughput points: W writer processes x R reader processes, end to end (first write to the
// last message read by the slowest reader), block backpressure so no message is lost.
#include "bench/rmp/bench_common.hpp"
#include "bench/rmp/throughput.hpp"

#include <camure/rmp.hpp>

#include <algorithm>
#include <cstring>
#include <thread>

namespace camure::bench {
namespace {

struct Control {
  std::atomic<std::uint32_t> ready{0};
  std::atomic<std::uint32_t> go{0};
  std::atomic<std::uint64_t> first_write{~std::uint64_t{0}};
  std::atomic<std::uint64_t> last_read{0};
  std::atomic<std::uint32_t> errors{0};
};

void wait_go(Control &c) {
  while (c.go.load(std::memory_order_acquire) == 0) std::this_thread::yield();
}

int writer_proc(const std::string &name, Control &c, std::size_t size, std::uint64_t count, std::size_t batch) {
  rmp::Ring ring = rmp::Ring::open(name);
  rmp::Writer w = rmp::Writer::create(ring);
  std::vector<std::byte> msg(size, std::byte{0x5a});
  std::vector<std::span<const std::byte>> spans(batch, std::span<const std::byte>(msg));
  c.ready.fetch_add(1);
  wait_go(c);
  const std::uint64_t t0 = now_ns();
  std::uint64_t cur = c.first_write.load();
  while (t0 < cur && !c.first_write.compare_exchange_weak(cur, t0)) {
  }
  std::error_code ec;
  for (std::uint64_t done = 0; done < count;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(batch, count - done));
    const std::size_t wrote = w.write_batch(std::span(spans.data(), n), ec);
    if (ec) {
      c.errors.fetch_add(1);
      return 1;
    }
    done += wrote;
  }
  return 0;
}

int reader_proc(const std::string &name, Control &c, std::size_t size, std::uint64_t total, bool drain) {
  rmp::Ring ring = rmp::Ring::open(name);
  rmp::Reader r = rmp::Reader::create(ring);
  std::vector<std::byte> buf(std::max<std::size_t>(size, 8));
  c.ready.fetch_add(1);
  std::uint64_t got = 0;
  if (drain) {
    // Small messages: process everything committed per call (one copy + one validation per chunk).
    std::uint64_t bytes = 0;
    while (got < total) {
      const rmp::DrainResult res = r.drain(
          [&](std::span<const std::byte> m, std::uint64_t) {
            bytes += m.size();
            ++got;
          },
          std::chrono::seconds(30));
      if (res.status != rmp::ReadStatus::ok) {
        c.errors.fetch_add(1);
        return 1;
      }
    }
    if (bytes != total * size) return 2;
  }
  while (got < total) {
    const rmp::ReadResult res = r.read_into(buf, std::chrono::seconds(30));
    if (res.status != rmp::ReadStatus::ok) {
      c.errors.fetch_add(1);
      return 1;
    }
    ++got;
  }
  const std::uint64_t t1 = now_ns();
  std::uint64_t cur = c.last_read.load();
  while (t1 > cur && !c.last_read.compare_exchange_weak(cur, t1)) {
  }
  return 0;
}

} // namespace

bool run_throughput(const ThroughputPoint &p, const std::string &name_prefix) {
  const std::string name = name_prefix + "-tp-" + std::to_string(::getpid());
  rmp::RingOptions o;
  o.capacity = p.capacity;
  o.backpressure = rmp::Backpressure::block;
  o.block_timeout = std::chrono::seconds(30);
  std::error_code ec;
  rmp::Ring::remove(name);
  rmp::Ring ring = rmp::Ring::create(name, o, ec);
  if (ec) {
    std::fprintf(stderr, "camure-bench-rmp: cannot create ring: %s\n", ec.message().c_str());
    return false;
  }
  Control *c = shared_block<Control>();
  const std::uint64_t per_writer = p.messages / p.writers;
  const std::uint64_t total = per_writer * p.writers;
  std::vector<pid_t> pids;
  for (unsigned i = 0; i < p.readers; ++i) pids.push_back(spawn([&] { return reader_proc(name, *c, p.size, total, p.drain); }));
  for (unsigned i = 0; i < p.writers; ++i)
    pids.push_back(spawn([&] { return writer_proc(name, *c, p.size, per_writer, p.batch); }));
  while (c->ready.load() < p.readers + p.writers) std::this_thread::yield();
  c->go.store(1, std::memory_order_release);
  const bool ok = reap(pids) && c->errors.load() == 0;
  const double secs = static_cast<double>(c->last_read.load() - c->first_write.load()) / 1e9;
  if (ok)
    std::printf("RESULT bench=rmp kind=throughput size=%zu writers=%u readers=%u messages=%llu seconds=%.4f "
                "msgs_per_s=%.0f bytes_per_s=%.0f batch=%zu capacity=%zu reader=%s load1=%.2f\n",
                p.size, p.writers, p.readers, static_cast<unsigned long long>(total), secs,
                static_cast<double>(total) / secs, static_cast<double>(total) * static_cast<double>(p.size) / secs,
                p.batch, p.capacity, p.drain ? "drain" : "read_into", load1());
  else
    std::printf("RESULT bench=rmp kind=throughput size=%zu writers=%u readers=%u status=failed\n", p.size, p.writers,
                p.readers);
  std::fflush(stdout);
  free_block(c);
  rmp::Ring::remove(name);
  return ok;
}

} // namespace camure::bench
