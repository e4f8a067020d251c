// camurerun: starts N ranks of a program on this host (local mode) and returns the job's status.
#include "launcher/agent_command.hpp"
#include "launcher/binding_setup.hpp"
#include "launcher/host_map.hpp"
#include "launcher/hostfile.hpp"
#include "launcher/janitor.hpp"
#include "launcher/job.hpp"
#include "launcher/job_spec.hpp"
#include "launcher/local_spawner.hpp"
#include "launcher/multi_spawner.hpp"
#include "launcher/options.hpp"
#include "launcher/output_forwarder.hpp"
#include "launcher/program_path.hpp"
#include "launcher/remote_spawner.hpp"
#include "launcher/shm_cleanup.hpp"
#include "launcher/wireup.hpp"
#include "runtime/topology/affinity.hpp"
#include "runtime/topology/binding.hpp"

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <climits>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CAMURE_VERSION
#define CAMURE_VERSION "unknown"
#endif

extern char **environ;

namespace {

using namespace camure;
using namespace camure::launcher;

constexpr int kUsageError = 2;

/// Bad input: one line, exit status 2. Option errors point at --help.
int usage_error(const std::string &why, bool hint = false) {
  write_all(2, "camurerun: " + why + (hint ? " (see camurerun --help)\n" : "\n"));
  return kUsageError;
}

int fatal(const std::string &why) {
  write_all(2, "camurerun: " + why + "\n");
  return 1;
}

/// A closed stdin/stdout/stderr would be reused by the first pipe we open; park /dev/null there.
void ensure_standard_fds() {
  for (int fd = 0; fd < 3; ++fd) {
    if (::fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
      const int n = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
      if (n >= 0 && n != fd) {
        ::dup2(n, fd);
        ::close(n);
      }
    }
  }
}

/// Raises our open-file limit (3 fds per rank); returns the original for the ranks.
std::optional<rlimit> raise_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return std::nullopt;
  const rlimit original = rl;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  return original;
}

/// Arranges remote hosts in a launch tree: at most `fanout` direct children; each takes a
/// contiguous share of the rest as its subtree (encoded into its job), recursively.
std::vector<JobMessage> build_launch_tree(std::vector<JobMessage> jobs, unsigned fanout) {
  if (jobs.size() <= fanout) return jobs;
  std::vector<JobMessage> direct;
  const std::size_t n = jobs.size();
  std::size_t pos = 0;
  for (unsigned g = 0; g < fanout && pos < n; ++g) {
    const std::size_t size = n / fanout + (g < n % fanout ? 1 : 0);
    JobMessage head = std::move(jobs[pos]);
    std::vector<JobMessage> rest;
    for (std::size_t i = pos + 1; i < pos + size; ++i) rest.push_back(std::move(jobs[i]));
    for (JobMessage &child : build_launch_tree(std::move(rest), fanout)) head.subtree.push_back(encode_job(child));
    direct.push_back(std::move(head));
    pos += size;
  }
  return direct;
}

/// <dir of this executable>/camure-proxy.
std::string default_proxy_path() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "camure-proxy";
  std::string self(buf, static_cast<std::size_t>(n));
  return self.substr(0, self.rfind('/') + 1) + "camure-proxy";
}

/// -x exports with values: VAR=value as given; a bare VAR takes camurerun's value (remote
/// hosts do not inherit our environment).
std::vector<std::string> resolved_exports(const std::vector<std::string> &exports, const std::vector<std::string> &env) {
  std::vector<std::string> out;
  for (const auto &x : exports) {
    if (x.find('=') != std::string::npos) {
      out.push_back(x);
      continue;
    }
    const std::string key = x + "=";
    for (const auto &kv : env)
      if (kv.rfind(key, 0) == 0) out.push_back(kv);
  }
  return out;
}

