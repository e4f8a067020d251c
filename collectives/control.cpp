// camure_abort's mechanics: one line to camurerun's control fd, then _exit.
#include "collectives/control.hpp"

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <unistd.h>

namespace camure::collectives {

void abort_job(int control_fd, int exit_code) noexcept {
  if (control_fd >= 0) {
    char line[48];
    const int n = std::snprintf(line, sizeof line, "abort %d\n", exit_code);
    const char *p = line;
    size_t left = n > 0 ? static_cast<size_t>(n) : 0;
    while (left > 0) {
      const ssize_t w = ::write(control_fd, p, left);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break; // launcher gone: exiting is all we can do
      p += w;
      left -= static_cast<size_t>(w);
    }
  }
  std::fflush(stdout);
  std::fflush(stderr);
  ::_exit(exit_code & 0xff);
}

double monotonic_seconds() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

} // namespace camure::collectives
