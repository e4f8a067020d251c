// Job: the event-driven life of a job, from launch to the last reaped rank.
#include "launcher/job.hpp"

#include <charconv>
#include <csignal>
#include <poll.h>
#include <sstream>
#include <unistd.h>

namespace camure::launcher {

namespace {
std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000.0 + 0.5));
}
} // namespace

Job::Job(EventLoop &loop, SignalPipe &signals, OutputForwarder &output, Janitor &janitor, const JobSettings &settings,
         int nranks, std::string host)
    : loop_(loop), signals_(signals), output_(output), janitor_(janitor), settings_(settings),
      policy_(nranks, std::move(host), settings.keep_going) {}

int Job::run(Spawner &spawner, const JobSpec &spec) {
  spawner_ = &spawner;
  loop_.watch(signals_.fd(), POLLIN, [this](short) {
    while (int sig = signals_.next()) on_signal(sig);
  });

  std::string why;
  if (auto ec = spawner.launch(spec, why)) {
    const std::string line = "camurerun: " + why + "\n";
    write_all(2, line);
    spawner.signal_all(SIGKILL);
    while (spawner.running() > 0) {
      spawner.reap();
      if (spawner.running() > 0) loop_.run_once(std::chrono::milliseconds(10));
    }
    return 1;
  }

  stdin_rank_ = spec.stdin_rank;
  if (stdin_rank_ >= 0) {
    stdin_ = std::make_unique<StdinForwarder>(loop_, spawner, 0, stdin_rank_);
    stdin_->start();
  }
  if (settings_.timeout_s > 0) {
    loop_.add_timer(EventLoop::Clock::now() + to_ms(settings_.timeout_s), [this] {
      if (policy_.on_timeout()) teardown(SIGTERM);
    });
  }

  // A signal that arrived before the launch is handled now; then run until every rank ended.
  reap();
  while (spawner.running() > 0) {
    loop_.run_once();
    reap(); // cheap; also covers a SIGCHLD coalesced with another signal
  }
  if (stdin_) stdin_->stop();
  loop_.unwatch(signals_.fd());
  output_.close_all();

  const int code = policy_.exit_code();
  std::string line = policy_.summary();
  if (policy_.cause() == ExitPolicy::Cause::timeout) {
    std::ostringstream secs;
    secs << settings_.timeout_s;
    line = "camurerun: job timed out after " + secs.str() + " s (--timeout); every rank was killed";
  }
  if (code != 0 && !line.empty()) write_all(2, line + "\n");
  return code;
}

void Job::reap() {
  spawner_->reap();
  if (teardown_pending_) {
    teardown_pending_ = false;
    teardown(SIGTERM);
  }
}

void Job::teardown(int sig) {
  policy_.signals_sent();
  spawner_->signal_all(sig);
  if (!grace_timer_) {
    grace_timer_ = loop_.add_timer(EventLoop::Clock::now() + to_ms(settings_.grace_s), [this] {
      killed_ = true;
      policy_.signals_sent();
      spawner_->signal_all(SIGKILL);
    });
  }
}

void Job::on_signal(int sig) {
  switch (sig) {
  case SIGCHLD: reap(); return;
  case SIGUSR1:
  case SIGUSR2: spawner_->signal_all(sig); return; // forwarded, the job goes on
  case SIGTSTP:                                   // Ctrl-Z: stop the ranks, then ourselves
    spawner_->signal_all(SIGSTOP);
    ::kill(::getpid(), SIGSTOP);
    return;
  case SIGCONT: spawner_->signal_all(SIGCONT); return;
  default: break;
  }
  // SIGINT, SIGTERM, SIGHUP, SIGQUIT: forward, then SIGKILL after the grace period.
  if (policy_.on_signal(sig)) {
    if (stdin_) stdin_->stop();
    teardown(sig);
  } else if (!killed_) {
    killed_ = true; // a second signal while tearing down: no more waiting
    policy_.signals_sent();
    spawner_->signal_all(SIGKILL);
  }
}

void Job::on_started(int rank, pid_t pid) {
  if (spawner_->is_local(rank)) janitor_.add_group(pid); // remote pids belong to their proxy
}

void Job::on_host_failed(std::string_view why, const std::vector<int> &) {
  write_all(2, "camurerun: " + std::string(why) + "\n");
  if (policy_.on_host_failed()) {
    if (stdin_) stdin_->stop();
    teardown_pending_ = true;
  }
}

void Job::send_replies(const std::vector<KvStore::Reply> &replies) {
  for (const auto &r : replies) spawner_->send_control(r.rank, r.line);
}

void Job::arm_kv_timer() {
  const auto next = kv_.next_deadline();
  if (!next) return;
  if (kv_timer_ && kv_timer_at_ <= *next) return;
  if (kv_timer_) loop_.cancel_timer(*kv_timer_);
  kv_timer_at_ = *next;
  kv_timer_ = loop_.add_timer(*next, [this] {
    kv_timer_.reset();
    send_replies(kv_.expire(EventLoop::Clock::now()));
    arm_kv_timer();
  });
}

void Job::on_start_failed(int rank, std::string_view why) { policy_.on_start_failed(rank, std::string(why)); }

void Job::on_output(int rank, int stream, std::string_view bytes) { output_.data(rank, stream, bytes); }

void Job::on_output_closed(int rank, int stream) { output_.close(rank, stream); }

void Job::on_control(int rank, std::string_view line) {
  if (KvStore::is_request(line)) {
    send_replies(kv_.request(rank, line, EventLoop::Clock::now()));
    arm_kv_timer();
    return;
  }
  if (line.rfind("abort", 0) == 0) {
    int code = 1;
    std::string_view arg = line.substr(5);
    while (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
    if (!arg.empty()) {
      int v = 0;
      auto [p, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), v);
      if (ec == std::errc{}) code = v;
    }
    if (policy_.on_abort(rank, code)) teardown(SIGTERM);
  }
  // Unknown control lines are ignored: newer runtimes may send more.
}

void Job::on_exit(int rank, pid_t pid, int wait_status) {
  kv_.forget(rank);
  if (rank == stdin_rank_ && stdin_) stdin_->stop();
  if (policy_.on_rank_exit(rank, pid, wait_status)) teardown_pending_ = true; // after this round
}

} // namespace camure::launcher
