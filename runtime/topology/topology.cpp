// Topology: grouping PUs into objects per level, synthetic fake machines, restriction.
#include "runtime/topology/topology.hpp"

#include <map>

namespace camure::topology {

const char *level_name(Level level) noexcept {
  switch (level) {
  case Level::hwthread: return "hwthread";
  case Level::core: return "core";
  case Level::numa: return "numa";
  case Level::package: return "package";
  case Level::machine: return "node";
  }
  return "?";
}

Topology Topology::synthetic(unsigned packages, unsigned numa_per_package, unsigned cores_per_numa,
                             unsigned threads_per_core) {
  std::vector<ProcessingUnit> pus;
  unsigned core = 0, numa = 0, os = 0;
  for (unsigned p = 0; p < packages; ++p) {
    for (unsigned n = 0; n < numa_per_package; ++n, ++numa) {
      for (unsigned c = 0; c < cores_per_numa; ++c, ++core) {
        for (unsigned t = 0; t < threads_per_core; ++t) pus.push_back({os++, core, numa, p});
      }
    }
  }
  return Topology(std::move(pus));
}

std::vector<CpuSet> Topology::objects(Level level) const {
  if (level == Level::machine) return {all()};
  std::vector<CpuSet> out;
  std::map<unsigned, std::size_t> slot; // logical id -> position in out, in order of appearance
  for (const auto &pu : pus_) {
    unsigned id = pu.os_index;
    switch (level) {
    case Level::hwthread: id = static_cast<unsigned>(&pu - pus_.data()); break;
    case Level::core: id = pu.core; break;
    case Level::numa: id = pu.numa; break;
    case Level::package: id = pu.package; break;
    case Level::machine: break;
    }
    auto [it, fresh] = slot.try_emplace(id, out.size());
    if (fresh) out.emplace_back();
    out[it->second].add(pu.os_index);
  }
  return out;
}

CpuSet Topology::all() const {
  CpuSet s;
  for (const auto &pu : pus_) s.add(pu.os_index);
  return s;
}

Topology Topology::restricted_to(const CpuSet &allowed) const {
  std::vector<ProcessingUnit> kept;
  for (const auto &pu : pus_)
    if (allowed.contains(pu.os_index)) kept.push_back(pu);
  return Topology(std::move(kept));
}

} // namespace camure::topology
