// RemoteSpawner: one remote host's ranks, driven through camure-proxy over an ssh channel.
#pragma once

#include "launcher/event_loop.hpp"
#include "launcher/frame.hpp"
#include "launcher/spawner.hpp"

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace camure::launcher {

struct RemoteLaunch {
  std::string host;                     ///< as in the host list (ssh destination)
  std::vector<std::string> agent;       ///< e.g. {"ssh", "-F", "cfg"}: agent + ssh options
  std::string proxy;                    ///< camure-proxy's path on the remote host
  JobMessage job;                       ///< the host's part of the job
  std::chrono::milliseconds launch_timeout{30000};
};

/// Starts `agent... host proxy` with pipes; the job goes over the agent's stdin, rank events
/// come back as frames on its stdout. A channel that ends before every rank was reported
/// (unreachable host, refused login, proxy missing or killed, ssh cut) or no `ready` within
/// the launch timeout -> one on_host_failed line; its ranks then count as gone.
class RemoteSpawner final : public Spawner {
public:
  RemoteSpawner(EventLoop &loop, RankEvents &events, RemoteLaunch launch);
  ~RemoteSpawner() override;

  std::error_code launch(const JobSpec &job, std::string &why) override;
  void signal_all(int sig) override;
  int running() const override { return static_cast<int>(live_.size()); }
  void reap() override;
  int stdin_sink(int rank) override;
  void close_stdin(int rank) override;
  void send_control(int rank, std::string_view line) override;
  bool is_local(int) const override { return false; }
  const std::string &host() const { return l_.host; }

private:
  void send(std::string frame);
  void flush();
  void on_stdout();
  void on_stderr();
  void on_stdin_pipe();
  /// Reads the stdin pipe again if the channel and the proxy's window have room.
  void resume_stdin();
  void handle(const Frame &f);
  void fail(const std::string &why);
  void channel_ended();
  /// After the last rank: reads the channel until the proxy's `finished` frame, its EOF or
  /// `deadline`.
  void await_finished(EventLoop::Clock::time_point deadline);

  EventLoop &loop_;
  RankEvents &events_;
  RemoteLaunch l_;
  pid_t pid_ = -1;
  int to_ = -1, from_ = -1, err_ = -1; ///< agent's stdin, stdout, stderr (our ends)
  int stdin_rd_ = -1, stdin_wr_ = -1;  ///< pipe for the stdin rank: StdinForwarder writes, we frame
  int stdin_rank_ = -1;
  std::size_t stdin_unacked_ = 0;      ///< stdin bytes sent, not yet acknowledged by the proxy
  std::string out_;                    ///< frames not yet written to the agent
  FrameReader reader_;
  std::string err_tail_;               ///< last lines of the agent's stderr (for messages)
  std::set<int> live_;                 ///< ranks not yet reported ended
  bool ready_ = false, failed_ = false, exited_ = false, eof_ = false, finished_ = false;
  std::string fatal_;
  int agent_status_ = 0;
  std::optional<EventLoop::TimerId> launch_timer_, kill_timer_;
};

} // namespace camure::launcher
