// Sans-IO halves of UDP segmentation offload: packing back-to-back datagrams into one GSO send
// (UDP_SEGMENT) and splitting a coalesced GRO receive (UDP_GRO) back into datagrams.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace camure::net {

/// Back-to-back datagrams for one destination, packed so that the kernel can cut the buffer
/// into `segment()`-byte datagrams (UDP GSO): every datagram but the last has the same size,
/// the last may be shorter. Each datagram is a complete, separately authenticated frame, so
/// each segment on the wire is one frame; nothing is split inside a frame.
class GsoBatch {
public:
  static constexpr std::size_t kMaxSegments = 64;    ///< the kernel's UDP_MAX_SEGMENTS
  static constexpr std::size_t kMaxBytes = 65000;    ///< under the largest UDP payload (65507, IPv4)
  static constexpr std::size_t kMaxSegment = 8192;   ///< larger datagrams gain nothing from GSO

  /// Whether a datagram of n bytes may join the batch now (false: flush first, or n is too big
  /// to batch at all, see batchable()).
  bool fits(std::size_t n) const noexcept {
    if (!batchable(n)) return false;
    if (count_ == 0) return true;
    return !closed_ && n <= segment_ && bytes_.size() + n <= kMaxBytes;
  }
  static constexpr bool batchable(std::size_t n) noexcept { return n > 0 && n <= kMaxSegment; }
  /// Appends a datagram; requires fits(d.size()).
  void add(std::span<const std::uint8_t> d);
  /// A shorter datagram ended the batch, or it is full: flush now.
  bool closed() const noexcept { return closed_; }
  bool empty() const noexcept { return count_ == 0; }
  std::size_t count() const noexcept { return count_; }
  /// The segment size to hand to UDP_SEGMENT; 0 for a single datagram (a plain send).
  std::uint16_t segment() const noexcept { return count_ > 1 ? static_cast<std::uint16_t>(segment_) : 0; }
  std::span<const std::uint8_t> bytes() const noexcept { return bytes_; }
  void clear() noexcept;

private:
  std::vector<std::uint8_t> bytes_;
  std::size_t segment_ = 0, count_ = 0;
  bool closed_ = false;
};

/// Calls f(datagram) for every datagram of one receive: a receive with a UDP_GRO size holds
/// several datagrams of gso_size bytes each (the last may be shorter); gso_size 0 means one.
template <class F> void for_each_segment(std::span<const std::uint8_t> buf, std::size_t gso_size, F &&f) {
  if (gso_size == 0 || gso_size >= buf.size()) {
    f(buf);
    return;
  }
  for (std::size_t off = 0; off < buf.size(); off += gso_size)
    f(buf.subspan(off, buf.size() - off < gso_size ? buf.size() - off : gso_size));
}

} // namespace camure::net
