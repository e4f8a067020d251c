// GSO batch packing (see datagram_batch.hpp).
#include "runtime/net/datagram_batch.hpp"

namespace camure::net {

void GsoBatch::add(std::span<const std::uint8_t> d) {
  if (count_ == 0) {
    segment_ = d.size();
    if (bytes_.capacity() < kMaxBytes) bytes_.reserve(kMaxBytes);
  }
  bytes_.insert(bytes_.end(), d.begin(), d.end());
  ++count_;
  // A shorter datagram can only be the last segment; a full batch takes no more.
  if (d.size() < segment_ || count_ >= kMaxSegments || bytes_.size() + segment_ > kMaxBytes) closed_ = true;
}

void GsoBatch::clear() noexcept {
  bytes_.clear();
  segment_ = 0;
  count_ = 0;
  closed_ = false;
}

} // namespace camure::net
