// The host bcast's per-bcast cells: lazy reuse check, inline copy, announce-only for the ring path.
#include "collectives/small_bcast.hpp"

#include <camure/error.hpp>

#include <cstring>

namespace camure::collectives {

bool SmallBcast::cell_free(std::uint64_t seq) noexcept {
  if (seq <= small_bcast_cells) return true; // first use of the cell
  const std::uint64_t need = seq - small_bcast_cells;
  if (free_upto_ >= need) return true;
  // Look at every other rank's counter; remember the lowest, which stays a valid lower bound
  // (counters only grow) whoever roots the next bcasts.
  const int me = seg_.local_rank();
  std::uint64_t lowest = UINT64_MAX;
  for (int r = 0; r < seg_.local_size(); ++r) {
    if (r == me) continue;
    const std::uint64_t d = seg_.small_done(r).done.load(std::memory_order_acquire);
    if (d < lowest) lowest = d;
  }
  if (lowest != UINT64_MAX) free_upto_ = lowest;
  return free_upto_ >= need;
}

void SmallBcast::set_done(std::uint64_t seq) noexcept {
  seg_.small_done(seg_.local_rank()).done.store(seq, std::memory_order_release);
}

std::error_code SmallBcast::post(std::uint64_t seq, std::span<const std::byte> data, std::uint32_t root_rank,
                                 JobSegment::clock::time_point deadline, std::string &detail) noexcept {
  SmallBcastBlock &block = seg_.small_bcast();
  SmallBcastCell &cell = seg_.small_cell(static_cast<std::uint32_t>(seq % small_bcast_cells));
  if (!cell_free(seq)) {
    // A reader is still small_bcast_cells bcasts behind: wait for it to finish that one.
    if (std::error_code ec = seg_.await(block.freed, [&] { return cell_free(seq); }, deadline, "bcast", detail))
      return ec;
  }
  const bool in_cell = fits(data.size());
  cell.bytes = data.size();
  cell.root = root_rank;
  if (in_cell && !data.empty()) std::memcpy(cell.payload, data.data(), data.size());
  cell.seq.store(seq, std::memory_order_release);
  set_done(seq); // the root has the data: a later root may reuse this cell as far as we are concerned
  shm::notify(block.posted);
  return {};
}

std::error_code SmallBcast::take(std::uint64_t seq, std::span<std::byte> buf, std::uint32_t root_rank,
                                 JobSegment::clock::time_point deadline, std::string &detail) noexcept {
  SmallBcastBlock &block = seg_.small_bcast();
  SmallBcastCell &cell = seg_.small_cell(static_cast<std::uint32_t>(seq % small_bcast_cells));
  // ">=": a cell can never run ahead of this rank (its done counter holds the root back), but if
  // it did, say so instead of waiting for a number that will not come back.
  auto posted = [&] { return cell.seq.load(std::memory_order_acquire) >= seq; };
  if (!posted()) {
    if (std::error_code ec = seg_.await(block.posted, posted, deadline, "bcast", detail)) return ec;
  }
  const std::uint64_t got = cell.seq.load(std::memory_order_acquire);
  if (got != seq) {
    detail = "bcast: cell of bcast " + std::to_string(seq) + " already holds bcast " + std::to_string(got);
    return errc::protocol_error;
  }
  if (cell.bytes != buf.size() || cell.root != root_rank) {
    detail = "bcast: root " + std::to_string(cell.root) + " sends " + std::to_string(cell.bytes) +
             " bytes, this rank asked for " + std::to_string(buf.size()) + " bytes from root " +
             std::to_string(root_rank);
    return errc::invalid_argument;
  }
  const bool in_cell = fits(buf.size()); // the root decided the same from the same size
  if (in_cell && !buf.empty()) std::memcpy(buf.data(), cell.payload, buf.size());
  set_done(seq);
  shm::notify(block.freed);
  return {};
}

} // namespace camure::collectives
