// Job: runs one job to completion — events, signals, timeout, teardown, exit status.
#pragma once

#include "launcher/event_loop.hpp"
#include "launcher/exit_policy.hpp"
#include "launcher/janitor.hpp"
#include "launcher/kv_store.hpp"
#include "launcher/job_spec.hpp"
#include "launcher/output_forwarder.hpp"
#include "launcher/signals.hpp"
#include "launcher/spawner.hpp"
#include "launcher/stdin_forwarder.hpp"

#include <memory>
#include <optional>

namespace camure::launcher {

struct JobSettings {
  double timeout_s = 0; ///< 0: none
  double grace_s = 3;   ///< SIGTERM -> SIGKILL
  bool keep_going = false;
};

/// The controller between a Spawner (ranks), the OutputForwarder, stdin, signals and the
/// ExitPolicy. One per camurerun invocation; runs on the main thread.
class Job final : public RankEvents {
public:
  Job(EventLoop &loop, SignalPipe &signals, OutputForwarder &output, Janitor &janitor, const JobSettings &settings,
      int nranks, std::string host);

  /// Launches `spec` with `spawner` and runs until every rank has ended. Returns the exit
  /// status for camurerun; the one-line reason (if any) is already on stderr.
  int run(Spawner &spawner, const JobSpec &spec);

  // RankEvents
  void on_started(int rank, pid_t pid) override;
  void on_start_failed(int rank, std::string_view why) override;
  void on_output(int rank, int stream, std::string_view bytes) override;
  void on_output_closed(int rank, int stream) override;
  void on_control(int rank, std::string_view line) override;
  void on_exit(int rank, pid_t pid, int wait_status) override;
  void on_host_failed(std::string_view why, const std::vector<int> &ranks) override;

  /// The job-wide key/value store served on the control channel (put/get).
  KvStore &kv() { return kv_; }
  /// Host names per rank, for the exit lines.
  void set_rank_hosts(std::vector<std::string> hosts) { policy_.set_rank_hosts(std::move(hosts)); }

private:
  void teardown(int sig);
  /// Reaps ended ranks, then starts a teardown their ends asked for: every rank that ended in
  /// the same round is judged before any rank is signalled.
  void reap();
  void on_signal(int sig);
  void send_replies(const std::vector<KvStore::Reply> &replies);
  void arm_kv_timer();

  EventLoop &loop_;
  SignalPipe &signals_;
  OutputForwarder &output_;
  Janitor &janitor_;
  JobSettings settings_;
  ExitPolicy policy_;
  Spawner *spawner_ = nullptr;
  std::unique_ptr<StdinForwarder> stdin_;
  int stdin_rank_ = -1;
  bool killed_ = false;
  bool teardown_pending_ = false;
  std::optional<EventLoop::TimerId> grace_timer_;
  KvStore kv_;
  std::optional<EventLoop::TimerId> kv_timer_;
  EventLoop::Clock::time_point kv_timer_at_{};
};

} // namespace camure::launcher
