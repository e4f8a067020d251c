// Loads the host topology with hwloc into the plain Topology model (the only hwloc user).
#include "runtime/topology/affinity.hpp"
#include "runtime/topology/topology.hpp"

#include <camure/error.hpp>

#include <hwloc.h>

namespace camure::topology {

namespace {
/// Logical index of the ancestor of `pu` with the given type, or `fallback` if there is none.
unsigned ancestor_index(hwloc_topology_t topo, hwloc_obj_t pu, hwloc_obj_type_t type, unsigned fallback) {
  hwloc_obj_t a = hwloc_get_ancestor_obj_by_type(topo, type, pu);
  return a ? a->logical_index : fallback;
}
} // namespace

Topology load_host_topology(std::error_code &ec, std::string &why) {
  ec.clear();
  hwloc_topology_t topo = nullptr;
  if (hwloc_topology_init(&topo) != 0) {
    ec = make_error_code(errc::system_error);
    why = "hwloc: cannot initialise a topology";
    return {};
  }
  // Only PUs, cores, NUMA nodes and packages are needed, and all come from Linux's sysfs: skip
  // I/O devices and caches, and the x86 CPUID backend, which migrates the process across
  // every cpu to query it (tens of ms of launcher start-up on a busy host).
  hwloc_topology_set_components(topo, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "x86");
  hwloc_topology_set_io_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_NONE);
  hwloc_topology_set_cache_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_NONE);
  hwloc_topology_set_icache_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_NONE);
  if (hwloc_topology_load(topo) != 0) {
    hwloc_topology_destroy(topo);
    ec = make_error_code(errc::system_error);
    why = "hwloc: cannot load this host's topology";
    return {};
  }
  const int npus = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
  const int nnuma = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
  std::vector<ProcessingUnit> pus;
  for (int i = 0; i < npus; ++i) {
    hwloc_obj_t pu = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU, static_cast<unsigned>(i));
    ProcessingUnit p;
    p.os_index = pu->os_index;
    // A PU without a core object (some VMs) counts as its own core.
    p.core = ancestor_index(topo, pu, HWLOC_OBJ_CORE, 1000000u + pu->logical_index);
    p.package = ancestor_index(topo, pu, HWLOC_OBJ_PACKAGE, 0);
    p.numa = 0;
    for (int n = 0; n < nnuma; ++n) { // NUMA nodes are memory children in hwloc 2: match by cpuset
      hwloc_obj_t node = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(n));
      if (node->cpuset && hwloc_bitmap_isset(node->cpuset, pu->os_index)) {
        p.numa = node->logical_index;
        break;
      }
    }
    pus.push_back(p);
  }
  hwloc_topology_destroy(topo);

  Topology t(std::move(pus));
  std::error_code aec;
  CpuSet mine = current_affinity(aec);
  if (!aec && !mine.empty()) t = t.restricted_to(mine);
  if (t.pus().empty()) {
    ec = make_error_code(errc::system_error);
    why = "hwloc: no usable cpu in this process's allowed cpuset";
  }
  return t;
}

} // namespace camure::topology
