// Seeded datagram interceptor implementation.
#include "runtime/net/interceptor.hpp"

namespace camure::net {

void Interceptor::send(const PeerAddr *to, std::span<const std::uint8_t> d, const Sink &sink) {
  if (chance(cfg_.drop)) {
    ++dropped_;
    return;
  }
  if (!held_ && chance(cfg_.reorder)) {
    held_ = true;
    held_multicast_ = to == nullptr;
    if (to) held_to_ = *to;
    held_data_.assign(d.begin(), d.end());
    ++reordered_;
    return;
  }
  sink(to, d);
  if (chance(cfg_.duplicate)) {
    ++duplicated_;
    sink(to, d);
  }
  flush(sink);
}

void Interceptor::flush(const Sink &sink) {
  if (!held_) return;
  held_ = false;
  sink(held_multicast_ ? nullptr : &held_to_, held_data_);
}

} // namespace camure::net
