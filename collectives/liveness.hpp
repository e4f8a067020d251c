// Is a rank's process still running? (pid + start time, zombies count as dead)
#pragma once

#include <cstdint>

namespace camure::collectives {

/// This process's start time in clock ticks since boot (0 if unknown).
std::uint64_t own_start_time() noexcept;

/// True if pid runs, is not a zombie and (when start_time != 0) started at start_time.
bool process_alive(int pid, std::uint64_t start_time) noexcept;

} // namespace camure::collectives
