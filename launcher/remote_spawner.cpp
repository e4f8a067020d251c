// RemoteSpawner: ssh + camure-proxy, frames both ways, failure detection without hangs.
#include "launcher/remote_spawner.hpp"

#include "launcher/output_forwarder.hpp"
#include "launcher/signals.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace camure::launcher {

namespace {
/// Bytes queued for the agent above which forwarded stdin waits (bounded memory).
constexpr std::size_t kMaxPendingStdin = 1u << 20;
/// Stdin bytes sent but not yet acknowledged by the proxy above which forwarding waits: what
/// the proxy may have to hold for a rank that reads slowly (or not at all).
constexpr std::size_t kStdinWindow = 1u << 20;

bool set_nonblock(int fd) {
  const int fl = ::fcntl(fd, F_GETFL);
  return fl >= 0 && ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

/// Quotes a word for the remote shell ssh runs the command with.
std::string shell_quote(const std::string &s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string last_line(const std::string &text) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  const auto nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}
} // namespace

RemoteSpawner::RemoteSpawner(EventLoop &loop, RankEvents &events, RemoteLaunch launch)
    : loop_(loop), events_(events), l_(std::move(launch)) {}

RemoteSpawner::~RemoteSpawner() {
  // After a normal end the proxy cleans up its host, says `finished` and exits; the ssh session
  // would then take a few more round trips to close. We need not wait for those: once the
  // proxy has finished (or the host failed) the agent is killed at once. An older proxy that
  // never says `finished`: wait (bounded) for the agent to exit by itself, as before.
  if (pid_ > 0 && !exited_ && !failed_) await_finished(EventLoop::Clock::now() + std::chrono::seconds(3));
  for (int *fd : {&to_, &from_, &err_, &stdin_rd_, &stdin_wr_}) {
    if (*fd >= 0) {
      loop_.unwatch(*fd);
      ::close(*fd);
      *fd = -1;
    }
  }
  if (pid_ > 0 && !exited_) {
    int st = 0;
    const bool done = failed_ || finished_;
    const auto deadline = EventLoop::Clock::now() + std::chrono::seconds(done ? 0 : 3);
    while (::waitpid(pid_, &st, WNOHANG) == 0) {
      if (EventLoop::Clock::now() >= deadline) {
        ::kill(-pid_, SIGKILL);
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &st, 0);
        break;
      }
      ::poll(nullptr, 0, 2); // bounded wait for a child's exit (no fd to wait on)
    }
  }
  for (auto id : {launch_timer_, kill_timer_})
    if (id) loop_.cancel_timer(*id);
}

void RemoteSpawner::await_finished(EventLoop::Clock::time_point deadline) {
  while (from_ >= 0 && !finished_ && !failed_) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - EventLoop::Clock::now()).count();
    if (left <= 0) return;
    pollfd p{from_, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno != EINTR) return;
    if (n > 0) on_stdout(); // frames (every rank is reported: only `finished` matters), or EOF
  }
}

