// Topology: a plain, hwloc-free model of the cpus this process may use (PU -> core/NUMA/package).
#pragma once

#include "runtime/topology/cpuset.hpp"

#include <string>
#include <system_error>
#include <vector>

namespace camure::topology {

/// Object levels, finest first. The numeric order is the containment order we assume.
enum class Level { hwthread = 0, core = 1, numa = 2, package = 3, machine = 4 };

/// Name as used on the command line ("hwthread", "core", "numa", "package", "node").
const char *level_name(Level level) noexcept;

/// One processing unit (hardware thread) with the logical indices of the objects holding it.
struct ProcessingUnit {
  unsigned os_index = 0; ///< the OS cpu number (what sched_setaffinity takes)
  unsigned core = 0;     ///< logical core index
  unsigned numa = 0;     ///< logical NUMA node index
  unsigned package = 0;  ///< logical package (socket) index
};

/// The allowed processing units of a host in logical order. Only allowed PUs are present.
class Topology {
public:
  Topology() = default;
  explicit Topology(std::vector<ProcessingUnit> pus) : pus_(std::move(pus)) {}

  /// A regular fake machine for tests: packages x numa-per-package x cores-per-numa x threads.
  static Topology synthetic(unsigned packages, unsigned numa_per_package, unsigned cores_per_numa,
                            unsigned threads_per_core);

  const std::vector<ProcessingUnit> &pus() const { return pus_; }
  /// The objects of a level in logical order, each as the set of its allowed PUs.
  std::vector<CpuSet> objects(Level level) const;
  /// Every allowed PU.
  CpuSet all() const;
  /// Same topology without the PUs outside `allowed` (objects left empty disappear).
  Topology restricted_to(const CpuSet &allowed) const;

private:
  std::vector<ProcessingUnit> pus_;
};

/// Loads this host's topology with hwloc, restricted to the cgroup-allowed cpus and to this
/// process's current affinity (so `taskset -c 0 camurerun ...` is honoured).
/// On failure returns an empty topology, sets ec and a one-line reason in `why`.
Topology load_host_topology(std::error_code &ec, std::string &why);

} // namespace camure::topology
