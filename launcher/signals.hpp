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

/// The signals whose disposition is not the default right now (a handler, or SIG_IGN
/// inherited or set): all a child has to reset before exec. Taken in the parent, so a child
/// started while the parent sleeps (vfork) makes a few calls instead of one per signal.
class SignalResets {
public:
  static SignalResets current() noexcept;
  /// Resets those to SIG_DFL, then unblocks every signal. Async-signal-safe.
  void apply() const noexcept;
  int count() const { return count_; }

private:
  int sigs_[64] = {};
  int count_ = 0;
};

} // namespace camure::launcher
