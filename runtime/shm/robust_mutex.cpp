// Robust process-shared pthread mutex: EOWNERDEAD mapped to LockResult::owner_died.
#include "runtime/shm/robust_mutex.hpp"

#include <camure/error.hpp>

#include <cerrno>
#include <cstring>

namespace camure::shm {
namespace {

LockResult map_result(int r) noexcept {
  switch (r) {
  case 0: return LockResult::acquired;
  case EOWNERDEAD: return LockResult::owner_died;
  case EBUSY: return LockResult::busy;
  default: return LockResult::failed;
  }
}

} // namespace

std::error_code RobustMutex::init() noexcept {
  std::memset(storage, 0, sizeof storage);
  pthread_mutexattr_t a;
  if (::pthread_mutexattr_init(&a) != 0) return make_error_code(errc::system_error);
  int r = ::pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  if (r == 0) r = ::pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  if (r == 0) r = ::pthread_mutex_init(native(), &a);
  ::pthread_mutexattr_destroy(&a);
  return r == 0 ? std::error_code{} : make_error_code(errc::system_error);
}

LockResult RobustMutex::lock() noexcept { return map_result(::pthread_mutex_lock(native())); }

LockResult RobustMutex::try_lock() noexcept { return map_result(::pthread_mutex_trylock(native())); }

void RobustMutex::mark_consistent() noexcept { ::pthread_mutex_consistent(native()); }

void RobustMutex::unlock() noexcept { ::pthread_mutex_unlock(native()); }

} // namespace camure::shm
