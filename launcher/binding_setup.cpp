// Mapping/binding set-up shared by camurerun (its own host) and camure-proxy (remote hosts).
#include "launcher/binding_setup.hpp"

#include "runtime/topology/affinity.hpp"

#include <optional>

namespace camure::launcher {

namespace {
topology::Level map_level(const BindingOptions &o) {
  if (o.map_by == "slot") return o.use_hwthreads ? topology::Level::hwthread : topology::Level::core;
  if (o.map_by == "hwthread") return topology::Level::hwthread;
  if (o.map_by == "numa") return topology::Level::numa;
  if (o.map_by == "package" || o.map_by == "socket") return topology::Level::package;
  if (o.map_by == "node") return topology::Level::machine; // hosts round robin, then the machine
  return topology::Level::core;
}

std::optional<topology::Level> bind_level(const BindingOptions &o) {
  if (o.bind_to == "core") return topology::Level::core;
  if (o.bind_to == "hwthread") return topology::Level::hwthread;
  if (o.bind_to == "numa") return topology::Level::numa;
  if (o.bind_to == "package" || o.bind_to == "socket") return topology::Level::package;
  return std::nullopt;
}
} // namespace

int plan_host_bindings(const BindingOptions &o, int nranks, topology::BindingPlan &bindings, std::string &why) {
  const auto n = static_cast<unsigned>(nranks);
  topology::BindingRequest req;
  req.ranks = n;
  req.map_by = map_level(o);
  req.bind_to = bind_level(o);
  req.bind_none = o.bind_to == "none";
  req.oversubscribe = o.oversubscribe;
  req.use_hwthreads = o.use_hwthreads;
  std::error_code ec;
  if (req.bind_none || nranks == 0) {
    // Nothing to compute: skip hwloc (start-up time) and report the inherited cpus.
    const topology::CpuSet mine = topology::current_affinity(ec);
    bindings.ranks.assign(n, topology::RankBinding{false, topology::Level::core, 0, mine});
    return 0;
  }
  if (!req.bind_to) {
    // Default binding: none once the ranks outnumber the slots. Cores and hwthreads we may use
    // are never more than the cpus in our affinity mask, so more ranks than those cpus is
    // oversubscribed whatever the topology: skip hwloc (milliseconds of start-up).
    const topology::CpuSet mine = topology::current_affinity(ec);
    if (!ec && !mine.empty() && n > mine.size()) {
      bindings.bound = false;
      bindings.ranks.assign(n, topology::RankBinding{false, topology::Level::core, 0, mine});
      return 0;
    }
  }
  const topology::Topology topo = topology::load_host_topology(ec, why);
  if (ec) {
    if (req.bind_to) {
      why += "; cannot honour --bind-to " + o.bind_to;
      return 1;
    }
    bindings.ranks.assign(n, topology::RankBinding{});
    return 0;
  }
  bindings = topology::compute_bindings(topo, req, ec, why);
  return ec ? 2 : 0;
}

} // namespace camure::launcher
