// ExitPolicy: pure bookkeeping of rank exits, aborts, signals and timeouts -> the job's exit status.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace camure::launcher {

/// Exit status camurerun uses when --timeout fires (as coreutils timeout).
inline constexpr int kTimeoutExitCode = 124;
/// Exit status when a host failed (unreachable, login refused, program missing, channel lost).
inline constexpr int kHostFailedExitCode = 1;

/// Decides when the job must be torn down and what it exits with. No I/O, no syscalls.
///
/// Rules: 0 when every rank exits 0. Otherwise, in order of what ended the job first:
/// a rank's abort code; the lowest-numbered failing rank's code (128+signal for a signal);
/// 124 for a timeout; 128+signal for a signal to camurerun. Ranks that end after the launcher
/// sent its teardown signals (signals_sent()) are never counted as failing; ranks that ended
/// on their own before that — even in the same reaping round — are.
class ExitPolicy {
public:
  enum class Cause { none, rank_failed, abort, timeout, signal, host_failed };

  ExitPolicy(int nranks, std::string host, bool keep_going);

  /// Records a rank's end (raw wait status). Returns true if the job must now be torn down.
  bool on_rank_exit(int rank, pid_t pid, int wait_status);
  /// The rank could not start (one line why); its exit is then reported with this reason.
  void on_start_failed(int rank, std::string why);
  /// A rank asked to abort the job with `code`. Returns true if the job must now be torn down.
  bool on_abort(int rank, int code);
  /// A terminating signal reached camurerun. Returns true if teardown starts now (first cause).
  bool on_signal(int sig);
  /// --timeout fired. Returns true if teardown starts now.
  bool on_timeout();
  /// A host failed (its line is already printed). Returns true if teardown starts now.
  bool on_host_failed() { return start(Cause::host_failed); }
  /// Host names per rank for messages (default: every rank on the constructor's host).
  void set_rank_hosts(std::vector<std::string> hosts) { rank_hosts_ = std::move(hosts); }

  /// The launcher has now signalled the remaining ranks: later ends are not failures.
  void signals_sent() { signals_sent_ = true; }

  bool tearing_down() const { return cause_ != Cause::none; }
  Cause cause() const { return cause_; }
  /// The job's exit status; valid once every rank has ended.
  int exit_code() const;
  /// The one line for stderr explaining a non-zero status (without newline), or "" for 0.
  std::string summary() const;

  /// Exit code a raw wait status stands for: the exit code, or 128+signal.
  static int code_of(int wait_status);

private:
  struct RankEnd {
    bool ended = false;
    bool failed = false;
    pid_t pid = 0;
    int status = 0;
    std::string start_failure;
  };
  bool start(Cause c);

  std::vector<RankEnd> ranks_;
  std::string host_;
  std::vector<std::string> rank_hosts_;
  const std::string &host_of(int rank) const {
    return rank >= 0 && static_cast<std::size_t>(rank) < rank_hosts_.size() ? rank_hosts_[static_cast<std::size_t>(rank)] : host_;
  }
  bool keep_going_;
  Cause cause_ = Cause::none;
  bool signals_sent_ = false;
  int abort_rank_ = -1;
  int abort_code_ = 0;
  int signal_ = 0;
};

} // namespace camure::launcher