std::error_code RemoteSpawner::launch(const JobSpec &, std::string &why) {
  for (int r : subtree_ranks(l_.job)) live_.insert(r);
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    const int e = errno;
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]})
      if (fd >= 0) ::close(fd);
    why = "cannot set up the connection to host " + l_.host + ": " + std::strerror(e);
    return {e, std::system_category()};
  }
  std::vector<std::string> argv = l_.agent;
  argv.push_back(l_.host);
  argv.push_back(shell_quote(l_.proxy));
  std::vector<char *> cargv;
  for (auto &a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const pid_t parent = ::getpid();

  sigset_t all, old;
  sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, &old);
  const pid_t pid = ::fork();
  if (pid == 0) {
    // The agent dies with camurerun; its own process group keeps a terminal's Ctrl-C to us.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::setpgid(0, 0);
    reset_signals_for_exec();
    if (::dup2(in[0], 0) < 0 || ::dup2(out[1], 1) < 0 || ::dup2(err[1], 2) < 0) ::_exit(127);
    ::execvp(cargv[0], cargv.data());
    const std::string msg = "cannot execute launch agent '" + argv[0] + "': " + std::strerror(errno) + "\n";
    [[maybe_unused]] ssize_t w = ::write(2, msg.data(), msg.size());
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (pid < 0) {
    for (int fd : {in[1], out[0], err[0]}) ::close(fd);
    why = "cannot start the launch agent for host " + l_.host + ": fork: " + std::strerror(fork_errno);
    return {fork_errno, std::system_category()};
  }
  ::setpgid(pid, pid);
  pid_ = pid;
  to_ = in[1];
  from_ = out[0];
  err_ = err[0];
  for (int fd : {to_, from_, err_}) set_nonblock(fd);
  loop_.watch(from_, POLLIN, [this](short) { on_stdout(); });
  loop_.watch(err_, POLLIN, [this](short) { on_stderr(); });
  send(encode_job(l_.job));

  // The stdin rank on this host: StdinForwarder writes into a pipe, we frame what it wrote.
  stdin_rank_ = live_.count(l_.job.stdin_rank) ? l_.job.stdin_rank : -1;
  if (stdin_rank_ >= 0) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0) {
      stdin_rd_ = p[0];
      stdin_wr_ = p[1];
      loop_.watch(stdin_rd_, POLLIN, [this](short) { on_stdin_pipe(); });
    }
  }
  launch_timer_ = loop_.add_timer(EventLoop::Clock::now() + l_.launch_timeout, [this] {
    launch_timer_.reset();
    if (ready_ || failed_) return;
    const auto secs = std::chrono::duration_cast<std::chrono::duration<double>>(l_.launch_timeout).count();
    std::string tail = last_line(err_tail_);
    fail("host " + l_.host + ": no answer from camure-proxy within " + std::to_string(static_cast<int>(secs + 0.5)) +
         " s (--launch-timeout)" + (tail.empty() ? "" : ": " + tail));
  });
  return {};
}

void RemoteSpawner::send(std::string frame) {
  if (to_ < 0) return;
  out_ += frame;
  flush();
}

