// camure-bench-rmp: RMP ring throughput (W writers x R readers, separate processes) and wake-up
// latency (blocked, busy poll, raw futex floor, UDP notification). One RESULT line per point.
#include "bench/rmp/bench_common.hpp"
#include "bench/rmp/latency.hpp"
#include "bench/rmp/throughput.hpp"

#include <cstdlib>
#include <cstring>
#include <string>

namespace {

void usage(std::FILE *out) {
  std::fprintf(out,
               "usage: camure-bench-rmp [--only throughput|latency] [--scale F] [--samples N]\n"
               "       camure-bench-rmp --point SIZE,WRITERS,READERS[,CAPACITY[,BATCH]] [--scale F]\n"
               "  --only     run only one group of points\n"
               "  --scale    multiply the message counts (default 1.0; 0.1 for a smoke run)\n"
               "  --samples  latency samples per mode (default 3000)\n"
               "  --point    run one throughput point only\n"
               "Prints one 'RESULT key=value ...' line per point.\n");
}

} // namespace

int main(int argc, char **argv) {
  std::string only;
  double scale = 1.0;
  unsigned samples = 3000;
  std::string point;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char * {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "camure-bench-rmp: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    } else if (a == "--only") {
      only = value();
      if (only != "throughput" && only != "latency") {
        std::fprintf(stderr, "camure-bench-rmp: --only must be throughput or latency\n");
        return 2;
      }
    } else if (a == "--scale") {
      char *end = nullptr;
      scale = std::strtod(value(), &end);
      if (!end || *end || scale <= 0 || scale > 100) {
        std::fprintf(stderr, "camure-bench-rmp: --scale must be a number in (0, 100]\n");
        return 2;
      }
    } else if (a == "--point") {
      point = value();
    } else if (a == "--samples") {
      char *end = nullptr;
      const long s = std::strtol(value(), &end, 10);
      if (!end || *end || s < 10 || s > 20000) {
        std::fprintf(stderr, "camure-bench-rmp: --samples must be 10..20000\n");
        return 2;
      }
      samples = static_cast<unsigned>(s);
    } else {
      std::fprintf(stderr, "camure-bench-rmp: unknown argument '%s' (see --help)\n", a.c_str());
      return 2;
    }
  }
  const std::string prefix = "bench-rmp";
  bool ok = true;
  if (!point.empty()) {
    unsigned long v[5] = {0, 0, 0, 0, 0};
    const int n = std::sscanf(point.c_str(), "%lu,%lu,%lu,%lu,%lu", &v[0], &v[1], &v[2], &v[3], &v[4]);
    if (n < 3 || v[1] == 0 || v[2] == 0 || v[1] > 64 || v[2] > 64 || v[0] > (1u << 24)) {
      std::fprintf(stderr, "camure-bench-rmp: --point needs SIZE,WRITERS,READERS[,CAPACITY[,BATCH]]\n");
      return 2;
    }
    camure::bench::ThroughputPoint p;
    p.size = v[0];
    p.writers = static_cast<unsigned>(v[1]);
    p.readers = static_cast<unsigned>(v[2]);
    if (n >= 4) p.capacity = v[3];
    p.batch = n >= 5 && v[4] > 0 ? v[4] : (p.size <= 64 ? 256 : p.size <= 4096 ? 32 : 1);
    p.drain = p.size <= 4096 && std::getenv("CAMURE_BENCH_READ_INTO") == nullptr;
    p.messages = static_cast<std::uint64_t>(std::max(1000.0, scale * 4e8 / static_cast<double>(p.size + 16) /
                                                             static_cast<double>(p.readers)));
    return camure::bench::run_throughput(p, prefix) ? 0 : 1;
  }
  if (only.empty() || only == "latency") {
    camure::bench::LatencySummary s;
    ok = camure::bench::run_latency(samples, prefix, s) && ok;
  }
  if (only.empty() || only == "throughput") {
    struct Size {
      std::size_t size, batch, capacity;
      double messages; // for one reader; divided as readers grow so each point stays short
    };
    const Size sizes[] = {{8, 256, 1u << 20, 40e6}, {1024, 32, 1u << 23, 4e6}, {65536, 1, 1u << 24, 60e3}};
    const unsigned shapes[][2] = {{1, 1}, {1, 4}, {1, 8}, {1, 16}, {2, 4}, {4, 4}};
    for (const Size &s : sizes) {
      for (const auto &shape : shapes) {
        camure::bench::ThroughputPoint p;
        p.size = s.size;
        p.batch = s.batch;
        p.capacity = s.capacity;
        p.writers = shape[0];
        p.drain = s.size <= 4096; // one-copy read_into for big messages (what bcast uses)
        p.readers = shape[1];
        const double per_reader = s.messages * scale / (shape[1] == 1 ? 1.0 : shape[1] / 2.0);
        p.messages = static_cast<std::uint64_t>(std::max(1000.0, per_reader));
        ok = camure::bench::run_throughput(p, prefix) && ok;
      }
    }
  }
  return ok ? 0 : 1;
}
