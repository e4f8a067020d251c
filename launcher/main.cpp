// camurerun: starts N ranks of a program on this host (local mode) and returns the job's status.
#include "launcher/janitor.hpp"
#include "launcher/job.hpp"
#include "launcher/job_spec.hpp"
#include "launcher/local_spawner.hpp"
#include "launcher/options.hpp"
#include "launcher/output_forwarder.hpp"
#include "launcher/program_path.hpp"
#include "launcher/shm_cleanup.hpp"
#include "runtime/topology/affinity.hpp"
#include "runtime/topology/binding.hpp"

#include <cerrno>
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

topology::Level map_level(const Options &o) {
  if (o.map_by == "slot") return o.use_hwthreads ? topology::Level::hwthread : topology::Level::core;
  if (o.map_by == "hwthread") return topology::Level::hwthread;
  if (o.map_by == "numa") return topology::Level::numa;
  if (o.map_by == "package" || o.map_by == "socket") return topology::Level::package;
  if (o.map_by == "node") return topology::Level::machine;
  return topology::Level::core;
}

std::optional<topology::Level> bind_level(const Options &o) {
  if (o.bind_to == "core") return topology::Level::core;
  if (o.bind_to == "hwthread") return topology::Level::hwthread;
  if (o.bind_to == "numa") return topology::Level::numa;
  if (o.bind_to == "package" || o.bind_to == "socket") return topology::Level::package;
  return std::nullopt;
}

/// Mapping and binding on this host's allowed cpus. Returns 0, or camurerun's exit status after
/// printing the reason.
int plan_bindings(const Options &o, topology::BindingPlan &bindings) {
  topology::BindingRequest req;
  req.ranks = o.np;
  req.map_by = map_level(o);
  req.bind_to = bind_level(o);
  req.bind_none = o.bind_to == "none";
  req.oversubscribe = o.oversubscribe;
  req.use_hwthreads = o.use_hwthreads;
  std::error_code ec;
  std::string why;
  if (req.bind_none) {
    // Nothing to compute: skip hwloc (start-up time) and report the inherited cpus.
    const topology::CpuSet mine = topology::current_affinity(ec);
    bindings.ranks.assign(o.np, topology::RankBinding{false, topology::Level::core, 0, mine});
    return 0;
  }
  const topology::Topology topo = topology::load_host_topology(ec, why);
  if (ec) {
    if (req.bind_to) return fatal(why + "; cannot honour --bind-to " + o.bind_to);
    bindings.ranks.resize(o.np); // no topology: run unbound
    return 0;
  }
  bindings = topology::compute_bindings(topo, req, ec, why);
  return ec ? usage_error(why) : 0;
}

std::string host_name() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
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
  const int np = static_cast<int>(o.np);

  std::string cwd;
  {
    char buf[PATH_MAX];
    if (!::getcwd(buf, sizeof buf)) return fatal(std::string("cannot read the current directory: ") + std::strerror(errno));
    cwd = buf;
  }
  std::vector<std::string> base_env;
  for (char **e = environ; e && *e; ++e) base_env.emplace_back(*e);
  const std::string job_id = make_job_id();
  // The ranks' PATH (after -x) decides where the program is found, as execvp in a rank would.
  const auto env0 = rank_environment(base_env, o.exports, 0, np, 0, np, 0, 1, job_id);
  const ResolvedProgram prog = resolve_program(o.program, env_value(env0, "PATH"), cwd);
  if (prog.path.empty()) return usage_error(prog.error);

  if (!o.wdir.empty()) {
    struct stat st {};
    if (::stat(o.wdir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return usage_error("--wdir: '" + o.wdir + "' is not a directory");
    if (::access(o.wdir.c_str(), X_OK) != 0) return usage_error("--wdir: cannot enter '" + o.wdir + "'");
  }

  topology::BindingPlan bindings;
  std::error_code ec;
  std::string why;
  if (int rc = plan_bindings(o, bindings)) return rc;

  OutputConfig ocfg;
  ocfg.tag = o.tag_output;
  ocfg.timestamp = o.timestamp_output;
  ocfg.dir = o.output_dir;
  ocfg.merge_stderr = o.merge_stderr;
  auto output = OutputForwarder::create(ocfg, np, ec, why);
  if (!output) return usage_error("--output-filename: " + why);

  JobSpec spec;
  spec.job_id = job_id;
  spec.host = host_name();
  spec.program = prog.path;
  spec.argv.push_back(o.program);
  spec.argv.insert(spec.argv.end(), o.args.begin(), o.args.end());
  spec.wdir = o.wdir;
  spec.stdin_rank = o.stdin_rank;
  // A background job must not read the terminal (SIGTTIN would stop camurerun): no stdin then.
  if (::isatty(0) && ::tcgetpgrp(0) != ::getpgrp()) spec.stdin_rank = -1;
  for (int r = 0; r < np; ++r) {
    RankSpec rs;
    rs.rank = r;
    rs.local_rank = r;
    rs.env = rank_environment(base_env, o.exports, r, np, r, np, 0, 1, job_id);
    rs.binding = bindings.ranks[static_cast<std::size_t>(r)];
    spec.ranks.push_back(std::move(rs));
  }
  if (o.report_bindings) {
    std::string lines;
    for (const auto &rs : spec.ranks)
      lines += "camurerun: rank " + std::to_string(rs.rank) + " on host " + spec.host + " " +
               (rs.binding.bound ? "bound to " : "") + topology::describe(rs.binding) + "\n";
    write_all(2, lines);
  }

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
    LocalSpawner spawner(loop, job);
    if (rank_fd_limit) spawner.set_rank_fd_limit(*rank_fd_limit);
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
