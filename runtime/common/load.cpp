// The runnable-task count from /proc/loadavg.
#include "runtime/common/load.hpp"

#include <atomic>
#include <cstdio>
#include <unistd.h>

namespace camure::common {

unsigned runnable_tasks() noexcept {
  unsigned running = 0;
  if (FILE *f = std::fopen("/proc/loadavg", "re")) {
    double a = 0, b = 0, c = 0;
    unsigned total = 0;
    if (std::fscanf(f, "%lf %lf %lf %u/%u", &a, &b, &c, &running, &total) != 5) running = 0;
    std::fclose(f);
  }
  return running;
}

unsigned online_cpus() noexcept {
  static std::atomic<unsigned> cached{0};
  unsigned n = cached.load(std::memory_order_relaxed);
  if (n == 0) {
    const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
    n = online > 0 ? static_cast<unsigned>(online) : 1;
    cached.store(n, std::memory_order_relaxed);
  }
  return n;
}

} // namespace camure::common
