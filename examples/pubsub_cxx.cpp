// pubsub_cxx: rank 0 publishes work items; every rank handles them in a callback on camure's
// delivery thread and reports its count. Run: camurerun -n 4 ./pubsub_cxx
#include <camure/camure.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

int main(int argc, char **argv) try {
  camure::World world(argc, argv);
  std::atomic<int> items{0};
  auto sub = world.subscribe("/work", true, [&](const camure::Message &m) {
    if (m.topic.rfind("/work/item", 0) == 0) ++items;
  });
  world.barrier();
  const int total = 50;
  if (world.rank() == 0)
    for (int i = 0; i < total; ++i) {
      const std::string payload = "item " + std::to_string(i);
      world.publish("/work/item", std::as_bytes(std::span(payload)));
    }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (items.load() < total && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  sub.close();
  std::printf("rank %d handled %d of %d items\n", world.rank(), items.load(), total);
  const bool ok = items.load() == total;
  world.finalize();
  return ok ? 0 : 1;
} catch (const camure::error &e) {
  std::fprintf(stderr, "camure: %s\n", e.what());
  return 1;
}
