// camure-proxy: started by camurerun over ssh on each remote host. Reads the host's part of the
// job from stdin (framed; secrets never on a command line), forks, pins and watches the ranks
// with LocalSpawner, and relays their events as frames on stdout. stdin EOF (ssh channel lost,
// camurerun gone) or a terminating signal -> SIGTERM to the ranks, SIGKILL after the grace
// period, then exit.
#include "launcher/binding_setup.hpp"
#include "launcher/event_loop.hpp"
#include "launcher/frame.hpp"
#include "launcher/janitor.hpp"
#include "launcher/job_spec.hpp"
#include "launcher/local_spawner.hpp"
#include "launcher/multi_spawner.hpp"
#include "launcher/remote_spawner.hpp"
#include "launcher/output_forwarder.hpp"
#include "launcher/shm_cleanup.hpp"
#include "launcher/signals.hpp"
#include "launcher/wireup.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <map>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

namespace {

using namespace camure::launcher;

/// Frames for camurerun are batched: everything one round of the event loop produced goes out
/// in one write, so one ssh packet (and one wake-up of sshd, ssh and camurerun) carries them.
std::string g_pending;
bool g_broken = false; ///< camurerun (or the channel) is gone
constexpr std::size_t kFlushBytes = 64 * 1024;

/// Writes the queued frames (blocking: camurerun's pace bounds our memory).
bool flush_frames() {
  if (!g_pending.empty() && !g_broken && !write_all(1, g_pending)) g_broken = true;
  g_pending.clear();
  return !g_broken;
}

void queue_frame(std::string_view frame) {
  g_pending += frame;
  if (g_pending.size() >= kFlushBytes) flush_frames();
}

bool send_frame(std::string_view frame) {
  queue_frame(frame);
  return flush_frames();
}

[[noreturn]] void die(const std::string &why) {
  send_frame(FrameWriter(FrameType::fatal).str(why).finish());
  ::_exit(1);
}

/// Relays rank events to camurerun.
class Relay final : public RankEvents {
public:
  explicit Relay(Janitor &janitor) : janitor_(janitor) {}
  Spawner *spawner = nullptr;
  void on_started(int rank, pid_t pid) override {
    if (spawner && spawner->is_local(rank)) janitor_.add_group(pid); // not a subtree host's pid
    put(FrameWriter(FrameType::started).u32(u(rank)).u32(u(pid)).finish());
  }
  void on_start_failed(int rank, std::string_view why) override {
    put(FrameWriter(FrameType::start_failed).u32(u(rank)).str(why).finish());
  }
  void on_output(int rank, int stream, std::string_view bytes) override {
    put(FrameWriter(FrameType::output).u32(u(rank)).u32(u(stream)).str(bytes).finish());
  }
  void on_output_closed(int rank, int stream) override {
    put(FrameWriter(FrameType::output_closed).u32(u(rank)).u32(u(stream)).finish());
  }
  void on_control(int rank, std::string_view line) override {
    put(FrameWriter(FrameType::control).u32(u(rank)).str(line).finish());
  }
  void on_host_failed(std::string_view why, const std::vector<int> &ranks) override {
    FrameWriter w(FrameType::host_failed);
    w.str(why).u32(u(static_cast<int>(ranks.size())));
    for (int r : ranks) w.u32(u(r));
    put(w.finish());
  }
  void on_exit(int rank, pid_t pid, int st) override {
    put(FrameWriter(FrameType::exited).u32(u(rank)).u32(u(pid)).u32(static_cast<std::uint32_t>(st)).finish());
  }

private:
  static std::uint32_t u(int v) { return static_cast<std::uint32_t>(v); }
  static void put(const std::string &f) { queue_frame(f); } // flushed once per loop round
  Janitor &janitor_;
};

/// Blocks (bounded) until the job frame arrived.
JobMessage read_job(FrameReader &reader) {
  const auto deadline = EventLoop::Clock::now() + std::chrono::seconds(60);
  for (;;) {
    if (auto f = reader.next()) {
      JobMessage m;
      if (f->type != FrameType::job || !decode_job(f->payload, m)) die("camure-proxy: malformed job description");
      return m;
    }
    if (reader.error()) die("camure-proxy: malformed frame from camurerun");
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - EventLoop::Clock::now());
    if (left.count() <= 0) die("camure-proxy: no job description from camurerun");
    pollfd p{0, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) die("camure-proxy: poll failed");
    char buf[65536];
    const ssize_t n = ::read(0, buf, sizeof buf);
    if (n == 0) ::_exit(1); // camurerun went away before sending the job
    if (n > 0) reader.feed(std::string_view(buf, static_cast<std::size_t>(n)));
  }
}

