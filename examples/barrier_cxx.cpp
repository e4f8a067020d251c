// barrier_cxx: ranks step through phases in lock step; errors come back as std::error_code.
// Run: camurerun -n 4 ./barrier_cxx
#include <camure/camure.hpp>

#include <cstdio>

int main(int argc, char **argv) {
  std::error_code ec;
  camure::World world = camure::World::init(argc, argv, ec);
  if (ec) {
    std::fprintf(stderr, "camure init: %s\n", ec.message().c_str());
    return 1;
  }
  const int iterations = 1000;
  const double t0 = camure::World::wtime();
  for (int i = 0; i < iterations; ++i) {
    world.barrier(ec);
    if (ec) {
      std::fprintf(stderr, "rank %d: barrier %d: %s\n", world.rank(), i, ec.message().c_str());
      camure::World::abort(1);
    }
  }
  const double us = (camure::World::wtime() - t0) / iterations * 1e6;
  if (world.rank() == 0) std::printf("%d ranks passed %d barriers, %.2f us each\n", world.size(), iterations, us);
  world.finalize(ec);
  return ec ? 1 : 0;
}
