// JobSpec helpers: per-rank environments (the launcher/runtime contract) and job ids.
#include "launcher/job_spec.hpp"

#include <ctime>
#include <sys/random.h>
#include <unistd.h>

namespace camure::launcher {

namespace {
bool is_contract_var(const std::string &kv) {
  static const char *const names[] = {"CAMURE_RANK=",      "CAMURE_SIZE=",   "CAMURE_LOCAL_RANK=",
                                      "CAMURE_LOCAL_SIZE=", "CAMURE_NODE_ID=", "CAMURE_NUM_NODES=",
                                      "CAMURE_JOB_ID=",    "CAMURE_CONTROL_FD=", "CAMURE_NODE_ADDR=",
                                      "CAMURE_MCAST=",     "CAMURE_MCAST_TTL="};
  for (const char *n : names)
    if (kv.rfind(n, 0) == 0) return true;
  return false;
}

void set_var(std::vector<std::string> &env, const std::string &name, const std::string &value) {
  const std::string key = name + "=";
  for (auto &kv : env) {
    if (kv.rfind(key, 0) == 0) {
      kv = key + value;
      return;
    }
  }
  env.push_back(key + value);
}
} // namespace

void set_env_var(std::vector<std::string> &env, const std::string &name, const std::string &value) {
  set_var(env, name, value);
}

std::string env_value(const std::vector<std::string> &env, const std::string &name) {
  const std::string key = name + "=";
  for (const auto &kv : env)
    if (kv.rfind(key, 0) == 0) return kv.substr(key.size());
  return "";
}

std::vector<std::string> rank_environment(const std::vector<std::string> &base, const std::vector<std::string> &exports,
                                          int rank, int size, int local_rank, int local_size, int node_id,
                                          int num_nodes, const std::string &job_id) {
  std::vector<std::string> env;
  env.reserve(base.size() + 8);
  for (const auto &kv : base)
    if (!is_contract_var(kv)) env.push_back(kv);
  for (const auto &x : exports) {
    const auto eq = x.find('=');
    if (eq != std::string::npos) set_var(env, x.substr(0, eq), x.substr(eq + 1));
    // A bare VAR is inherited from base already (local mode passes the whole environment).
  }
  set_var(env, "CAMURE_RANK", std::to_string(rank));
  set_var(env, "CAMURE_SIZE", std::to_string(size));
  set_var(env, "CAMURE_LOCAL_RANK", std::to_string(local_rank));
  set_var(env, "CAMURE_LOCAL_SIZE", std::to_string(local_size));
  set_var(env, "CAMURE_NODE_ID", std::to_string(node_id));
  set_var(env, "CAMURE_NUM_NODES", std::to_string(num_nodes));
  set_var(env, "CAMURE_JOB_ID", job_id);
  return env;
}

std::string make_job_id() {
  static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  unsigned char raw[16] = {};
  if (::getrandom(raw, sizeof raw, 0) != static_cast<ssize_t>(sizeof raw)) {
    // Fall back to pid and time; still unique enough for concurrent jobs of one host.
    unsigned long long x = static_cast<unsigned long long>(::getpid()) * 0x9E3779B97F4A7C15ULL ^
                           static_cast<unsigned long long>(::time(nullptr));
    for (auto &b : raw) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      b = static_cast<unsigned char>(x >> 56);
    }
  }
  std::string id;
  for (unsigned char b : raw) id += alphabet[b % 36];
  return id;
}

} // namespace camure::launcher
