// Command-line options of camurerun (mpirun-compatible), parsed with Boost.Program_options.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace camure::launcher {

/// Everything camurerun was asked to do. Text values are validated by parse_command_line.
struct Options {
  unsigned np = 0;                     ///< -n/-np; 0 when not given
  std::string map_by = "core";         ///< slot|core|hwthread|numa|package|socket|node
  std::string bind_to;                 ///< none|core|hwthread|numa|package|socket; "" = default
  bool oversubscribe = false;          ///< --oversubscribe (or --bind-to X:overload-allowed)
  bool use_hwthreads = false;          ///< --use-hwthread-cpus
  bool report_bindings = false;        ///< --report-bindings
  std::vector<std::string> exports;    ///< -x VAR[=value], in order
  bool tag_output = false;             ///< --tag-output
  bool timestamp_output = false;       ///< --timestamp-output
  bool merge_stderr = false;           ///< --merge-stderr-to-stdout
  std::string output_dir;              ///< --output-filename DIR ("" = forward to our stdout/stderr)
  std::string wdir;                    ///< --wdir DIR ("" = camurerun's cwd)
  int stdin_rank = 0;                  ///< --stdin RANK|none: who gets our stdin (-1 = nobody)
  double timeout_s = 0;                ///< --timeout SECONDS (0 = none)
  double grace_s = 3;                  ///< --kill-grace SECONDS between SIGTERM and SIGKILL
  bool keep_going = false;             ///< --keep-going: a failing rank does not end the job
  // Several hosts (issue 5)
  std::vector<std::string> host_lists; ///< -H/--host a,b:2 (each occurrence)
  std::string hostfile;                ///< --hostfile/--machinefile FILE
  unsigned npernode = 0;               ///< -N/--npernode (0 = not given)
  std::string launch_agent = "ssh";    ///< --launch-agent (command + its own options)
  std::string ssh_opts;                ///< --ssh-opts, else $CAMURE_SSH_OPTS
  std::string proxy;                   ///< --proxy PATH ("" = <dir of camurerun>/camure-proxy)
  double launch_timeout_s = 30;        ///< --launch-timeout SECONDS
  unsigned launch_fanout = 32;         ///< --launch-fanout N: hosts camurerun (a proxy) starts itself
  std::string iface;                   ///< --iface IP|NAME
  std::string mcast_addr;              ///< --mcast-addr group:port ("" = chosen per job)
  unsigned mcast_ttl = 1;              ///< --mcast-ttl
  bool multi_host() const { return !host_lists.empty() || !hostfile.empty(); }
  std::string program;                 ///< the program to run, as given
  std::vector<std::string> args;       ///< its arguments, untouched
};

/// What main should do after parsing.
enum class ParseOutcome { run, help, version, error };

struct ParseResult {
  ParseOutcome outcome = ParseOutcome::error;
  Options options;
  std::string error; ///< one line, without the "camurerun: " prefix, when outcome == error
};

/// Parses argv. Options end at the first argument that is not an option or an option's value
/// (or at "--"); that argument is the program and the rest are its arguments, untouched.
ParseResult parse_command_line(int argc, const char *const *argv);

/// The --help text.
std::string usage_text();

} // namespace camure::launcher