int run(int argc, char **argv) {
  const ParseResult pr = parse_command_line(argc, argv);
  switch (pr.outcome) {
  case ParseOutcome::help: return write_all(1, usage_text()) ? 0 : 1;
  case ParseOutcome::version:
    return write_all(1, std::string("camurerun (camure) ") + CAMURE_VERSION + "\n") ? 0 : 1;
  case ParseOutcome::error: return usage_error(pr.error, true);
  case ParseOutcome::run: break;
  }
  const Options &o = pr.options;

  std::string cwd;
  {
    char buf[PATH_MAX];
    if (!::getcwd(buf, sizeof buf)) return fatal(std::string("cannot read the current directory: ") + std::strerror(errno));
    cwd = buf;
  }
  std::vector<std::string> base_env;
  for (char **e = environ; e && *e; ++e) base_env.emplace_back(*e);
  const std::string job_id = make_job_id();

  // Hosts and the rank -> host mapping. Without -H/--hostfile: this host, np slots.
  std::vector<HostEntry> hosts;
  std::string why;
  if (o.multi_host()) {
    for (const auto &list : o.host_lists)
      if (!parse_host_list(list, hosts, why)) return usage_error(why);
    if (!o.hostfile.empty() && !read_hostfile(o.hostfile, hosts, why)) return usage_error(why);
  } else {
    hosts.push_back(HostEntry{host_name(), o.np, 0});
  }
  HostMapRequest mreq;
  mreq.np = o.np;
  mreq.npernode = o.npernode;
  mreq.by_node = o.map_by == "node";
  mreq.oversubscribe = o.oversubscribe || !o.multi_host();
  HostMap map;
  if (!map_ranks(hosts, mreq, map, why)) return usage_error(why);
  const int np = static_cast<int>(map.np);
  if (o.stdin_rank >= np) return usage_error("--stdin: rank " + std::to_string(o.stdin_rank) + " is not below " + std::to_string(np));

  // Which hosts are this one (no ssh). Two names for this host would make two "nodes" share
  // one machine's segments: refused.
  int local_host = -1;
  int first_remote = -1;
  for (std::size_t h = 0; h < hosts.size(); ++h) {
    if (map.ranks_of[h].empty()) continue;
    if (!o.multi_host() || is_local_host(hosts[h].name)) {
      if (local_host >= 0)
        return usage_error("hosts '" + hosts[static_cast<std::size_t>(local_host)].name + "' and '" + hosts[h].name +
                           "' are both this host; list it once");
      local_host = static_cast<int>(h);
    } else if (first_remote < 0) {
      first_remote = static_cast<int>(h);
    }
  }

  // The ranks' PATH (after -x) decides where the program is found, as execvp in a rank would.
  const auto env0 = rank_environment(base_env, o.exports, 0, np, 0, np, 0, 1, job_id);
  const ResolvedProgram prog = resolve_program(o.program, env_value(env0, "PATH"), cwd);
  if (prog.path.empty()) {
    // A program missing here may exist on the remote hosts when this host runs no rank.
    if (local_host >= 0 || o.program.find('/') == std::string::npos) return usage_error(prog.error);
  }
  const std::string program_path = prog.path.empty() ? o.program : prog.path;

  if (!o.wdir.empty() && local_host >= 0) {
    struct stat st {};
    if (::stat(o.wdir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return usage_error("--wdir: '" + o.wdir + "' is not a directory");
    if (::access(o.wdir.c_str(), X_OK) != 0) return usage_error("--wdir: cannot enter '" + o.wdir + "'");
  }
  std::string mcast = o.mcast_addr;
  if (!mcast.empty() && !valid_mcast(mcast)) return usage_error("--mcast-addr: '" + mcast + "' is not an IPv4 multicast group:port");
  if (mcast.empty()) mcast = choose_mcast();

  // The launcher's own address for the job: --iface, else the one that routes to the first
  // remote host, else loopback.
  std::string local_addr = "127.0.0.1";
  if (local_host >= 0) {
    if (!o.iface.empty()) {
      local_addr = resolve_iface(o.iface, why);
      if (local_addr.empty()) return usage_error(why);
    } else if (first_remote >= 0) {
      const std::string a = route_address_to(hosts[static_cast<std::size_t>(first_remote)].name);
      if (!a.empty()) local_addr = a;
    }
  }
  const std::vector<std::string> extra_env = {"CAMURE_MCAST=" + mcast, "CAMURE_MCAST_TTL=" + std::to_string(o.mcast_ttl)};

  std::vector<std::string> agent;
  {
    std::string opts = o.ssh_opts;
    if (opts.empty())
      if (const char *e = std::getenv("CAMURE_SSH_OPTS")) opts = e;
    if (!build_agent_command(o.launch_agent, opts, agent, why)) return usage_error(why);
  }
  const std::string proxy_path = o.proxy.empty() ? default_proxy_path() : o.proxy;

  BindingOptions bo{o.map_by, o.bind_to, o.oversubscribe, o.use_hwthreads};
  topology::BindingPlan bindings;
  std::error_code ec;
  const int local_n = local_host >= 0 ? static_cast<int>(map.ranks_of[static_cast<std::size_t>(local_host)].size()) : 0;
  if (local_n > 0) {
    if (int rc = plan_host_bindings(bo, local_n, bindings, why)) return rc == 2 ? usage_error(why) : fatal(why);
  }

  OutputConfig ocfg;
  ocfg.tag = o.tag_output;
  ocfg.timestamp = o.timestamp_output;
  ocfg.dir = o.output_dir;
  ocfg.merge_stderr = o.merge_stderr;
  auto output = OutputForwarder::create(ocfg, np, ec, why);
  if (!output) return usage_error("--output-filename: " + why);

  int stdin_rank = o.stdin_rank;
  // A background job must not read the terminal (SIGTTIN would stop camurerun): no stdin then.
  if (::isatty(0) && ::tcgetpgrp(0) != ::getpgrp()) stdin_rank = -1;

  JobSpec spec; // the whole job (Job uses stdin_rank); parts per host below
  spec.job_id = job_id;
  spec.host = local_host >= 0 ? hosts[static_cast<std::size_t>(local_host)].name : host_name();
  if (!o.multi_host()) spec.host = host_name();
  spec.program = program_path;
  spec.argv.push_back(o.program);
  spec.argv.insert(spec.argv.end(), o.args.begin(), o.args.end());
  spec.wdir = o.wdir;
  spec.stdin_rank = stdin_rank;

  JobSpec local = spec;
  if (local_host >= 0) {
    const auto &ranks = map.ranks_of[static_cast<std::size_t>(local_host)];
    const int node = map.node_id[static_cast<std::size_t>(local_host)];
    for (std::size_t i = 0; i < ranks.size(); ++i) {
      RankSpec rs;
      rs.rank = ranks[i];
      rs.local_rank = static_cast<int>(i);
      rs.env = rank_environment(base_env, o.exports, rs.rank, np, rs.local_rank, local_n, node, map.num_nodes, job_id);
      for (const auto &kv : extra_env) set_env_var(rs.env, kv.substr(0, kv.find('=')), kv.substr(kv.find('=') + 1));
      set_env_var(rs.env, "CAMURE_NODE_ADDR", local_addr);
      rs.binding = bindings.ranks[i];
      local.ranks.push_back(std::move(rs));
    }
  }
  if (o.report_bindings) {
    std::string lines;
    for (const auto &rs : local.ranks)
      lines += "camurerun: rank " + std::to_string(rs.rank) + " on host " + spec.host + " " +
               (rs.binding.bound ? "bound to " : "") + topology::describe(rs.binding) + "\n";
    write_all(2, lines);
  }
  std::vector<std::string> rank_hosts(static_cast<std::size_t>(np));
  for (int r = 0; r < np; ++r) {
    const auto h = static_cast<std::size_t>(map.host_of_rank[static_cast<std::size_t>(r)]);
    rank_hosts[static_cast<std::size_t>(r)] = static_cast<int>(h) == local_host ? spec.host : hosts[h].name;
  }
  const std::vector<std::string> exports = resolved_exports(o.exports, base_env);

  const std::optional<rlimit> rank_fd_limit = raise_fd_limit();
  // The janitor first: it must exist before any rank, and must not inherit our handlers.
  Janitor janitor = Janitor::start(job_id, ec);
  if (ec) return fatal("cannot start the cleanup process: " + ec.message());
  int code = 1;
  {
    SignalPipe signals({SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGTSTP, SIGCONT}, ec);
    if (ec) return fatal("cannot install signal handlers: " + ec.message());
    EventLoop loop;
    JobSettings js;
    js.timeout_s = o.timeout_s;
    js.grace_s = o.grace_s;
    js.keep_going = o.keep_going;
    Job job(loop, signals, *output, janitor, js, np, spec.host);
    job.set_rank_hosts(rank_hosts);
    job.kv().set("camure.session_key", make_session_key_hex());
    MultiSpawner spawner(np);
    if (local_host >= 0) {
      auto ls = std::make_unique<LocalSpawner>(loop, job);
      if (rank_fd_limit) ls->set_rank_fd_limit(*rank_fd_limit);
      spawner.add(std::move(ls), local);
    }
    std::vector<JobMessage> remote_jobs;
    for (std::size_t h = 0; h < hosts.size(); ++h) {
      if (static_cast<int>(h) == local_host || map.ranks_of[h].empty()) continue;
      JobMessage m;
      m.job_id = job_id;
      m.host = hosts[h].name;
      m.node_id = map.node_id[h];
      m.num_nodes = map.num_nodes;
      m.size = np;
      m.program = program_path;
      m.argv = spec.argv;
      m.wdir = o.wdir;
      m.fallback_wdir = cwd;
      m.stdin_rank = stdin_rank;
      m.exports = exports;
      m.extra_env = extra_env;
      m.iface = o.iface;
      m.map_by = o.map_by;
      m.bind_to = o.bind_to;
      m.oversubscribe = o.oversubscribe;
      m.use_hwthreads = o.use_hwthreads;
      m.report_bindings = o.report_bindings;
      m.grace_ms = static_cast<std::uint32_t>(o.grace_s * 1000);
      m.agent = agent;
      m.proxy = proxy_path;
      m.launch_timeout_ms = static_cast<std::uint32_t>(o.launch_timeout_s * 1000);
      for (std::size_t i = 0; i < map.ranks_of[h].size(); ++i)
        m.ranks.push_back(ProxyRank{map.ranks_of[h][i], static_cast<int>(i)});
      remote_jobs.push_back(std::move(m));
    }
    // Up to --launch-fanout hosts are started directly; beyond that each direct host's proxy
    // starts its share of the others (recursively, same fan-out).
    for (JobMessage &m : build_launch_tree(std::move(remote_jobs), o.launch_fanout)) {
      JobSpec part = spec;
      part.host = m.host;
      part.ranks.clear();
      for (int r : subtree_ranks(m)) part.ranks.push_back(RankSpec{r, 0, {}, {}});
      RemoteLaunch rl;
      rl.host = m.host;
      rl.agent = agent;
      rl.proxy = proxy_path;
      rl.launch_timeout = std::chrono::milliseconds(m.launch_timeout_ms);
      rl.job = std::move(m);
      spawner.add(std::make_unique<RemoteSpawner>(loop, job, std::move(rl)), std::move(part));
    }
    code = job.run(spawner, spec);
  }
  output.reset();
  janitor.finish();
  remove_job_segments(job_id); // the janitor did it; again in case it was killed
  return code;
}

} // namespace

int main(int argc, char **argv) {
  ensure_standard_fds();
  ::signal(SIGPIPE, SIG_IGN);
  try {
    return run(argc, argv);
  } catch (const std::exception &e) {
    return fatal(std::string("internal error: ") + e.what());
  }
}
