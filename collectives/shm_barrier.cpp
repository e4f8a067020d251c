// The host barrier (generation counter) with liveness-checked waiting.
#include "collectives/shm_barrier.hpp"

namespace camure::collectives {

std::error_code ShmBarrier::wait(JobSegment::clock::time_point deadline, std::string &detail) noexcept {
  if (std::error_code b = seg_.broken()) {
    detail = "barrier: " + b.message() + " (an earlier collective failed)";
    return b;
  }
  BarrierBlock &b = seg_.barrier();
  // Read the generation before arriving: the last arriver bumps it only after our arrival.
  const std::uint32_t gen = b.generation.load(std::memory_order_acquire);
  const std::uint32_t n = b.arrived.fetch_add(1, std::memory_order_acq_rel) + 1;
  const auto local = static_cast<std::uint32_t>(seg_.local_size());
  if (leader_releases_) {
    if (seg_.local_rank() != 0) {
      if (n == local) shm::notify(b.release); // the leader waits for the last arriver
      return seg_.await(
          b.release, [&] { return b.generation.load(std::memory_order_acquire) != gen; }, deadline, "barrier",
          detail);
    }
    if (n != local) {
      if (std::error_code ec = seg_.await(
              b.release, [&] { return b.arrived.load(std::memory_order_acquire) == local; }, deadline, "barrier",
              detail))
        return ec;
    }
    b.arrived.store(0, std::memory_order_relaxed);
    if (multi_node_) {
      std::string tdetail;
      if (std::error_code ec = transport_.barrier(deadline, tdetail)) {
        seg_.mark_broken(ec, -1);
        detail = "barrier: " + tdetail;
        return ec;
      }
    }
    b.generation.store(gen + 1, std::memory_order_release);
    shm::notify(b.release);
    return {};
  }
  if (n == static_cast<std::uint32_t>(seg_.local_size())) {
    // Reset before release: the next round's arrivals happen after they see the new generation.
    b.arrived.store(0, std::memory_order_relaxed);
    b.generation.store(gen + 1, std::memory_order_release);
    shm::notify(b.release);
    return {};
  }
  return seg_.await(
      b.release, [&] { return b.generation.load(std::memory_order_acquire) != gen; }, deadline, "barrier", detail);
}

} // namespace camure::collectives
