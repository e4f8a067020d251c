// Liveness of peer ranks from /proc: a zombie (exited, not yet reaped) is dead for us.
#include "collectives/liveness.hpp"

#include "runtime/shm/segment.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <unistd.h>

namespace camure::collectives {

std::uint64_t own_start_time() noexcept { return shm::process_start_time(::getpid()); }

bool process_alive(int pid, std::uint64_t start_time) noexcept {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = std::fopen(path, "re");
  if (f == nullptr) return errno != ENOENT;
  char buf[512];
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // Field 3 (state) follows the last ')' of the command name.
  const char *p = std::strrchr(buf, ')');
  if (p == nullptr) return true;
  while (*++p == ' ') {
  }
  if (*p == 'Z' || *p == 'X' || *p == 'x') return false;
  if (start_time != 0) {
    const std::uint64_t st = shm::process_start_time(pid);
    if (st != 0 && st != start_time) return false; // pid reused
  }
  return true;
}

} // namespace camure::collectives
