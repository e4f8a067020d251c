// LocalSpawner: forks and execs this host's ranks, pins them, and wires their I/O and control fds.
#pragma once

#include "launcher/event_loop.hpp"
#include "launcher/spawner.hpp"

#include <optional>
#include <string>
#include <sys/resource.h>
#include <vector>

namespace camure::launcher {

/// fork/exec back-end for ranks on this host (also what a per-host proxy runs).
///
/// Each rank: its own process group; PR_SET_PDEATHSIG(SIGKILL) so it dies with the launcher;
/// stdout/stderr on pipes read by the event loop; stdin from a pipe (the stdin rank) or
/// /dev/null; CAMURE_CONTROL_FD = its end of a SOCK_SEQPACKET socketpair; the binding's cpus.
/// Must be used from the thread that will stay alive for the whole job (the main thread).
class LocalSpawner final : public Spawner {
public:
  LocalSpawner(EventLoop &loop, RankEvents &events);
  ~LocalSpawner() override;

  /// The RLIMIT_NOFILE the ranks get (camurerun raises its own for many ranks' pipes; ranks
  /// get what camurerun was started with).
  void set_rank_fd_limit(const rlimit &limit) { fd_limit_ = limit; }

  std::error_code launch(const JobSpec &job, std::string &why) override;
  void signal_all(int sig) override;
  int running() const override { return running_; }
  void reap() override;
  int stdin_sink(int rank) override;
  void close_stdin(int rank) override;
  void send_control(int rank, std::string_view line) override;

private:
  struct Rank {
    int rank = 0;
    pid_t pid = -1;
    int out = -1, err = -1, ctl = -1, in = -1; ///< parent ends
    int status = -1;                           ///< exec status pipe (EOF = exec succeeded)
    bool ended = false;
    std::string ctl_buf;
  };
  Rank *find(int rank);
  void on_readable(Rank &r, int stream, bool drain_all);
  void on_control(Rank &r, bool drain_all);
  void on_status(Rank &r);
  void close_fd(int &fd);
  void finish(Rank &r, int status);

  EventLoop &loop_;
  RankEvents &events_;
  std::vector<Rank> ranks_;
  std::string program_, wdir_; ///< for start-failure messages
  std::optional<rlimit> fd_limit_;
  int running_ = 0;
};

} // namespace camure::launcher