int run() {
  FrameReader reader;
  const JobMessage m = read_job(reader);
  const std::string host = host_name();

  if (!m.wdir.empty()) {
    if (::chdir(m.wdir.c_str()) != 0)
      die("host " + m.host + ": cannot change to --wdir '" + m.wdir + "': " + std::strerror(errno));
  } else if (!m.fallback_wdir.empty()) {
    [[maybe_unused]] int r = ::chdir(m.fallback_wdir.c_str()); // else stay in the login directory
  }
  struct stat st {};
  if (::stat(m.program.c_str(), &st) != 0)
    die("host " + m.host + ": program '" + m.program + "' not found: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode) || ::access(m.program.c_str(), X_OK) != 0)
    die("host " + m.host + ": program '" + m.program + "' is not executable");

  std::string why;
  std::string addr;
  if (!m.iface.empty()) {
    addr = resolve_iface(m.iface, why);
    if (addr.empty()) die("host " + m.host + ": " + why);
  } else {
    addr = ssh_connection_local_address();
    if (addr.empty()) addr = "127.0.0.1";
  }

  const int local_size = static_cast<int>(m.ranks.size());
  camure::topology::BindingPlan bindings;
  BindingOptions bo{m.map_by, m.bind_to, m.oversubscribe, m.use_hwthreads};
  if (plan_host_bindings(bo, local_size, bindings, why) != 0) die("host " + m.host + ": " + why);

  std::vector<std::string> base;
  for (char **e = environ; e && *e; ++e) base.emplace_back(*e);
  JobSpec spec;
  spec.job_id = m.job_id;
  spec.host = m.host;
  spec.program = m.program;
  spec.argv = m.argv;
  spec.stdin_rank = m.stdin_rank;
  for (std::size_t i = 0; i < m.ranks.size(); ++i) {
    RankSpec rs;
    rs.rank = m.ranks[i].rank;
    rs.local_rank = m.ranks[i].local_rank;
    rs.env = rank_environment(base, m.exports, rs.rank, m.size, rs.local_rank, local_size, m.node_id, m.num_nodes,
                              m.job_id);
    for (const auto &kv : m.extra_env) {
      const auto eq = kv.find('=');
      if (eq != std::string::npos) set_env_var(rs.env, kv.substr(0, eq), kv.substr(eq + 1));
    }
    set_env_var(rs.env, "CAMURE_NODE_ADDR", addr);
    rs.binding = bindings.ranks[i];
    spec.ranks.push_back(std::move(rs));
  }
  if (m.report_bindings) {
    std::string lines;
    for (const auto &rs : spec.ranks)
      lines += "camurerun: rank " + std::to_string(rs.rank) + " on host " + m.host + " " +
               (rs.binding.bound ? "bound to " : "") + camure::topology::describe(rs.binding) + "\n";
    send_frame(FrameWriter(FrameType::info).str(lines).finish());
  }

  std::error_code ec;
  Janitor janitor = Janitor::start(m.job_id, ec);
  if (ec) die("host " + m.host + ": cannot start the cleanup process: " + ec.message());
  int code = 0;
  {
    SignalPipe signals({SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT}, ec);
    if (ec) die("host " + m.host + ": cannot install signal handlers: " + ec.message());
    EventLoop loop;
    Relay relay(janitor);
    // This host's ranks, plus the hosts of our subtree (tree launch), each through its agent.
    MultiSpawner spawner(m.size);
    relay.spawner = &spawner;
    spawner.add(std::make_unique<LocalSpawner>(loop, relay), spec);
    for (const auto &child : m.subtree) {
      FrameReader rd;
      rd.feed(child);
      auto f = rd.next();
      RemoteLaunch rl;
      if (!f || f->type != FrameType::job || !decode_job(f->payload, rl.job))
        die("camure-proxy: malformed subtree description");
      rl.host = rl.job.host;
      rl.agent = m.agent;
      rl.proxy = m.proxy;
      rl.launch_timeout = std::chrono::milliseconds(m.launch_timeout_ms);
      JobSpec part;
      for (int r : subtree_ranks(rl.job)) part.ranks.push_back(RankSpec{r, 0, {}, {}});
      spawner.add(std::make_unique<RemoteSpawner>(loop, relay, std::move(rl)), std::move(part));
    }
    const auto grace = std::chrono::milliseconds(m.grace_ms);
    bool tearing_down = false;
    auto teardown = [&] {
      if (tearing_down) return;
      tearing_down = true;
      spawner.signal_all(SIGTERM);
      loop.add_timer(EventLoop::Clock::now() + grace, [&] { spawner.signal_all(SIGKILL); });
    };
    if (spawner.launch(spec, why)) {
      send_frame(FrameWriter(FrameType::fatal).str("host " + m.host + ": " + why).finish());
      spawner.signal_all(SIGKILL);
      code = 1;
    } else {
      send_frame(FrameWriter(FrameType::ready).str(addr).finish());
    }

    // stdin to one rank: bytes from camurerun, written when the rank's pipe has room. Every
    // byte passed on (or dropped: the rank is gone or closed its stdin) is acknowledged;
    // camurerun sends no more than a window ahead of the acknowledgements, so in_buf stays
    // bounded however slowly the rank reads, while signals and control replies flow on.
    std::string in_buf;
    bool in_close = false;
    int in_rank = -1;
    auto ack_stdin = [&](std::size_t n) {
      if (n > 0 && in_rank >= 0)
        queue_frame(FrameWriter(FrameType::stdin_ack).u32(static_cast<std::uint32_t>(in_rank))
                        .u32(static_cast<std::uint32_t>(n)).finish());
    };
    std::function<void()> pump_stdin;
    pump_stdin = [&] {
      const int fd = in_rank >= 0 ? spawner.stdin_sink(in_rank) : -1;
      if (fd < 0) {
        ack_stdin(in_buf.size());
        in_buf.clear();
        return;
      }
      std::size_t passed = 0;
      while (!in_buf.empty()) {
        const ssize_t n = ::write(fd, in_buf.data(), in_buf.size());
        if (n > 0) {
          in_buf.erase(0, static_cast<std::size_t>(n));
          passed += static_cast<std::size_t>(n);
          continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        passed += in_buf.size();
        in_buf.clear(); // the rank closed its stdin
      }
      ack_stdin(passed);
      if (in_buf.empty()) {
        if (loop.watching(fd)) loop.unwatch(fd);
        if (in_close) spawner.close_stdin(in_rank);
      } else if (!loop.watching(fd)) {
        loop.watch(fd, POLLOUT, [&](short) { pump_stdin(); });
      }
    };

    auto handle = [&](const Frame &f) {
      FrameParser p(f.payload);
      switch (f.type) {
      case FrameType::signal: {
        const int sig = static_cast<int>(p.u32());
        if (p.ok() && sig > 0 && sig < 65) spawner.signal_all(sig);
        break;
      }
      case FrameType::stdin_data: {
        const int r = static_cast<int>(p.u32());
        std::string bytes = p.str();
        if (!p.ok()) break;
        in_rank = r;
        in_buf += bytes;
        pump_stdin();
        break;
      }
      case FrameType::stdin_close: {
        in_rank = static_cast<int>(p.u32());
        in_close = true;
        pump_stdin();
        break;
      }
      case FrameType::control_reply: {
        const int r = static_cast<int>(p.u32());
        const std::string line = p.str();
        if (p.ok()) spawner.send_control(r, line);
        break;
      }
      default: break;
      }
    };

    const int fl = ::fcntl(0, F_GETFL);
    ::fcntl(0, F_SETFL, fl | O_NONBLOCK);
    bool channel_open = true;
    auto on_channel = [&](short) {
      char buf[65536];
      for (int round = 0; round < 16; ++round) {
        const ssize_t n = ::read(0, buf, sizeof buf);
        if (n > 0) {
          reader.feed(std::string_view(buf, static_cast<std::size_t>(n)));
          continue;
        }
        if (n < 0 && (errno == EINTR)) continue;
        if (n < 0 && errno == EAGAIN) break;
        // EOF or error: camurerun or the ssh channel is gone.
        loop.unwatch(0);
        channel_open = false;
        teardown();
        break;
      }
      while (auto f = reader.next()) handle(*f);
      if (reader.error() && channel_open) {
        loop.unwatch(0);
        channel_open = false;
        teardown();
      }
    };
    loop.watch(0, POLLIN, on_channel);
    while (auto f = reader.next()) handle(*f); // frames that came with the job frame
    loop.watch(signals.fd(), POLLIN, [&](short) {
      while (int sig = signals.next())
        if (sig != SIGCHLD) teardown();
    });
    while (spawner.running() > 0) {
      loop.run_once(std::chrono::milliseconds(1000));
      spawner.reap();
      if (!flush_frames()) teardown(); // camurerun is gone: tear down
    }
    flush_frames();
  }
  janitor.finish();
  remove_job_segments(m.job_id);
  // Our part is over and cleaned up: camurerun need not wait for the ssh session to close.
  send_frame(FrameWriter(FrameType::finished).finish());
  return code;
}

} // namespace

int main() {
  ::signal(SIGPIPE, SIG_IGN);
  // Our parent (sshd's session, or a parent proxy's agent) gone -> SIGTERM -> teardown.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  // fds 0-2 must exist: frames go to 1; stray writes to 2 go to ssh's stderr.
  try {
    return run();
  } catch (const std::exception &e) {
    die(std::string("camure-proxy: internal error: ") + e.what());
  }
}
