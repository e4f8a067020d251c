// camurerun option parsing: split argv at the program, then Boost.Program_options on our part.
#include "launcher/options.hpp"

#include <boost/program_options.hpp>

#include <charconv>
#include <cmath>
#include <sstream>

namespace po = boost::program_options;

namespace camure::launcher {

namespace {

struct ExtraText {
  std::string npernode, launch_timeout, mcast_ttl, fanout;
};

po::options_description make_description(Options &o, std::string &np_text, std::string &timeout_text,
                                         std::string &grace_text, std::string &stdin_text, ExtraText &x) {
  po::options_description d("camurerun options (single-dash long forms such as -np also work)", 100, 50);
  // clang-format off
  d.add_options()
    ("help,h", "print this help and exit")
    ("version,V", "print the version and exit")
    ("np,n", po::value(&np_text)->value_name("N"), "number of ranks to start")
    ("map-by", po::value(&o.map_by)->value_name("OBJ"),
       "spread ranks round robin over: slot, core, hwthread, numa, package, socket, node (default core);"
       " ppr:N:node puts N ranks on each host (as -N N)")
    ("bind-to", po::value(&o.bind_to)->value_name("OBJ"),
       "bind each rank to: none, core, hwthread, numa, package, socket (default: core while ranks fit"
       " on the cores, none when oversubscribed); ':overload-allowed' may follow")
    ("oversubscribe", po::bool_switch(&o.oversubscribe), "allow more ranks bound to an object than it has cpus")
    ("use-hwthread-cpus", po::bool_switch(&o.use_hwthreads), "count hardware threads, not cores, as slots")
    ("report-bindings", po::bool_switch(&o.report_bindings), "print each rank's binding on stderr")
    ("x,x", po::value(&o.exports)->value_name("VAR[=value]"), "export VAR (with this value) to the ranks")
    ("tag-output", po::bool_switch(&o.tag_output), "prefix every output line with [rank]")
    ("timestamp-output", po::bool_switch(&o.timestamp_output), "prefix every output line with a UTC timestamp")
    ("merge-stderr-to-stdout", po::bool_switch(&o.merge_stderr), "send the ranks' stderr lines to stdout")
    ("output-filename", po::value(&o.output_dir)->value_name("DIR"),
       "write rank r's output to DIR/1/rank.r/stdout and .../stderr instead of ours")
    ("wdir", po::value(&o.wdir)->value_name("DIR"), "run the ranks in DIR")
    ("stdin", po::value(&stdin_text)->value_name("RANK|none"), "which rank gets camurerun's stdin (default 0)")
    ("timeout", po::value(&timeout_text)->value_name("SECONDS"), "kill the job after SECONDS (exit status 124)")
    ("kill-grace", po::value(&grace_text)->value_name("SECONDS"),
       "time between SIGTERM and SIGKILL when the job is torn down (default 3)")
    ("keep-going", po::bool_switch(&o.keep_going), "a failing rank does not end the job")
    ("allow-run-as-root", po::bool_switch(), "accepted for mpirun compatibility (camurerun runs as root anyway)")
    ("host,H", po::value(&o.host_lists)->value_name("H[:N],..."),
       "run on these hosts (N slots each, default 1); this host runs its ranks without ssh")
    ("hostfile", po::value(&o.hostfile)->value_name("FILE"),
       "hosts from FILE: 'name slots=N [max_slots=M]' or 'name:N' lines, # comments")
    ("machinefile", po::value(&o.hostfile)->value_name("FILE"), "same as --hostfile")
    ("npernode,N", po::value(&x.npernode)->value_name("N"), "N ranks on each host")
    ("launch-agent", po::value(&o.launch_agent)->value_name("CMD"), "command that reaches a host (default ssh)")
    ("ssh-opts", po::value(&o.ssh_opts)->value_name("OPTS"),
       "options for the launch agent, e.g. \"-F cfg\" (default $CAMURE_SSH_OPTS)")
    ("proxy", po::value(&o.proxy)->value_name("PATH"),
       "camure-proxy's path on the remote hosts (default: next to camurerun)")
    ("launch-timeout", po::value(&x.launch_timeout)->value_name("SECONDS"),
       "a host whose proxy has not started its ranks by then fails the job (default 30)")
    ("launch-fanout", po::value(&x.fanout)->value_name("N"),
       "with more remote hosts than N, proxies start the others in a tree of fan-out N (default 32)")
    ("iface", po::value(&o.iface)->value_name("IP|NAME"), "address or interface for traffic between hosts")
    ("mcast-addr", po::value(&o.mcast_addr)->value_name("GROUP:PORT"),
       "multicast group and port of the job (default: chosen per job in 239.77.0.0/16)")
    ("mcast-ttl", po::value(&x.mcast_ttl)->value_name("TTL"), "multicast TTL (default 1)");
  // clang-format on
  return d;
}

bool starts_with(const std::string &s, const char *p) { return s.rfind(p, 0) == 0; }

/// Does option token `tok` (starting with '-') consume the following argument as its value?
bool takes_next(const po::options_description &d, const std::string &tok) {
  std::string body = tok.substr(starts_with(tok, "--") ? 2 : 1);
  if (body.find('=') != std::string::npos) return false;
  const po::option_description *od = nullptr;
  if (!starts_with(tok, "--") && tok.size() == 2) {
    od = d.find_nothrow(tok, false, false, false); // short option "-n"
  } else {
    od = d.find_nothrow(body, false, false, false); // long, also single-dash "-np"
    if (!od && !starts_with(tok, "--")) {
      // "-n4": short option with the value attached
      return false;
    }
  }
  return od && od->semantic()->max_tokens() > 0;
}

bool parse_positive(const std::string &text, unsigned &out) {
  if (text.empty() || text.size() > 9) return false;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && p == text.data() + text.size() && out > 0;
}

bool parse_seconds(const std::string &text, double &out) {
  std::istringstream in(text);
  in >> out;
  return in && in.eof() && std::isfinite(out) && out > 0 && out < 1e9;
}

bool valid_env_name(const std::string &name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name)
    if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  return true;
}

bool known_object(const std::string &s, bool allow_none, bool allow_node) {
  for (const char *k : {"core", "hwthread", "numa", "package", "socket"})
    if (s == k) return true;
  return (allow_none && s == "none") || (allow_node && (s == "node" || s == "slot"));
}

} // namespace

