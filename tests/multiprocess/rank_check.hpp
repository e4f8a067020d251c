// The rank programs' CHECK: on failure, one line naming the rank, the line and why on stderr,
// then exit 1 (camurerun reports the rank's exit code; the driving test sees it).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace camure::test {

/// The calling rank (set by the program once it knows it; -1 before that).
inline int g_rank = -1;

[[noreturn]] inline void die(const std::string &why, int line) {
  std::fprintf(stderr, "rank %d: check failed at line %d: %s\n", g_rank, line, why.c_str());
  std::exit(1);
}

} // namespace camure::test

#define CHECK(cond, why)                                                                                              \
  do {                                                                                                                \
    if (!(cond)) ::camure::test::die(std::string(#cond) + ": " + (why), __LINE__);                                    \
  } while (0)
