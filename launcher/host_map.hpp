// Mapping ranks onto hosts (slot / node / npernode, oversubscription rules as mpirun's).
#pragma once

#include "launcher/hostfile.hpp"

#include <string>
#include <vector>

namespace camure::launcher {

struct HostMapRequest {
  unsigned np = 0;          ///< 0 = not given: total slots (or npernode * hosts)
  unsigned npernode = 0;    ///< -N; 0 = not given
  bool by_node = false;     ///< --map-by node: round robin over hosts; else fill slots in order
  bool oversubscribe = false;
};

struct HostMap {
  unsigned np = 0;
  std::vector<int> host_of_rank;          ///< index into the host list
  std::vector<int> local_rank;            ///< index among the ranks of its host
  std::vector<std::vector<int>> ranks_of; ///< per host, ascending
  std::vector<int> node_id;               ///< per host: index among hosts with ranks, -1 if none
  int num_nodes = 0;
};

/// Computes the mapping. Errors (exit 2 material): one line in `why`, returns false.
bool map_ranks(const std::vector<HostEntry> &hosts, const HostMapRequest &req, HostMap &map, std::string &why);

} // namespace camure::launcher
