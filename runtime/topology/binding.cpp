// Binding: round-robin mapping over map objects, binding inside them, oversubscription rules.
#include "runtime/topology/binding.hpp"

#include <camure/error.hpp>

namespace camure::topology {

namespace {

/// Index of the object (in `objs`) holding cpu `cpu`, or objs.size().
std::size_t holder(const std::vector<CpuSet> &objs, unsigned cpu) {
  for (std::size_t i = 0; i < objs.size(); ++i)
    if (objs[i].contains(cpu)) return i;
  return objs.size();
}

bool subset(const CpuSet &inner, const CpuSet &outer) {
  for (unsigned c : inner.cpus())
    if (!outer.contains(c)) return false;
  return true;
}

} // namespace

BindingPlan compute_bindings(const Topology &topo, const BindingRequest &req, std::error_code &ec,
                             std::string &why) {
  ec.clear();
  BindingPlan plan;
  auto fail = [&](std::string reason) {
    ec = make_error_code(errc::invalid_argument);
    why = std::move(reason);
    return BindingPlan{};
  };
  if (req.ranks == 0) return fail("the number of ranks must be at least 1");
  if (topo.pus().empty()) return fail("no usable cpu on this host");
  if (req.bind_to && *req.bind_to == Level::machine) return fail("cannot bind to the whole node; use --bind-to none");

  const Level slot_level = req.use_hwthreads ? Level::hwthread : Level::core;
  const std::size_t slots = topo.objects(slot_level).size();

  // Decide the binding level.
  bool bind = !req.bind_none;
  Level bind_level = slot_level;
  if (req.bind_to) {
    bind_level = *req.bind_to;
  } else if (!req.bind_none && req.ranks > slots) {
    bind = false; // default: do not bind an oversubscribed job
  }

  const CpuSet all = topo.all();
  plan.bound = bind;
  plan.level = bind_level;
  plan.ranks.resize(req.ranks);
  if (!bind) {
    for (auto &r : plan.ranks) r.cpus = all;
    return plan;
  }

  // map_by node / slot(core) / hwthread ...; a map level finer than hwthreads does not exist.
  const std::vector<CpuSet> map_objs = topo.objects(req.map_by);
  const std::vector<CpuSet> bind_objs = topo.objects(bind_level);
  // For every map object, the bind objects usable by ranks placed on it.
  std::vector<std::vector<std::size_t>> candidates(map_objs.size());
  for (std::size_t m = 0; m < map_objs.size(); ++m) {
    if (static_cast<int>(bind_level) >= static_cast<int>(req.map_by)) {
      candidates[m].push_back(holder(bind_objs, map_objs[m].cpus().front()));
    } else {
      for (std::size_t b = 0; b < bind_objs.size(); ++b)
        if (subset(bind_objs[b], map_objs[m])) candidates[m].push_back(b);
      if (candidates[m].empty()) candidates[m].push_back(holder(bind_objs, map_objs[m].cpus().front()));
    }
  }

  std::vector<unsigned> load(bind_objs.size(), 0);
  for (unsigned r = 0; r < req.ranks; ++r) {
    const std::size_t m = r % map_objs.size();
    const std::size_t k = r / map_objs.size();
    const std::size_t b = candidates[m][k % candidates[m].size()];
    ++load[b];
    plan.ranks[r] = RankBinding{true, bind_level, static_cast<unsigned>(b), bind_objs[b]};
  }
  if (!req.oversubscribe) {
    for (std::size_t b = 0; b < bind_objs.size(); ++b) {
      if (load[b] > bind_objs[b].size()) {
        return fail(std::to_string(req.ranks) + " ranks bound to " + std::to_string(bind_objs.size()) + " " +
                    level_name(bind_level) + (bind_objs.size() == 1 ? "" : "s") + " (" +
                    std::to_string(all.size()) + " cpus) would overload " + level_name(bind_level) + " " +
                    std::to_string(b) + "; use --oversubscribe or --bind-to none");
      }
    }
  }
  return plan;
}

std::string describe(const RankBinding &b) {
  if (!b.bound) return "not bound (cpus " + b.cpus.to_list() + ")";
  return std::string(level_name(b.level)) + " " + std::to_string(b.object) + " (cpus " + b.cpus.to_list() + ")";
}

} // namespace camure::topology
