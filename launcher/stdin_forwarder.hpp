// StdinForwarder: copies camurerun's stdin to one rank's stdin with bounded buffering.
#pragma once

#include "launcher/event_loop.hpp"
#include "launcher/spawner.hpp"

#include <string>

namespace camure::launcher {

/// Reads `source` (camurerun's stdin) only while its buffer is empty, so a rank that does not
/// read applies backpressure instead of growing memory. EOF on source closes the rank's stdin.
/// The source fd is never set non-blocking (it may be a terminal shared with the shell): it is
/// read once per readiness report.
class StdinForwarder {
public:
  StdinForwarder(EventLoop &loop, Spawner &spawner, int source_fd, int rank);
  ~StdinForwarder();
  StdinForwarder(const StdinForwarder &) = delete;
  StdinForwarder &operator=(const StdinForwarder &) = delete;

  /// Starts forwarding (after the ranks were launched).
  void start();
  /// Stops forwarding (the rank ended or the job is being torn down).
  void stop();

private:
  void on_source(short revents);
  void on_sink(short revents);
  void update();

  EventLoop &loop_;
  Spawner &spawner_;
  int source_;
  int rank_;
  int sink_ = -1;
  bool source_eof_ = false;
  bool stopped_ = false;
  std::string buf_;
};

} // namespace camure::launcher
