// Spawner: the launch back-end interface (local fork/exec now; ssh/srun proxies later).
#pragma once

#include "launcher/job_spec.hpp"

#include <string>
#include <string_view>
#include <vector>
#include <sys/types.h>
#include <system_error>

namespace camure::launcher {

/// Per-rank lifecycle events a spawner reports. Called from the event loop's thread.
class RankEvents {
public:
  virtual ~RankEvents() = default;
  /// The rank was started (pid on its host).
  virtual void on_started(int rank, pid_t pid) = 0;
  /// The rank's process could not become the program (binding, --wdir or exec failed); one
  /// line. Comes before the rank's on_exit.
  virtual void on_start_failed(int rank, std::string_view why) = 0;
  /// Bytes the rank wrote to stdout (stream 1) or stderr (stream 2).
  virtual void on_output(int rank, int stream, std::string_view bytes) = 0;
  /// One stream of the rank ended (after its last on_output).
  virtual void on_output_closed(int rank, int stream) = 0;
  /// A line the rank wrote on its control channel (without the newline), e.g. "abort 3".
  virtual void on_control(int rank, std::string_view line) = 0;
  /// The rank ended; raw wait status. Comes after the rank's remaining output and control lines.
  virtual void on_exit(int rank, pid_t pid, int wait_status) = 0;
  /// A whole host failed (unreachable, login refused, program missing, proxy or ssh channel
  /// lost): one line naming the host and the cause. Its ranks that had not ended are gone
  /// (no on_exit follows for them) and the spawner's running() no longer counts them.
  virtual void on_host_failed(std::string_view why, const std::vector<int> &ranks) {
    (void)why;
    (void)ranks;
  }
};

/// Starts and controls the ranks of one host. Implementations register their fds with the
/// job's EventLoop and report through RankEvents.
class Spawner {
public:
  virtual ~Spawner() = default;
  /// Starts every rank of `job`. On failure no rank of this call is left running; `why` has
  /// one line.
  virtual std::error_code launch(const JobSpec &job, std::string &why) = 0;
  /// Sends `sig` to every rank still running (to its process group).
  virtual void signal_all(int sig) = 0;
  /// Ranks started and not yet reported through on_exit.
  virtual int running() const = 0;
  /// Checks for ended ranks (call on SIGCHLD); reports them through on_exit.
  virtual void reap() = 0;
  /// Fd to write `rank`'s stdin into (non-blocking; close it for EOF), or -1.
  virtual int stdin_sink(int rank) = 0;
  /// Closes the rank's stdin (EOF for the rank).
  virtual void close_stdin(int rank) = 0;
  /// Sends one reply line (without newline) on the rank's control channel.
  virtual void send_control(int rank, std::string_view line) {
    (void)rank;
    (void)line;
  }
  /// Is `rank` a process of this host (its pid means something here)?
  virtual bool is_local(int rank) const {
    (void)rank;
    return true;
  }
};

} // namespace camure::launcher
