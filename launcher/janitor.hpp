// Janitor: a small process that outlives camurerun to kill stragglers and remove shm segments.
#pragma once

#include <string>
#include <sys/types.h>
#include <system_error>
#include <vector>

namespace camure::launcher {

/// Forked before any rank. camurerun tells it each rank's pid through a pipe. When the pipe
/// reaches EOF — camurerun finished, or died even by SIGKILL — the janitor kills every process
/// left in the ranks' process groups, waits (bounded) until they are gone, and unlinks
/// /dev/shm/camure-<JOB_ID>-*. It runs in its own session and ignores SIGINT/SIGTERM/SIGHUP, so
/// a Ctrl-C or a kill of camurerun's process group cannot stop it before the cleanup.
class Janitor {
public:
  /// Starts the janitor process. Must be called before any other child is forked.
  static Janitor start(const std::string &job_id, std::error_code &ec);
  Janitor() = default;
  Janitor(Janitor &&o) noexcept;
  Janitor &operator=(Janitor &&o) noexcept;
  ~Janitor();

  /// Tells the janitor about a rank's process group (= its pid).
  void add_group(pid_t pgid);
  /// Ends the janitor's watch. If every rank's process group is already gone (the usual end:
  /// all ranks reaped, nothing left behind), removes the job's segments here and tells the
  /// janitor it is done: it exits at once and is not waited for (no round trip through a
  /// process that may have to wait for a cpu). Otherwise closes the pipe and waits (bounded)
  /// for the janitor to kill what is left and clean up.
  void finish();
  pid_t pid() const { return pid_; }

private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string job_id_;
  std::vector<pid_t> groups_;
};

/// The janitor's body (runs in the forked process; never returns). Exposed for tests.
[[noreturn]] void janitor_main(int read_fd, const std::string &job_id);

} // namespace camure::launcher
