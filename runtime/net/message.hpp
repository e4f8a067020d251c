// A delivered broadcast message inside the core: who sent it and where its bytes live.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "runtime/net/seq.hpp"

namespace camure::net {

using Buffer = std::shared_ptr<const std::vector<std::uint8_t>>;

/// Bytes are a slice of `storage`: the received datagram itself for a single-chunk message
/// (zero copy), or the reassembly buffer for a fragmented one.
struct CoreMessage {
  MemberId sender = 0;
  Buffer storage;
  std::size_t offset = 0;
  std::size_t size = 0;
  std::span<const std::uint8_t> bytes() const noexcept {
    return storage ? std::span<const std::uint8_t>(storage->data() + offset, size) : std::span<const std::uint8_t>();
  }
};

} // namespace camure::net
