// Per-host mapping/binding set-up from the option strings (camurerun and camure-proxy).
#pragma once

#include "runtime/topology/binding.hpp"

#include <string>

namespace camure::launcher {

struct BindingOptions {
  std::string map_by = "core"; ///< slot|core|hwthread|numa|package|socket|node
  std::string bind_to;         ///< "" = default
  bool oversubscribe = false;
  bool use_hwthreads = false;
};

/// Computes the bindings of `nranks` ranks on this host. Returns 0, 1 (cannot honour an
/// explicit binding: system problem) or 2 (impossible request); `why` has one line then.
int plan_host_bindings(const BindingOptions &o, int nranks, topology::BindingPlan &bindings, std::string &why);

} // namespace camure::launcher
