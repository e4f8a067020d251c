// JobSpec: everything a spawner needs to start a job's ranks (plain data, built before forking).
#pragma once

#include "runtime/topology/binding.hpp"

#include <string>
#include <vector>

namespace camure::launcher {

/// One rank to start.
struct RankSpec {
  int rank = 0;
  int local_rank = 0;
  std::vector<std::string> env;       ///< complete environment, without CAMURE_CONTROL_FD
  topology::RankBinding binding;      ///< cpus to pin to (applied only when binding.bound)
};

/// One job on one host (a remote proxy receives the same data for its host).
struct JobSpec {
  std::string job_id;                 ///< [A-Za-z0-9]+, names the job's shm segments
  std::string host;                   ///< this host's name (for messages)
  std::string program;                ///< resolved path to exec
  std::vector<std::string> argv;      ///< argv[0] is the program as the user wrote it
  std::string wdir;                   ///< "" = inherit
  int stdin_rank = 0;                 ///< rank receiving forwarded stdin, -1 = none
  std::vector<RankSpec> ranks;        ///< this host's ranks
};

/// Builds a rank's environment: `base` without camure's contract variables, then the -x
/// exports (VAR=value sets, bare VAR keeps base's value), then the contract variables
/// (CAMURE_RANK, _SIZE, _LOCAL_RANK, _LOCAL_SIZE, _NODE_ID, _NUM_NODES, _JOB_ID).
std::vector<std::string> rank_environment(const std::vector<std::string> &base, const std::vector<std::string> &exports,
                                          int rank, int size, int local_rank, int local_size, int node_id,
                                          int num_nodes, const std::string &job_id);

/// Sets (or replaces) NAME=value in an environment vector.
void set_env_var(std::vector<std::string> &env, const std::string &name, const std::string &value);

/// A fresh job id: 16 characters of [0-9a-z], from the kernel's random source.
std::string make_job_id();

/// Value of `name` in an environment vector ("" if absent).
std::string env_value(const std::vector<std::string> &env, const std::string &name);

} // namespace camure::launcher
