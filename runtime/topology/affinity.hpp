// Affinity: reading and applying a process's cpu affinity (sched_{get,set}affinity).
#pragma once

#include "runtime/topology/cpuset.hpp"

#include <cstddef>
#include <system_error>
#include <vector>

namespace camure::topology {

/// The calling thread's current cpu affinity. Sets ec on failure.
CpuSet current_affinity(std::error_code &ec);

/// A cpu mask prepared ahead of time so that applying it after fork() allocates nothing.
class AffinityMask {
public:
  AffinityMask() = default;
  explicit AffinityMask(const CpuSet &cpus);
  bool empty() const { return words_.empty(); }
  /// Applies the mask to the calling process (async-signal-safe). Returns 0 or errno.
  int apply() const noexcept;

private:
  std::vector<unsigned long> words_;
};

} // namespace camure::topology
