// Wrap-safe 64-bit sequence arithmetic and the monotonic time type the protocol core uses.
#pragma once

#include <cstdint>

namespace camure::net {

/// Nanoseconds on a monotonic clock. The protocol core never reads a clock; callers pass `now`.
using Nanos = std::int64_t;

/// Serial-number comparison (RFC 1982 style): a is before b if the forward distance from a to
/// b is less than half the sequence space. Correct across the 2^64 wrap.
inline constexpr bool seq_lt(std::uint64_t a, std::uint64_t b) noexcept {
  return static_cast<std::int64_t>(a - b) < 0;
}
inline constexpr bool seq_le(std::uint64_t a, std::uint64_t b) noexcept { return a == b || seq_lt(a, b); }
/// Forward distance from a to b (b - a), assuming a is not after b.
inline constexpr std::uint64_t seq_dist(std::uint64_t a, std::uint64_t b) noexcept { return b - a; }

static_assert(seq_lt(~std::uint64_t{0}, 0), "wrap: max is before 0");
static_assert(!seq_lt(0, ~std::uint64_t{0}));

using MemberId = std::uint32_t;
using GroupId = std::uint32_t;
inline constexpr MemberId kCoordinatorId = 0;
inline constexpr MemberId kNoMember = 0xffffffffu;

} // namespace camure::net
