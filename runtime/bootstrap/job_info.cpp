// Bootstrap: parse and validate camurerun's environment; singleton mode without it.
#include "runtime/bootstrap/job_info.hpp"

#include <camure/error.hpp>

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <unistd.h>

namespace camure::bootstrap {
namespace {

// Parses a whole decimal int in [lo, hi]; false on anything else (sign, junk, overflow).
bool parse_int(const char *s, int lo, int hi, int &out) {
  if (s == nullptr || *s == '\0') return false;
  const char *end = s;
  while (*end != '\0') ++end;
  int v = 0;
  auto [p, e] = std::from_chars(s, end, v);
  if (e != std::errc() || p != end || v < lo || v > hi) return false;
  out = v;
  return true;
}

bool parse_seconds(const char *s, double &out) {
  if (s == nullptr || *s == '\0') return false;
  char *end = nullptr;
  const double v = std::strtod(s, &end);
  if (end == s || *end != '\0' || !(v >= 0) || v > 1e9) return false;
  out = v;
  return true;
}

constexpr int max_ranks = 1 << 20;

} // namespace

std::string JobInfo::segment_prefix() const {
  return "camure-" + job_id + "-n" + std::to_string(node_id);
}

bool valid_job_id(const std::string &s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

JobInfo job_from_environment(const EnvLookup &env, std::error_code &ec, std::string &detail) {
  ec.clear();
  detail.clear();
  JobInfo job;
  auto fail = [&](const std::string &what) {
    ec = errc::invalid_argument;
    detail = what;
    return JobInfo{};
  };

  if (const char *t = env("CAMURE_COLLECTIVE_TIMEOUT"); t != nullptr) {
    if (!parse_seconds(t, job.collective_timeout_s))
      return fail(std::string("CAMURE_COLLECTIVE_TIMEOUT='") + t + "' is not a number of seconds >= 0");
  }

  const char *rank = env("CAMURE_RANK");
  const char *size = env("CAMURE_SIZE");
  if (rank == nullptr && size == nullptr) {
    // Singleton: the job id must still be unique on the host, since segments are named by it.
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    job.job_id = "single" + std::to_string(::getpid()) + "x" + std::to_string(now);
    job.singleton = true;
    return job;
  }
  job.singleton = false;
  if (rank == nullptr) return fail("CAMURE_SIZE is set but CAMURE_RANK is not");
  if (size == nullptr) return fail("CAMURE_RANK is set but CAMURE_SIZE is not");
  if (!parse_int(size, 1, max_ranks, job.size))
    return fail(std::string("CAMURE_SIZE='") + size + "' is not a rank count in [1, 1048576]");
  if (!parse_int(rank, 0, job.size - 1, job.rank))
    return fail(std::string("CAMURE_RANK='") + rank + "' is not in [0, " + std::to_string(job.size) + ")");

  // Local values default to "everything on one host" so a hand-made environment still works.
  job.local_size = job.size;
  job.local_rank = job.rank;
  if (const char *ls = env("CAMURE_LOCAL_SIZE"); ls != nullptr) {
    if (!parse_int(ls, 1, job.size, job.local_size))
      return fail(std::string("CAMURE_LOCAL_SIZE='") + ls + "' is not in [1, CAMURE_SIZE]");
  }
  if (const char *lr = env("CAMURE_LOCAL_RANK"); lr != nullptr) {
    if (!parse_int(lr, 0, job.local_size - 1, job.local_rank))
      return fail(std::string("CAMURE_LOCAL_RANK='") + lr + "' is not in [0, CAMURE_LOCAL_SIZE)");
  } else if (job.local_rank >= job.local_size) {
    return fail("CAMURE_LOCAL_RANK is missing");
  }
  if (const char *nn = env("CAMURE_NUM_NODES"); nn != nullptr) {
    if (!parse_int(nn, 1, job.size, job.num_nodes))
      return fail(std::string("CAMURE_NUM_NODES='") + nn + "' is not in [1, CAMURE_SIZE]");
  }
  if (const char *ni = env("CAMURE_NODE_ID"); ni != nullptr) {
    if (!parse_int(ni, 0, job.num_nodes - 1, job.node_id))
      return fail(std::string("CAMURE_NODE_ID='") + ni + "' is not in [0, CAMURE_NUM_NODES)");
  }
  const char *id = env("CAMURE_JOB_ID");
  if (id == nullptr) return fail("CAMURE_JOB_ID is missing");
  if (!valid_job_id(id))
    return fail(std::string("CAMURE_JOB_ID='") + id + "' is not 1..64 characters of [A-Za-z0-9]");
  job.job_id = id;
  if (const char *fd = env("CAMURE_CONTROL_FD"); fd != nullptr && *fd != '\0') {
    if (!parse_int(fd, 0, 1 << 30, job.control_fd))
      return fail(std::string("CAMURE_CONTROL_FD='") + fd + "' is not a file descriptor");
  }
  if (job.num_nodes > 1) {
    const char *addr = env("CAMURE_NODE_ADDR");
    if (addr == nullptr || *addr == '\0') return fail("CAMURE_NODE_ADDR is missing (the job spans several hosts)");
    job.node_addr = addr;
    const char *mc = env("CAMURE_MCAST");
    if (mc == nullptr || *mc == '\0') return fail("CAMURE_MCAST is missing (the job spans several hosts)");
    job.mcast = mc;
    if (const char *ttl = env("CAMURE_MCAST_TTL"); ttl != nullptr && *ttl != '\0') {
      if (!parse_int(ttl, 0, 255, job.mcast_ttl))
        return fail(std::string("CAMURE_MCAST_TTL='") + ttl + "' is not in [0, 255]");
    }
    if (job.control_fd < 0) return fail("CAMURE_CONTROL_FD is missing (the job spans several hosts)");
  }
  return job;
}

JobInfo job_from_process_environment(std::error_code &ec, std::string &detail) {
  return job_from_environment([](const char *name) -> const char * { return std::getenv(name); }, ec, detail);
}

} // namespace camure::bootstrap
