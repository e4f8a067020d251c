// bcast_cxx: broadcast a typed vector from rank 0, then a string length and its bytes.
// Run: camurerun -n 4 ./bcast_cxx
#include <camure/camure.hpp>

#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

int main(int argc, char **argv) try {
  camure::World world(argc, argv);
  std::vector<double> v(100000);
  if (world.rank() == 0) std::iota(v.begin(), v.end(), 1.0);
  world.bcast(std::span(v), 0); // typed span
  const double sum = std::accumulate(v.begin(), v.end(), 0.0);

  std::string msg = world.rank() == world.size() - 1 ? "greetings from the last rank" : "";
  std::size_t len = msg.size();
  world.bcast(std::span(&len, 1), world.size() - 1);
  msg.resize(len);
  world.bcast(std::as_writable_bytes(std::span(msg)), world.size() - 1);

  std::printf("rank %d: sum %.0f, message '%s'\n", world.rank(), sum, msg.c_str());
  const bool ok = sum == 100000.0 * 100001.0 / 2 && msg == "greetings from the last rank";
  world.finalize();
  return ok ? 0 : 1;
} catch (const camure::error &e) {
  std::fprintf(stderr, "camure: %s\n", e.what());
  return 1;
}
