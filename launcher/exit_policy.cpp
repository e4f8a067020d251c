// ExitPolicy: which event ended the job, which rank failed first, and the one-line summary.
#include "launcher/exit_policy.hpp"

#include <cstring>
#include <sys/wait.h>

namespace camure::launcher {

namespace {
/// "9 (SIGKILL, Killed)"
std::string signal_text(int sig) {
  const char *abbrev = ::sigabbrev_np(sig);
  const char *what = ::strsignal(sig);
  return std::to_string(sig) + " (" + (abbrev ? std::string("SIG") + abbrev + ", " : std::string()) +
         (what ? what : "unknown") + ")";
}
} // namespace

ExitPolicy::ExitPolicy(int nranks, std::string host, bool keep_going)
    : ranks_(static_cast<std::size_t>(nranks)), host_(std::move(host)), keep_going_(keep_going) {}

int ExitPolicy::code_of(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 1;
}

bool ExitPolicy::start(Cause c) {
  if (cause_ != Cause::none) return false;
  cause_ = c;
  return true;
}

bool ExitPolicy::on_rank_exit(int rank, pid_t pid, int st) {
  if (rank < 0 || static_cast<std::size_t>(rank) >= ranks_.size()) return false;
  RankEnd &r = ranks_[static_cast<std::size_t>(rank)];
  if (r.ended) return false;
  r.ended = true;
  r.pid = pid;
  r.status = st;
  // A rank that ends after we signalled it was stopped by us: not failing.
  r.failed = code_of(st) != 0 && !signals_sent_;
  if (r.failed && !keep_going_) return start(Cause::rank_failed);
  return false;
}

void ExitPolicy::on_start_failed(int rank, std::string why) {
  if (rank < 0 || static_cast<std::size_t>(rank) >= ranks_.size()) return;
  ranks_[static_cast<std::size_t>(rank)].start_failure = std::move(why);
}

bool ExitPolicy::on_abort(int rank, int code) {
  if (cause_ != Cause::none) return false;
  abort_rank_ = rank;
  int c = code & 0xff;
  if (c == 0 && code != 0) c = 1;
  abort_code_ = c;
  return start(Cause::abort);
}

bool ExitPolicy::on_signal(int sig) {
  if (cause_ != Cause::none) return false;
  signal_ = sig;
  return start(Cause::signal);
}

bool ExitPolicy::on_timeout() { return start(Cause::timeout); }

int ExitPolicy::exit_code() const {
  switch (cause_) {
  case Cause::abort: return abort_code_;
  case Cause::timeout: return kTimeoutExitCode;
  case Cause::signal: return 128 + signal_;
  case Cause::host_failed: return kHostFailedExitCode;
  case Cause::rank_failed:
  case Cause::none:
    for (const auto &r : ranks_)
      if (r.failed) return code_of(r.status);
    return 0;
  }
  return 1;
}

std::string ExitPolicy::summary() const {
  switch (cause_) {
  case Cause::host_failed: return ""; // the host's line was printed when it happened
  case Cause::abort:
    return "camurerun: rank " + std::to_string(abort_rank_) + " on host " + host_of(abort_rank_) + " aborted the job with code " +
           std::to_string(abort_code_);
  case Cause::timeout: return "camurerun: job timed out; every rank was killed";
  case Cause::signal:
    return "camurerun: received signal " + signal_text(signal_) + "; job terminated";
  case Cause::rank_failed:
  case Cause::none: break;
  }
  int first = -1, failed = 0;
  for (std::size_t i = 0; i < ranks_.size(); ++i) {
    if (!ranks_[i].failed) continue;
    if (first < 0) first = static_cast<int>(i);
    ++failed;
  }
  if (first < 0) return "";
  const RankEnd &r = ranks_[static_cast<std::size_t>(first)];
  std::string line = "camurerun: rank " + std::to_string(first) + " (pid " + std::to_string(r.pid) + ")" + " on host " + host_of(first);
  if (!r.start_failure.empty())
    line += " could not start: " + r.start_failure + " (exit code " + std::to_string(code_of(r.status)) + ")";
  else if (WIFSIGNALED(r.status))
    line += " was killed by signal " + signal_text(WTERMSIG(r.status));
  else
    line += " exited with code " + std::to_string(code_of(r.status));
  if (failed > 1) line += " (" + std::to_string(failed) + " ranks failed)";
  return line;
}

} // namespace camure::launcher
