// Binding: pure computation of which cpus each rank is mapped and bound to (no hwloc, no syscalls).
#pragma once

#include "runtime/topology/cpuset.hpp"
#include "runtime/topology/topology.hpp"

#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace camure::topology {

/// What a caller asks for: mpirun's --map-by / --bind-to / --oversubscribe / --use-hwthread-cpus.
struct BindingRequest {
  unsigned ranks = 1;
  /// Objects ranks are spread over, round robin. `core` is mpirun's `slot` on one host;
  /// `machine` is `node`.
  Level map_by = Level::core;
  /// nullopt: the default (see compute_bindings). Level::machine is never valid here.
  std::optional<Level> bind_to;
  bool bind_none = false;       ///< --bind-to none
  bool oversubscribe = false;   ///< allow more ranks bound to an object than it has cpus
  bool use_hwthreads = false;   ///< hardware threads count as slots (and the default binding unit)
};

/// Where one rank ends up.
struct RankBinding {
  bool bound = false;       ///< false: the rank may run on every allowed cpu
  Level level = Level::core; ///< the object type bound to (meaningful when bound)
  unsigned object = 0;      ///< logical index of that object among its level
  CpuSet cpus;              ///< cpus the rank may run on (all allowed cpus when unbound)
};

/// The result for a whole job on one host.
struct BindingPlan {
  bool bound = false;           ///< whether ranks are bound at all
  Level level = Level::core;    ///< the level bound to
  std::vector<RankBinding> ranks;
};

/// Computes mapping and binding of `req.ranks` ranks on `topo`.
///
/// Mapping: rank r goes to map object (r mod M) of level `map_by` (M objects), so ranks are
/// spread round robin. Binding: if the bind level is at least as coarse as the map level, a rank
/// is bound to the bind object holding its map object; otherwise the k-th rank placed on a map
/// object gets the k-th bind object inside it. Default binding: one rank per core (per hwthread
/// with use_hwthreads) while the ranks fit; none once they outnumber the slots (as Open MPI).
/// Binding more ranks to an object than it has cpus is an error unless `oversubscribe`.
/// Errors: errc::invalid_argument with a one-line reason in `why`.
BindingPlan compute_bindings(const Topology &topo, const BindingRequest &req, std::error_code &ec,
                             std::string &why);

/// One-line human description of a rank's binding, e.g. "core 1 (cpus 1)" or "not bound (cpus 0-3)".
std::string describe(const RankBinding &b);

} // namespace camure::topology