void RemoteSpawner::flush() {
  while (to_ >= 0 && !out_.empty()) {
    const ssize_t n = ::write(to_, out_.data(), out_.size());
    if (n > 0) {
      out_.erase(0, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      loop_.watch(to_, POLLOUT, [this](short) { flush(); });
      return;
    }
    // The agent's stdin is gone: the channel ended; its stdout EOF / exit tells us why.
    loop_.unwatch(to_);
    ::close(to_);
    to_ = -1;
    out_.clear();
    return;
  }
  if (to_ >= 0 && loop_.watching(to_)) loop_.unwatch(to_);
  resume_stdin();
}

void RemoteSpawner::resume_stdin() {
  if (stdin_rd_ >= 0 && out_.size() <= kMaxPendingStdin && stdin_unacked_ < kStdinWindow)
    loop_.set_events(stdin_rd_, POLLIN);
}

void RemoteSpawner::on_stdin_pipe() {
  if (out_.size() > kMaxPendingStdin || stdin_unacked_ >= kStdinWindow) {
    // The channel is behind, or the rank has not taken what we sent: pause until flush()
    // catches up or the proxy acknowledges.
    loop_.set_events(stdin_rd_, 0);
    return;
  }
  char buf[65536];
  const ssize_t n = ::read(stdin_rd_, buf, sizeof buf);
  if (n > 0) {
    stdin_unacked_ += static_cast<std::size_t>(n);
    send(FrameWriter(FrameType::stdin_data).u32(static_cast<std::uint32_t>(stdin_rank_))
             .str(std::string_view(buf, static_cast<std::size_t>(n))).finish());
    return;
  }
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  loop_.unwatch(stdin_rd_);
  ::close(stdin_rd_);
  stdin_rd_ = -1;
  send(FrameWriter(FrameType::stdin_close).u32(static_cast<std::uint32_t>(stdin_rank_)).finish());
}

int RemoteSpawner::stdin_sink(int rank) { return rank == stdin_rank_ && live_.count(rank) ? stdin_wr_ : -1; }

void RemoteSpawner::close_stdin(int rank) {
  if (rank != stdin_rank_ || stdin_wr_ < 0) return;
  ::close(stdin_wr_); // the read side sees EOF after the buffered bytes and sends stdin_close
  stdin_wr_ = -1;
}

void RemoteSpawner::send_control(int rank, std::string_view line) {
  send(FrameWriter(FrameType::control_reply).u32(static_cast<std::uint32_t>(rank)).str(line).finish());
}

void RemoteSpawner::signal_all(int sig) {
  if (live_.empty() || failed_) return;
  send(FrameWriter(FrameType::signal).u32(static_cast<std::uint32_t>(sig)).finish());
  if (sig == SIGKILL && !kill_timer_) {
    // The proxy SIGKILLs at once; if it cannot even do that (host hung, channel stuck), give
    // up on the host after a bound so camurerun never hangs.
    kill_timer_ = loop_.add_timer(EventLoop::Clock::now() + std::chrono::seconds(5), [this] {
      kill_timer_.reset();
      if (!live_.empty() && !failed_) fail("host " + l_.host + ": camure-proxy did not report its ranks' ends");
    });
  }
}

void RemoteSpawner::on_stderr() {
  char buf[4096];
  for (int round = 0; err_ >= 0 && round < 64; ++round) {
    const ssize_t n = ::read(err_, buf, sizeof buf);
    if (n > 0) {
      err_tail_.append(buf, static_cast<std::size_t>(n));
      if (err_tail_.size() > 4096) err_tail_.erase(0, err_tail_.size() - 4096);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    loop_.unwatch(err_);
    ::close(err_);
    err_ = -1;
  }
}

void RemoteSpawner::on_stdout() {
  char buf[65536];
  for (int round = 0; round < 16 && from_ >= 0; ++round) {
    const ssize_t n = ::read(from_, buf, sizeof buf);
    if (n > 0) {
      reader_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
      while (auto f = reader_.next()) handle(*f);
      if (reader_.error()) {
        fail("host " + l_.host + ": garbled data from camure-proxy (is '" + l_.proxy + "' camure-proxy?)");
        return;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    loop_.unwatch(from_);
    ::close(from_);
    from_ = -1;
    eof_ = true;
    channel_ended();
    return;
  }
}

void RemoteSpawner::handle(const Frame &f) {
  FrameParser p(f.payload);
  switch (f.type) {
  case FrameType::started: {
    const int rank = static_cast<int>(p.u32());
    const auto pid = static_cast<pid_t>(p.u32());
    if (p.ok() && live_.count(rank)) events_.on_started(rank, pid);
    break;
  }
  case FrameType::start_failed: {
    const int rank = static_cast<int>(p.u32());
    const std::string why = p.str();
    if (p.ok() && live_.count(rank)) events_.on_start_failed(rank, why);
    break;
  }
  case FrameType::output: {
    const int rank = static_cast<int>(p.u32());
    const int stream = static_cast<int>(p.u32());
    const std::string bytes = p.str();
    if (p.ok() && live_.count(rank) && (stream == 1 || stream == 2)) events_.on_output(rank, stream, bytes);
    break;
  }
  case FrameType::output_closed: {
    const int rank = static_cast<int>(p.u32());
    const int stream = static_cast<int>(p.u32());
    if (p.ok() && live_.count(rank) && (stream == 1 || stream == 2)) events_.on_output_closed(rank, stream);
    break;
  }
  case FrameType::control: {
    const int rank = static_cast<int>(p.u32());
    const std::string line = p.str();
    if (p.ok() && live_.count(rank)) events_.on_control(rank, line);
    break;
  }
  case FrameType::exited: {
    const int rank = static_cast<int>(p.u32());
    const auto pid = static_cast<pid_t>(p.u32());
    const int st = static_cast<int>(p.u32());
    if (p.ok() && live_.erase(rank)) {
      if (rank == stdin_rank_ && stdin_rd_ >= 0) {
        loop_.unwatch(stdin_rd_);
        ::close(stdin_rd_);
        stdin_rd_ = -1;
      }
      events_.on_exit(rank, pid, st);
    }
    break;
  }
  case FrameType::fatal: {
    const std::string why = p.str();
    if (p.ok()) fatal_ = why;
    break;
  }
  case FrameType::info: {
    const std::string lines = p.str();
    if (p.ok() && !lines.empty()) write_all(2, lines);
    break;
  }
  case FrameType::host_failed: {
    // A host below the proxy failed: its ranks are gone, the rest of the subtree goes on.
    const std::string why = p.str();
    const std::uint32_t n = p.u32();
    std::vector<int> lost;
    for (std::uint32_t i = 0; i < n && p.ok(); ++i) {
      const int r = static_cast<int>(p.u32());
      if (live_.erase(r)) lost.push_back(r);
    }
    if (p.ok()) events_.on_host_failed(why, lost);
    break;
  }
  case FrameType::finished: finished_ = true; break;
  case FrameType::stdin_ack: {
    p.u32(); // rank: there is one stdin rank per host
    const std::size_t n = p.u32();
    if (!p.ok()) break;
    stdin_unacked_ = n < stdin_unacked_ ? stdin_unacked_ - n : 0;
    resume_stdin();
    break;
  }
  case FrameType::ready: {
    ready_ = true;
    if (launch_timer_) {
      loop_.cancel_timer(*launch_timer_);
      launch_timer_.reset();
    }
    break;
  }
  default: break;
  }
}

void RemoteSpawner::reap() {
  if (pid_ <= 0 || exited_) return;
  int st = 0;
  if (::waitpid(pid_, &st, WNOHANG) != pid_) return;
  exited_ = true;
  agent_status_ = st;
  // Read what is left of its output before judging (stderr first: it says why).
  if (err_ >= 0) on_stderr();
  if (from_ >= 0) on_stdout();
  channel_ended();
}

void RemoteSpawner::channel_ended() {
  if (failed_ || live_.empty()) return;
  if (!eof_ && !exited_) return;
  if (!exited_ && !eof_) return;
  // stdout ended (or the agent exited) with ranks unreported.
  if (!exited_) {
    // Wait for the agent's exit status (SIGCHLD) unless it hangs: bounded.
    if (!kill_timer_) {
      kill_timer_ = loop_.add_timer(EventLoop::Clock::now() + std::chrono::seconds(2), [this] {
        kill_timer_.reset();
        if (!failed_ && !live_.empty()) {
          ::kill(-pid_, SIGKILL);
          fail("host " + l_.host + ": lost the connection to camure-proxy" +
               (last_line(err_tail_).empty() ? "" : ": " + last_line(err_tail_)));
        }
      });
    }
    return;
  }
  if (err_ >= 0) on_stderr();
  std::string why;
  const std::string tail = last_line(err_tail_);
  if (!fatal_.empty()) {
    why = fatal_;
  } else if (!ready_) {
    std::string how = tail;
    if (how.empty())
      how = WIFEXITED(agent_status_) ? "launch agent exited with code " + std::to_string(WEXITSTATUS(agent_status_))
                                     : "launch agent killed by signal " + std::to_string(WTERMSIG(agent_status_));
    why = "host " + l_.host + ": cannot start camure-proxy: " + how;
  } else {
    std::string how = tail;
    if (how.empty())
      how = WIFEXITED(agent_status_) ? "channel closed (code " + std::to_string(WEXITSTATUS(agent_status_)) + ")"
                                     : "killed by signal " + std::to_string(WTERMSIG(agent_status_));
    why = "host " + l_.host + ": lost the connection to camure-proxy: " + how;
  }
  fail(why);
}

void RemoteSpawner::fail(const std::string &why) {
  if (failed_) return;
  failed_ = true;
  if (launch_timer_) {
    loop_.cancel_timer(*launch_timer_);
    launch_timer_.reset();
  }
  if (pid_ > 0 && !exited_) ::kill(-pid_, SIGKILL); // closing the channel makes the proxy kill its ranks
  if (to_ >= 0) {
    loop_.unwatch(to_);
    ::close(to_);
    to_ = -1;
  }
  const std::vector<int> lost(live_.begin(), live_.end());
  live_.clear();
  events_.on_host_failed(why, lost);
}

} // namespace camure::launcher
