// Rank-to-host mapping: pure arithmetic on the host list.
#include "launcher/host_map.hpp"

#include <algorithm>

namespace camure::launcher {

bool map_ranks(const std::vector<HostEntry> &hosts, const HostMapRequest &req, HostMap &map, std::string &why) {
  map = HostMap{};
  if (hosts.empty()) {
    why = "no hosts to run on";
    return false;
  }
  const std::size_t nh = hosts.size();
  unsigned long total_slots = 0;
  for (const auto &h : hosts) total_slots += h.slots;
  // Hard per-host capacity (max_slots), and the soft one (slots) unless oversubscribing.
  auto cap = [&](std::size_t i) -> unsigned long {
    if (hosts[i].max_slots) return hosts[i].max_slots;
    return req.oversubscribe ? ~0ul : hosts[i].slots;
  };
  std::vector<unsigned long> count(nh, 0);
  unsigned long np = req.np;

  if (req.npernode) {
    const unsigned long want = static_cast<unsigned long>(req.npernode) * nh;
    if (np == 0) np = want;
    if (np > want) {
      why = std::to_string(np) + " ranks requested but -N " + std::to_string(req.npernode) + " on " +
            std::to_string(nh) + " hosts places at most " + std::to_string(want);
      return false;
    }
    for (std::size_t i = 0; i < nh; ++i) {
      if (req.npernode > cap(i)) {
        why = "-N " + std::to_string(req.npernode) + " exceeds the " + std::to_string(hosts[i].slots) +
              " slots of host " + hosts[i].name + (hosts[i].max_slots ? " (max_slots)" : " (use --oversubscribe)");
        return false;
      }
    }
    // Fill each host with N ranks in host order (by node: round robin, N per host at most).
    for (unsigned long r = 0; r < np; ++r) {
      std::size_t h = req.by_node ? r % nh : r / req.npernode;
      map.host_of_rank.push_back(static_cast<int>(h));
    }
  } else {
    if (np == 0) np = total_slots;
    if (np > total_slots && !req.oversubscribe) {
      why = "not enough slots: " + std::to_string(np) + " ranks requested but the " + std::to_string(nh) +
            (nh == 1 ? " host has " : " hosts have ") + std::to_string(total_slots) +
            (total_slots == 1 ? " slot" : " slots") + " (use --oversubscribe to allow it)";
      return false;
    }
    unsigned long hard = 0;
    bool unlimited = false;
    for (std::size_t i = 0; i < nh; ++i) {
      if (hosts[i].max_slots) hard += hosts[i].max_slots;
      else unlimited = true;
    }
    if (!unlimited && np > hard) {
      why = "not enough slots: " + std::to_string(np) + " ranks requested but max_slots allows " + std::to_string(hard);
      return false;
    }
    // While some host has a free slot: by slot fills hosts in order, by node goes round robin.
    // Once every slot is taken (oversubscribed), ranks go round robin up to each host's cap.
    std::size_t cursor = 0;
    for (unsigned long r = 0; r < np; ++r) {
      bool any_free = false;
      for (std::size_t i = 0; i < nh; ++i) any_free = any_free || count[i] < hosts[i].slots;
      std::size_t chosen = nh;
      const std::size_t start = any_free && !req.by_node ? 0 : cursor;
      for (std::size_t k = 0; k < nh; ++k) {
        const std::size_t i = (start + k) % nh;
        if (any_free ? count[i] < hosts[i].slots : count[i] < cap(i)) {
          chosen = i;
          break;
        }
      }
      if (chosen == nh) {
        why = "not enough slots for " + std::to_string(np) + " ranks (max_slots)";
        return false;
      }
      ++count[chosen];
      map.host_of_rank.push_back(static_cast<int>(chosen));
      cursor = (chosen + 1) % nh;
    }
  }
  map.np = static_cast<unsigned>(np);
  map.ranks_of.assign(nh, {});
  map.local_rank.resize(np);
  for (unsigned long r = 0; r < np; ++r) {
    auto &v = map.ranks_of[static_cast<std::size_t>(map.host_of_rank[r])];
    map.local_rank[r] = static_cast<int>(v.size());
    v.push_back(static_cast<int>(r));
  }
  map.node_id.assign(nh, -1);
  for (std::size_t i = 0; i < nh; ++i)
    if (!map.ranks_of[i].empty()) map.node_id[i] = map.num_nodes++;
  return true;
}

} // namespace camure::launcher
