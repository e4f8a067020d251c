// Bootstrap: a rank's place in the job, read from camurerun's environment or singleton mode.
#pragma once

#include <functional>
#include <string>
#include <system_error>

namespace camure::bootstrap {

/// Where this process sits in the job. Filled from the launcher contract (launcher/README.md):
/// CAMURE_RANK, CAMURE_SIZE, CAMURE_LOCAL_RANK, CAMURE_LOCAL_SIZE, CAMURE_NODE_ID,
/// CAMURE_NUM_NODES, CAMURE_JOB_ID, CAMURE_CONTROL_FD.
struct JobInfo {
  int rank = 0;
  int size = 1;
  int local_rank = 0;
  int local_size = 1;
  int node_id = 0;
  int num_nodes = 1;
  std::string job_id;    ///< [A-Za-z0-9]{1,64}; names the job's segments camure-<job_id>-*
  int control_fd = -1;   ///< pipe/socket to camurerun, -1 if none
  bool singleton = true; ///< started without camurerun
  double collective_timeout_s = 0; ///< CAMURE_COLLECTIVE_TIMEOUT, 0 = none (liveness only)
  // Multi-host jobs (num_nodes > 1) only; see launcher/README.md (issue 5 contract).
  std::string node_addr; ///< CAMURE_NODE_ADDR: this host's IP for inter-host traffic
  std::string mcast;     ///< CAMURE_MCAST: "group:port" of the job
  int mcast_ttl = 1;     ///< CAMURE_MCAST_TTL (0..255)

  /// Prefix for this host's shared-memory objects: "camure-<job_id>-n<node_id>".
  std::string segment_prefix() const;
};

/// Looks up an environment variable; returns nullptr if unset. Replaceable in unit tests.
using EnvLookup = std::function<const char *(const char *)>;

/// Reads the job from `env`. No CAMURE_RANK and no CAMURE_SIZE: singleton mode (rank 0 of 1,
/// job id made unique from the pid and the clock). Partial or malformed variables give
/// errc::invalid_argument and a one-line `detail` naming the variable.
JobInfo job_from_environment(const EnvLookup &env, std::error_code &ec, std::string &detail);

/// job_from_environment(::getenv).
JobInfo job_from_process_environment(std::error_code &ec, std::string &detail);

/// True if s is a valid job id: 1..64 characters of [A-Za-z0-9].
bool valid_job_id(const std::string &s);

} // namespace camure::bootstrap
