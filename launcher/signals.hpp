// SignalPipe: turns asynchronous signals into readable bytes on a pipe for the event loop.
#pragma once

#include <initializer_list>
#include <system_error>

namespace camure::launcher {

/// Installs handlers for the given signals that write the signal number into a pipe.
/// Only one SignalPipe may exist at a time. The destructor restores default dispositions.
class SignalPipe {
public:
  SignalPipe(std::initializer_list<int> signals, std::error_code &ec);
  ~SignalPipe();
  SignalPipe(const SignalPipe &) = delete;
  SignalPipe &operator=(const SignalPipe &) = delete;

  int fd() const { return read_fd_; }
  /// Reads one pending signal number, or 0 if none is pending.
  int next();

private:
  int read_fd_ = -1;
  int write_fd_ = -1;
  int signals_[16] = {};
  int count_ = 0;
};

/// Resets every signal disposition to its default, then unblocks every signal (for a child
/// before exec, forked with all signals blocked). Async-signal-safe.
void reset_signals_for_exec() noexcept;

} // namespace camure::launcher
