// hello_cxx: every rank says where it runs. Run: camurerun -n 4 ./hello_cxx
#include <camure/camure.hpp>

#include <cstdio>

int main(int argc, char **argv) try {
  camure::World world(argc, argv); // finalizes when it goes out of scope
  std::printf("hello from rank %d of %d (local rank %d of %d on node %d)\n", world.rank(), world.size(),
              world.local_rank(), world.local_size(), world.node_id());
  world.finalize();
  return 0;
} catch (const camure::error &e) {
  std::fprintf(stderr, "camure: %s\n", e.what());
  return 1;
}
