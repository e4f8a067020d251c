// Memory fences for the shm protocols, in a form every build (including ThreadSanitizer) accepts.
//
// GCC rejects std::atomic_thread_fence under -fsanitize=thread (-Wtsan: TSan does not model
// fences). In TSan builds the same hardware ordering is produced with inline assembly, and
// every location the fences order is an atomic object TSan already sees, so nothing is hidden
// from it: the one racy access by design (the reader's ring copy) is excluded from
// instrumentation anyway (see ring_copy.hpp).
#pragma once

#include <atomic>

namespace camure::shm {

#if defined(CAMURE_SANITIZER_THREAD) || defined(__SANITIZE_THREAD__)
inline void fence_seq_cst() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  asm volatile("mfence" ::: "memory");
#elif defined(__aarch64__)
  asm volatile("dmb ish" ::: "memory");
#else
  __sync_synchronize();
#endif
}
inline void fence_acquire() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  asm volatile("" ::: "memory"); // x86-TSO: loads are not reordered with later loads
#else
  fence_seq_cst();
#endif
}
inline void fence_release() noexcept { fence_acquire(); }
#else
inline void fence_seq_cst() noexcept { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void fence_acquire() noexcept { std::atomic_thread_fence(std::memory_order_acquire); }
inline void fence_release() noexcept { std::atomic_thread_fence(std::memory_order_release); }
#endif

/// A full fence that also orders non-temporal stores (x86 `mfence`; a locked instruction, which
/// is what compilers emit for a seq_cst fence, does not). Needed before a copy that may use
/// streaming stores (large memcpy) must not become visible ahead of an earlier store.
inline void fence_streaming_stores() noexcept {
  fence_seq_cst();
#if defined(__x86_64__) || defined(__i386__)
  asm volatile("mfence" ::: "memory");
#endif
}

} // namespace camure::shm
