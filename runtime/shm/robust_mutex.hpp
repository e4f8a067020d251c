// A process-shared robust mutex in shared memory; owner death is a typed result, not an ignored code.
#pragma once

#include <pthread.h>

#include <cstdint>
#include <system_error>

namespace camure::shm {

/// Result of acquiring a RobustMutex.
enum class LockResult {
  acquired,    ///< locked normally
  owner_died,  ///< locked, but the previous owner died holding it: repair, then mark_consistent()
  busy,        ///< try_lock only: held by a live owner
  failed,      ///< the lock is unusable (e.g. a repair was abandoned: ENOTRECOVERABLE)
};

/// Storage for a pthread_mutex_t with PTHREAD_PROCESS_SHARED + PTHREAD_MUTEX_ROBUST, in a fixed
/// 64-byte slot so the shared layout does not depend on the libc's mutex size.
struct alignas(64) RobustMutex {
  unsigned char storage[64];

  /// Initialises the mutex in place (creator only, before the segment is published).
  std::error_code init() noexcept;
  /// Blocks until locked. owner_died means: the protected state may be half-updated.
  LockResult lock() noexcept;
  /// Non-blocking lock.
  LockResult try_lock() noexcept;
  /// After a successful repair following owner_died: makes the mutex usable again.
  void mark_consistent() noexcept;
  void unlock() noexcept;

private:
  pthread_mutex_t *native() noexcept { return reinterpret_cast<pthread_mutex_t *>(storage); }
};
static_assert(sizeof(pthread_mutex_t) <= sizeof(RobustMutex::storage));
static_assert(sizeof(RobustMutex) == 64);

/// RAII holder: locks, reports owner death through died(), and unlocks on scope exit.
class RobustLockGuard {
public:
  explicit RobustLockGuard(RobustMutex &m) noexcept : m_(m), r_(m.lock()) {}
  ~RobustLockGuard() {
    if (owns()) m_.unlock();
  }
  RobustLockGuard(const RobustLockGuard &) = delete;
  RobustLockGuard &operator=(const RobustLockGuard &) = delete;
  bool owns() const noexcept { return r_ == LockResult::acquired || r_ == LockResult::owner_died; }
  bool died() const noexcept { return r_ == LockResult::owner_died; }
  LockResult result() const noexcept { return r_; }

private:
  RobustMutex &m_;
  LockResult r_;
};

} // namespace camure::shm
