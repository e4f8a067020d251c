// The host bcast: the cell of every bcast, then (large ones) the RMP ring: chunked, flow-controlled,
// read in place where possible.
#include "collectives/shm_bcast.hpp"

#include <camure/error.hpp>

#include <algorithm>
#include <array>
#include <cstring>

namespace camure::collectives {
namespace {

using clock = JobSegment::clock;

constexpr std::size_t header_bytes = sizeof(BcastChunkHeader);

// Time slice for a blocked read before checking peers and the broken flag.
constexpr auto read_slice = std::chrono::milliseconds(100);

bool is_pow2(std::size_t v) { return v != 0 && (v & (v - 1)) == 0; }

} // namespace

std::unique_ptr<ShmBcast> ShmBcast::create(JobSegment &seg, const std::string &prefix, const BcastOptions &options,
                                           clock::time_point deadline, std::error_code &ec, std::string &detail) {
  ec.clear();
  if (!is_pow2(options.ring_bytes) || options.ring_bytes < (std::size_t{64} << 10)) {
    ec = errc::invalid_argument;
    detail = "bcast ring size " + std::to_string(options.ring_bytes) + " is not a power of two >= 64 KiB";
    return nullptr;
  }
  std::unique_ptr<ShmBcast> b(new ShmBcast(seg));
  rmp::RingOptions ro;
  ro.capacity = options.ring_bytes;
  ro.max_participants = static_cast<std::uint32_t>(2 * seg.local_size() + 8);
  ro.backpressure = rmp::Backpressure::overrun; // flow control is ours (see the class comment)
  const std::string name = prefix + "-bcast";
  b->ring_ = rmp::Ring::create_or_open(name, ro, deadline, ec);
  if (ec) {
    detail = "cannot attach the bcast ring " + name + ": " + ec.message();
    return nullptr;
  }
  b->reader_ = rmp::Reader::create(b->ring_, ec);
  if (ec) {
    detail = "cannot attach a reader to " + name + ": " + ec.message();
    return nullptr;
  }
  // Chunks well below the window so that the ring's own record layout (wrap handling) can
  // never turn "half a ring ahead" into an overrun.
  b->window_ = options.ring_bytes / 2;
  b->chunking_.chunk = std::clamp<std::uint64_t>(options.chunk_bytes, 4096, options.ring_bytes / 8);
  b->chunking_.min_chunk = std::min<std::uint64_t>(b->chunking_.min_chunk, b->chunking_.chunk);
  b->chunking_.first = std::min<std::uint64_t>(b->chunking_.first, b->chunking_.min_chunk);
  b->bounce_.resize(header_bytes + b->chunking_.first);
  return b;
}

void ShmBcast::unlink_name() noexcept {
  if (ring_.valid()) (void)rmp::Ring::remove(ring_.name());
}

std::error_code ShmBcast::run(std::span<std::byte> buf, int root_local, int root_rank, clock::time_point deadline,
                              std::string &detail, const BcastRelay *relay) noexcept {
  if (buf.empty()) return {};
  if (seg_.local_size() == 1) return relay != nullptr ? relay_only(buf, detail, *relay) : std::error_code{};
  if (std::error_code b = seg_.broken()) {
    detail = "bcast: " + b.message() + " (an earlier collective failed)";
    return b;
  }
  ++epoch_;
  const int me = seg_.local_rank();
  const auto root32 = static_cast<std::uint32_t>(root_rank);
  std::error_code ec;
  if (SmallBcast::fits(buf.size())) {
    // One cell, one copy each side. The leader's relay sees the same single chunk as on the
    // ring path (small_bcast_max <= the first chunk), so other hosts need not know the path.
    if (root_local == me) {
      if (relay != nullptr && relay->source) ec = relay_chunks(buf, true, detail, *relay);
      if (!ec) ec = cells_.post(epoch_, buf, root32, deadline, detail);
    } else {
      ec = cells_.take(epoch_, buf, root32, deadline, detail);
    }
    if (!ec && relay != nullptr && relay->sink) ec = relay_chunks(buf, false, detail, *relay);
  } else if (root_local == me) {
    ec = cells_.post(epoch_, buf, root32, deadline, detail); // announce: size and root
    if (!ec && ring_root_ >= 0 && ring_root_ != me) {
      // The previous ring root's reader is stale until it re-creates it at the head; writing
      // before that would put our chunks behind its new position.
      RankSlot &prev = seg_.slot(ring_root_);
      ec = seg_.await(
          seg_.bcast().consumed,
          [&] { return prev.bcast_rearmed.load(std::memory_order_acquire) >= epoch_; }, deadline, "bcast", detail);
    }
    if (!ec) ec = write_all(buf, root_rank, deadline, detail, relay);
    ring_root_ = root_local;
  } else {
    ec = cells_.take(epoch_, buf, root32, deadline, detail);
    if (!ec && ring_root_ == me) ec = rearm(detail);
    if (!ec) ec = read_all(buf, root_rank, deadline, detail, relay);
    ring_root_ = root_local;
  }
  if (ec && !seg_.broken()) seg_.mark_broken(ec, -1); // the stream is out of step: stop everyone
  return ec;
}

std::error_code ShmBcast::relay_chunks(std::span<std::byte> buf, bool source, std::string &detail,
                                       const BcastRelay &relay) noexcept {
  const std::uint64_t total = buf.size();
  for (std::uint64_t off = 0; off < total;) {
    const std::uint64_t len = chunking_.length_at(off, total);
    const auto chunk = buf.subspan(static_cast<std::size_t>(off), static_cast<std::size_t>(len));
    if (std::error_code ec = source ? relay.source(off, chunk, detail) : relay.sink(off, chunk, detail)) return ec;
    off += len;
  }
  return {};
}

std::error_code ShmBcast::rearm(std::string &detail) noexcept {
  std::error_code ec;
  reader_ = rmp::Reader(); // free our slot first: a ring has a bounded number of them
  reader_ = rmp::Reader::create(ring_, ec);
  if (ec) {
    detail = "bcast: cannot re-attach the reader: " + ec.message();
    return ec;
  }
  RankSlot &mine = seg_.slot(seg_.local_rank());
  mine.bcast_consumed.store(stream_, std::memory_order_release);
  mine.bcast_rearmed.store(epoch_, std::memory_order_release);
  shm::notify(seg_.bcast().consumed);
  return {};
}

std::error_code ShmBcast::wait_for_readers(std::uint64_t end, clock::time_point deadline,
                                           std::string &detail) noexcept {
  if (end <= window_) return {};
  const std::uint64_t need = end - window_;
  const int me = seg_.local_rank();
  auto all_caught_up = [&] {
    for (int r = 0; r < seg_.local_size(); ++r) {
      if (r != me && seg_.slot(r).bcast_consumed.load(std::memory_order_acquire) < need) return false;
    }
    return true;
  };
  if (all_caught_up()) return {};
  return seg_.await(seg_.bcast().consumed, all_caught_up, deadline, "bcast", detail);
}

std::error_code ShmBcast::relay_only(std::span<std::byte> buf, std::string &detail, const BcastRelay &relay) noexcept {
  // A host with one rank: no ring, just the leader's part, chunk by chunk.
  const std::uint64_t total = buf.size();
  for (std::uint64_t off = 0; off < total;) {
    const std::uint64_t len = chunking_.length_at(off, total);
    const auto chunk = buf.subspan(static_cast<std::size_t>(off), static_cast<std::size_t>(len));
    std::error_code ec;
    if (relay.source) ec = relay.source(off, chunk, detail);
    if (!ec && relay.sink) ec = relay.sink(off, chunk, detail);
    if (ec) return ec;
    off += len;
  }
  return {};
}

std::error_code ShmBcast::write_all(std::span<std::byte> buf, int root_rank, clock::time_point deadline,
                                    std::string &detail, const BcastRelay *relay) noexcept {
  std::error_code ec;
  if (!writer_.valid()) {
    writer_ = rmp::Writer::create(ring_, ec);
    if (ec) {
      detail = "bcast: cannot attach a writer: " + ec.message();
      return ec;
    }
  }
  const std::uint64_t total = buf.size();
  for (std::uint64_t off = 0; off < total;) {
    const std::uint64_t len = chunking_.length_at(off, total);
    const std::uint64_t end = stream_ + bcast_record_bytes(len);
    const auto chunk = buf.subspan(static_cast<std::size_t>(off), static_cast<std::size_t>(len));
    if (relay != nullptr && relay->source && (ec = relay->source(off, chunk, detail))) return ec;
    if ((ec = wait_for_readers(end, deadline, detail))) return ec;
    const BcastChunkHeader h{epoch_, total, off, static_cast<std::uint32_t>(root_rank), bcast_chunk_magic};
    const std::array<std::span<const std::byte>, 2> parts{
        std::as_bytes(std::span(&h, 1)), std::span<const std::byte>(chunk)};
    writer_.write_gather(parts, ec);
    if (ec) {
      detail = "bcast: writing chunk at offset " + std::to_string(off) + " failed: " + ec.message();
      return ec;
    }
    stream_ = end;
    if (relay != nullptr && relay->sink && (ec = relay->sink(off, chunk, detail))) return ec;
    off += len;
  }
  return {};
}

std::error_code ShmBcast::read_chunk(std::span<std::byte> dest, clock::time_point deadline, std::size_t &got,
                                     std::string &detail) noexcept {
  rmp::ReadResult r;
  // Spin (or, oversubscribed, yield) before the ring's own spin-then-sleep read.
  bool have = seg_.prewait([&] {
    r = reader_.try_read(dest);
    return r.status != rmp::ReadStatus::would_block || seg_.control().broken.load(std::memory_order_relaxed) != 0;
  });
  for (;;) {
    if (!have) {
      const auto now = clock::now();
      const auto slice = std::min(deadline, now + read_slice) - now;
      r = reader_.read_into(dest, std::max<clock::duration>(slice, clock::duration::zero()));
    }
    have = false;
    switch (r.status) {
    case rmp::ReadStatus::ok: got = r.size; return {};
    case rmp::ReadStatus::timeout:
    case rmp::ReadStatus::would_block:
      if (std::error_code b = seg_.broken()) {
        detail = "bcast: " + b.message();
        return b;
      }
      if (const int dead = seg_.find_dead_peer(); dead >= 0) {
        seg_.mark_broken(errc::peer_lost, dead);
        detail = "bcast: peer lost (local rank " + std::to_string(dead) + " died)";
        return errc::peer_lost;
      }
      if (clock::now() >= deadline) {
        detail = "bcast: collective timeout passed (CAMURE_COLLECTIVE_TIMEOUT)";
        return errc::timeout;
      }
      continue;
    case rmp::ReadStatus::truncated:
      detail = "bcast: the root sent a " + std::to_string(r.size - std::min(r.size, header_bytes)) +
               "-byte chunk where this rank expected at most " + std::to_string(dest.size() - header_bytes) +
               " (bcast sizes differ between ranks?)";
      return errc::invalid_argument;
    case rmp::ReadStatus::lost:
      detail = "bcast: this rank's reader was overrun, " + std::to_string(r.lost) + " messages lost";
      return errc::messages_lost;
    case rmp::ReadStatus::corrupt:
      detail = "bcast: the ring reported a corrupt record";
      return errc::protocol_error;
    }
    detail = "bcast: unexpected read status";
    return errc::internal;
  }
}

std::error_code ShmBcast::read_all(std::span<std::byte> buf, int root_rank, clock::time_point deadline,
                                   std::string &detail, const BcastRelay *relay) noexcept {
  const std::uint64_t total = buf.size();
  RankSlot &mine = seg_.slot(seg_.local_rank());
  std::byte *const base = buf.data();
  for (std::uint64_t off = 0; off < total;) {
    const std::uint64_t len = chunking_.length_at(off, total);
    // In place: the header lands on the last 32 bytes of the previous chunk, which we keep
    // aside and put back. The first chunk has no room in front of it: bounce buffer.
    const bool in_place = off >= header_bytes;
    std::array<std::byte, header_bytes> saved{};
    std::span<std::byte> dest;
    if (in_place) {
      std::byte *at = base + off - header_bytes;
      std::memcpy(saved.data(), at, header_bytes);
      dest = std::span(at, header_bytes + static_cast<std::size_t>(len));
    } else {
      dest = std::span(bounce_.data(), header_bytes + static_cast<std::size_t>(len));
    }
    std::size_t got = 0;
    std::error_code ec = read_chunk(dest, deadline, got, detail);
    BcastChunkHeader h{};
    if (!ec) {
      std::memcpy(&h, dest.data(), header_bytes);
      if (got < header_bytes || h.magic != bcast_chunk_magic || h.epoch != epoch_) {
        detail = "bcast: out-of-step message in the ring (epoch " + std::to_string(h.epoch) + ", expected " +
                 std::to_string(epoch_) + ")";
        ec = errc::protocol_error;
      } else if (h.total_bytes != total || h.root != static_cast<std::uint32_t>(root_rank)) {
        detail = "bcast: root " + std::to_string(h.root) + " sends " + std::to_string(h.total_bytes) +
                 " bytes, this rank asked for " + std::to_string(total) + " bytes from root " +
                 std::to_string(root_rank);
        ec = errc::invalid_argument;
      } else if (h.offset != off || got != header_bytes + len) {
        detail = "bcast: chunk at offset " + std::to_string(h.offset) + " of " + std::to_string(got) +
                 " bytes, expected offset " + std::to_string(off);
        ec = errc::protocol_error;
      }
    }
    if (in_place)
      std::memcpy(base + off - header_bytes, saved.data(), header_bytes);
    else if (!ec)
      std::memcpy(base + off, bounce_.data() + header_bytes, static_cast<std::size_t>(len));
    if (ec) return ec;
    stream_ += bcast_record_bytes(len);
    mine.bcast_consumed.store(stream_, std::memory_order_release);
    shm::notify(seg_.bcast().consumed);
    if (relay != nullptr && relay->sink) {
      if ((ec = relay->sink(off, std::span<const std::byte>(base + off, static_cast<std::size_t>(len)), detail)))
        return ec;
    }
    off += len;
  }
  return {};
}

} // namespace camure::collectives
