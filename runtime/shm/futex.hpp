// Process-shared futex wait/wake on a 32-bit atomic word that lives in shared memory.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <system_error>

namespace camure::shm::futex {

/// Sleeps while word == expected, until woken or the (steady_clock) deadline passes.
/// Uses the shared (not private) futex namespace so any process mapping the word can wake it.
/// Returns {} when woken, when the value already differed, or on a spurious wake-up (callers
/// re-check their condition); errc::timeout when the deadline passed; system_error otherwise.
std::error_code wait(std::atomic<std::uint32_t> &word, std::uint32_t expected,
                     std::chrono::steady_clock::time_point deadline) noexcept;

/// Sleeps while word == expected with no deadline. Same results as wait() minus timeout.
std::error_code wait(std::atomic<std::uint32_t> &word, std::uint32_t expected) noexcept;

/// Wakes up to count waiters sleeping on word; returns how many were woken (0 on error).
int wake(std::atomic<std::uint32_t> &word, int count) noexcept;

/// Wakes every waiter sleeping on word.
int wake_all(std::atomic<std::uint32_t> &word) noexcept;

} // namespace camure::shm::futex
