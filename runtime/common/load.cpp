// The runnable-task count from /proc/loadavg.
#include "runtime/common/load.hpp"

#include <cstdio>

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

} // namespace camure::common
