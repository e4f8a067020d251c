// StdinForwarder: source readable -> buffer -> rank's stdin pipe writable, EOF propagation.
#include "launcher/stdin_forwarder.hpp"

#include <cerrno>
#include <poll.h>
#include <unistd.h>

namespace camure::launcher {

StdinForwarder::StdinForwarder(EventLoop &loop, Spawner &spawner, int source_fd, int rank)
    : loop_(loop), spawner_(spawner), source_(source_fd), rank_(rank) {}

StdinForwarder::~StdinForwarder() { stop(); }

void StdinForwarder::start() {
  sink_ = spawner_.stdin_sink(rank_);
  if (sink_ < 0) {
    stopped_ = true;
    return;
  }
  loop_.watch(source_, POLLIN, [this](short re) { on_source(re); });
  loop_.watch(sink_, 0, [this](short re) { on_sink(re); });
  update();
}

void StdinForwarder::stop() {
  if (stopped_) return;
  stopped_ = true;
  loop_.unwatch(source_);
  if (sink_ >= 0 && spawner_.stdin_sink(rank_) == sink_) {
    loop_.unwatch(sink_);
    spawner_.close_stdin(rank_);
  }
  sink_ = -1;
}

void StdinForwarder::update() {
  if (stopped_) return;
  if (spawner_.stdin_sink(rank_) != sink_) { // the rank ended: its pipe is gone
    sink_ = -1;
    stop();
    return;
  }
  if (buf_.empty() && source_eof_) {
    stop(); // closes the rank's stdin: it sees EOF
    return;
  }
  loop_.set_events(source_, buf_.empty() && !source_eof_ ? POLLIN : 0);
  loop_.set_events(sink_, buf_.empty() ? 0 : POLLOUT);
}

void StdinForwarder::on_source(short) {
  char chunk[65536];
  const ssize_t n = ::read(source_, chunk, sizeof chunk);
  if (n > 0)
    buf_.append(chunk, static_cast<std::size_t>(n));
  else if (n == 0 || (errno != EINTR && errno != EAGAIN))
    source_eof_ = true;
  update();
}

void StdinForwarder::on_sink(short revents) {
  if (revents & (POLLERR | POLLHUP | POLLNVAL)) { // the rank closed its stdin
    buf_.clear();
    source_eof_ = true;
    update();
    return;
  }
  const ssize_t n = ::write(sink_, buf_.data(), buf_.size());
  if (n > 0)
    buf_.erase(0, static_cast<std::size_t>(n));
  else if (n < 0 && errno != EAGAIN && errno != EINTR) {
    buf_.clear();
    source_eof_ = true;
  }
  update();
}

} // namespace camure::launcher