ParseResult parse_command_line(int argc, const char *const *argv) {
  ParseResult r;
  Options &o = r.options;
  std::string np_text, timeout_text, grace_text, stdin_text;
  ExtraText x;
  po::options_description desc = make_description(o, np_text, timeout_text, grace_text, stdin_text, x);

  // Find where our options end: the program is the first argument that is neither an option
  // nor the value of one.
  std::vector<std::string> ours;
  int i = 1;
  for (; i < argc; ++i) {
    std::string tok = argv[i];
    if (tok == "--") {
      ++i;
      break;
    }
    if (tok.size() < 2 || tok[0] != '-') break;
    ours.push_back(tok);
    if (takes_next(desc, tok) && i + 1 < argc) ours.push_back(argv[++i]);
  }
  if (i < argc) {
    o.program = argv[i];
    o.args.assign(argv + i + 1, argv + argc);
  }

  po::variables_map vm;
  try {
    auto style = po::command_line_style::unix_style | po::command_line_style::allow_long_disguise;
    style &= ~po::command_line_style::allow_guessing;
    po::store(po::command_line_parser(ours).options(desc).style(style).run(), vm);
    po::notify(vm);
  } catch (const po::error &e) {
    r.error = e.what();
    return r;
  }
  if (vm.count("help")) {
    r.outcome = ParseOutcome::help;
    return r;
  }
  if (vm.count("version")) {
    r.outcome = ParseOutcome::version;
    return r;
  }
  auto fail = [&](std::string why) {
    r.error = std::move(why);
    return r;
  };
  if (vm.count("hostfile") && vm.count("machinefile")) return fail("--hostfile and --machinefile both given");
  if (vm.count("npernode") && !parse_positive(x.npernode, o.npernode))
    return fail("-N: '" + x.npernode + "' is not a positive number of ranks per host");
  if (starts_with(o.map_by, "ppr:")) {
    // Open MPI's "processes per resource": ppr:N:node is N ranks on each host (-N N).
    const std::string spec = o.map_by.substr(4);
    const auto colon = spec.find(':');
    unsigned n = 0;
    if (colon == std::string::npos || !parse_positive(spec.substr(0, colon), n))
      return fail("--map-by: '" + o.map_by + "' is not ppr:N:node");
    const std::string object = spec.substr(colon + 1);
    if (object != "node")
      return fail("--map-by " + o.map_by + ": only ppr:N:node (N ranks per host) is supported; for ranks per " +
                  object + " use --map-by " + object + " with -N or -n");
    if (o.npernode && o.npernode != n)
      return fail("--map-by " + o.map_by + " and -N " + std::to_string(o.npernode) + " disagree");
    o.npernode = n;
    o.map_by = "core";
  }
  if (vm.count("np") == 0 && !o.multi_host() && o.npernode == 0)
    return fail("the number of ranks is missing: use -n N (or give hosts with -H or --hostfile)");
  if (vm.count("np") && !parse_positive(np_text, o.np)) return fail("-n: '" + np_text + "' is not a positive number of ranks");
  if (vm.count("launch-timeout") && !parse_seconds(x.launch_timeout, o.launch_timeout_s))
    return fail("--launch-timeout: '" + x.launch_timeout + "' is not a positive number of seconds");
  if (vm.count("launch-fanout") && (!parse_positive(x.fanout, o.launch_fanout) || o.launch_fanout > 4096))
    return fail("--launch-fanout: '" + x.fanout + "' is not a number from 1 to 4096");
  if (vm.count("mcast-ttl")) {
    if (x.mcast_ttl == "0") o.mcast_ttl = 0;
    else if (!parse_positive(x.mcast_ttl, o.mcast_ttl) || o.mcast_ttl > 255)
      return fail("--mcast-ttl: '" + x.mcast_ttl + "' is not a TTL from 0 to 255");
  }
  if (vm.count("launch-agent") && o.launch_agent.find_first_not_of(" \t") == std::string::npos)
    return fail("--launch-agent: empty command");
  if (vm.count("hostfile") && o.hostfile.empty()) return fail("--hostfile: empty file name");
  if (!known_object(o.map_by, false, true))
    return fail("--map-by: unknown object '" + o.map_by + "' (slot, core, hwthread, numa, package, socket, node)");
  if (!o.bind_to.empty()) {
    std::string base = o.bind_to;
    if (auto colon = base.find(':'); colon != std::string::npos) {
      std::string qual = base.substr(colon + 1);
      base.resize(colon);
      if (qual == "overload-allowed")
        o.oversubscribe = true;
      else
        return fail("--bind-to: unknown qualifier '" + qual + "' (overload-allowed)");
    }
    if (!known_object(base, true, false))
      return fail("--bind-to: unknown object '" + o.bind_to + "' (none, core, hwthread, numa, package, socket)");
    o.bind_to = base;
  }
  for (const auto &ex : o.exports) {
    const std::string name = ex.substr(0, ex.find('='));
    if (!valid_env_name(name)) return fail("-x: '" + ex + "' is not VAR or VAR=value");
  }
  if (vm.count("timeout") && !parse_seconds(timeout_text, o.timeout_s))
    return fail("--timeout: '" + timeout_text + "' is not a positive number of seconds");
  if (vm.count("kill-grace") && !parse_seconds(grace_text, o.grace_s))
    return fail("--kill-grace: '" + grace_text + "' is not a positive number of seconds");
  if (vm.count("stdin")) {
    unsigned rank = 0;
    if (stdin_text == "none")
      o.stdin_rank = -1;
    else if (stdin_text == "0")
      o.stdin_rank = 0;
    else if (parse_positive(stdin_text, rank) && (rank < o.np || (o.np == 0 && (o.multi_host() || o.npernode))))
      o.stdin_rank = static_cast<int>(rank);
    else
      return fail("--stdin: '" + stdin_text + "' is not none or a rank below " + std::to_string(o.np));
  }
  if (vm.count("output-filename") && o.output_dir.empty()) return fail("--output-filename: empty directory");
  if (vm.count("wdir") && o.wdir.empty()) return fail("--wdir: empty directory");
  if (o.program.empty()) return fail("no program given: camurerun -n N [options] program [args]");
  r.outcome = ParseOutcome::run;
  return r;
}

std::string usage_text() {
  Options o;
  std::string a, b, c, d;
  ExtraText x;
  std::ostringstream out;
  out << "Usage: camurerun -n N [options] program [args...]\n"
         "       camurerun [-n N] -H host[:slots],... | --hostfile FILE [options] program [args...]\n"
         "Starts N ranks of program on this host, or on several hosts (ssh + camure-proxy).\n"
         "Options end at the program name; everything after it is passed to the program untouched.\n\n"
      << make_description(o, a, b, c, d, x)
      << "\nExit status: 0 if every rank exits 0; else the lowest failing rank's code (128+signal);\n"
         "the code given to camure_abort; 124 on --timeout; 128+signal when camurerun is interrupted;\n"
         "1 when a host fails (unreachable, login refused, program missing, connection lost);\n"
         "2 for bad usage.\n";
  return out.str();
}

} // namespace camure::launcher
