// Copying bytes into and out of the ring, across the wrap, including the deliberately racy reads.
//
// Readers copy records without any lock while a writer may be overwriting the same bytes
// (a reader that fell a ring behind, or a writer that is about to overrun it). That race is
// by design: the reader validates every copy afterwards against the reserve mark (seqlock
// style) and throws the copy away if a writer could have touched it, so torn bytes are never
// delivered. In C++ terms the copy must not be a plain non-atomic access, so:
//  - release builds use memcpy (the validation makes the result well-defined in practice, as
//    in every seqlock implementation in the wild), marked no_sanitize("thread");
//  - ThreadSanitizer builds copy with relaxed 8-byte atomic loads and stores on both sides,
//    which is the formally race-free form of the same algorithm (and what TSan understands).
// Ring positions of records are 8-byte aligned and payloads are padded to 8, so every word
// access stays inside the ring.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace camure::shm::ring {

#if defined(CAMURE_SANITIZER_THREAD) || defined(__SANITIZE_THREAD__)
inline constexpr bool kWordCopies = true;
#else
inline constexpr bool kWordCopies = false;
#endif

/// A view of the ring bytes: base, capacity (power of two) and index mask.
struct RingBytes {
  std::byte *base = nullptr;
  std::uint64_t capacity = 0;
  std::uint64_t mask = 0;
};

namespace detail {

inline std::uint64_t word_load(const std::byte *p) noexcept {
  std::uint64_t v;
  __atomic_load(reinterpret_cast<const std::uint64_t *>(p), &v, __ATOMIC_RELAXED);
  return v;
}
inline void word_store(std::byte *p, std::uint64_t v) noexcept {
  __atomic_store(reinterpret_cast<std::uint64_t *>(p), &v, __ATOMIC_RELAXED);
}

// Contiguous copy from the ring (no wrap); src is 8-aligned.
__attribute__((no_sanitize("thread"))) inline void load_span(std::byte *dst, const std::byte *src,
                                                             std::uint64_t n) noexcept {
  if (n == 0) return; // memcpy with a null pointer is undefined even for 0 bytes
  if constexpr (kWordCopies) {
    std::uint64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const std::uint64_t w = word_load(src + i);
      std::memcpy(dst + i, &w, 8);
    }
    if (i < n) {
      const std::uint64_t w = word_load(src + i);
      std::memcpy(dst + i, &w, n - i);
    }
  } else {
    std::memcpy(dst, src, n);
  }
}

// Contiguous copy into the ring (no wrap). dst is 8-aligned in word mode, and the trailing
// partial word may be padded with zero (the record's padding bytes).
inline void store_span(std::byte *dst, const std::byte *src, std::uint64_t n) noexcept {
  if (n == 0) return; // empty messages may come with a null data pointer
  if constexpr (kWordCopies) {
    std::uint64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      std::uint64_t w;
      std::memcpy(&w, src + i, 8);
      word_store(dst + i, w);
    }
    if (i < n) {
      std::uint64_t w = 0;
      std::memcpy(&w, src + i, n - i);
      word_store(dst + i, w);
    }
  } else {
    std::memcpy(dst, src, n);
  }
}

} // namespace detail

/// Copies n bytes starting at ring position pos (8-aligned) into dst, across the wrap.
inline void copy_out(const RingBytes &r, std::uint64_t pos, void *dst, std::uint64_t n) noexcept {
  const std::uint64_t idx = pos & r.mask;
  auto *d = static_cast<std::byte *>(dst);
  if (idx + n <= r.capacity) { // common case; with a constant n (headers) the copy is inlined
    detail::load_span(d, r.base + idx, n);
    return;
  }
  const std::uint64_t first = r.capacity - idx;
  detail::load_span(d, r.base + idx, first);
  detail::load_span(d + first, r.base, n - first);
}

/// Copies n bytes from src into the ring at position pos (8-aligned), across the wrap.
inline void copy_in(const RingBytes &r, std::uint64_t pos, const void *src, std::uint64_t n) noexcept {
  const std::uint64_t idx = pos & r.mask;
  const auto *s = static_cast<const std::byte *>(src);
  if (idx + n <= r.capacity) {
    detail::store_span(r.base + idx, s, n);
    return;
  }
  const std::uint64_t first = r.capacity - idx;
  detail::store_span(r.base + idx, s, first);
  detail::store_span(r.base, s + first, n - first);
}

} // namespace camure::shm::ring
