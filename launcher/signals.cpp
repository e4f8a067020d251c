// SignalPipe: self-pipe signal delivery; default dispositions for exec'd children.
#include "launcher/signals.hpp"

#include <camure/error.hpp>

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <unistd.h>

namespace camure::launcher {

namespace {
volatile sig_atomic_t g_write_fd = -1;

extern "C" void on_signal(int sig) {
  const int saved = errno;
  const unsigned char b = static_cast<unsigned char>(sig);
  if (g_write_fd >= 0) {
    [[maybe_unused]] ssize_t r = ::write(g_write_fd, &b, 1);
  }
  errno = saved;
}
} // namespace

SignalPipe::SignalPipe(std::initializer_list<int> signals, std::error_code &ec) {
  ec.clear();
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    ec = std::error_code(errno, std::system_category());
    return;
  }
  read_fd_ = fds[0];
  write_fd_ = fds[1];
  g_write_fd = write_fd_;
  for (int sig : signals) {
    if (count_ == 16) break;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | (sig == SIGCHLD ? SA_NOCLDSTOP : 0);
    if (::sigaction(sig, &sa, nullptr) != 0) {
      ec = std::error_code(errno, std::system_category());
      return;
    }
    signals_[count_++] = sig;
  }
}

SignalPipe::~SignalPipe() {
  for (int i = 0; i < count_; ++i) ::signal(signals_[i], SIG_DFL);
  g_write_fd = -1;
  if (read_fd_ >= 0) ::close(read_fd_);
  if (write_fd_ >= 0) ::close(write_fd_);
}

int SignalPipe::next() {
  unsigned char b = 0;
  const ssize_t r = ::read(read_fd_, &b, 1);
  return r == 1 ? b : 0;
}

void reset_signals_for_exec() noexcept {
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    ::signal(sig, SIG_DFL); // ignored signals would stay ignored across exec
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

SignalResets SignalResets::current() noexcept {
  SignalResets r;
  for (int sig = 1; sig < NSIG && r.count_ < 64; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) != 0) continue; // e.g. the C library's own signals
    if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL) continue;
    r.sigs_[r.count_++] = sig;
  }
  return r;
}

void SignalResets::apply() const noexcept {
  for (int i = 0; i < count_; ++i) ::signal(sigs_[i], SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

} // namespace camure::launcher
