// Test helper: runs the real camurerun binary with pipes on stdin/stdout/stderr, with deadlines.
#pragma once

#include <cerrno>
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <sched.h>
#include <sstream>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace camure::test {

/// Splits text into lines (without the newlines).
inline std::vector<std::string> lines_of(const std::string &text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

/// One camurerun invocation. The destructor SIGKILLs and reaps it if it is still running.
class CamurerunProcess {
public:
  struct Config {
    std::vector<std::string> env_add;   ///< extra NAME=value for camurerun's environment
    int only_cpu = -1;                  ///< restrict camurerun's affinity to this cpu
    bool stdin_pipe = true;             ///< false: stdin is /dev/null
    bool own_group = false;             ///< run camurerun in a process group of its own
  };

  explicit CamurerunProcess(std::vector<std::string> args) : CamurerunProcess(std::move(args), Config{}) {}
  CamurerunProcess(std::vector<std::string> args, const Config &cfg) {
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC)) std::abort();
    std::vector<std::string> argv_s;
    argv_s.push_back(CAMURERUN_PATH);
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char *> argv;
    for (auto &a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s;
    for (char **e = environ; *e; ++e) env_s.emplace_back(*e);
    for (const auto &kv : cfg.env_add) env_s.push_back(kv);
    std::vector<char *> envp;
    for (auto &e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(120);
      if (cfg.stdin_pipe) {
        ::dup2(in[0], 0);
      } else {
        const int null = ::open("/dev/null", O_RDONLY);
        ::dup2(null, 0);
      }
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      if (cfg.own_group) ::setpgid(0, 0);
      if (cfg.only_cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cfg.only_cpu, &set);
        ::sched_setaffinity(0, sizeof set, &set);
      }
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(121);
    }
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    in_ = in[1];
    out_ = out[0];
    err_ = err[0];
    if (!cfg.stdin_pipe) close_stdin();
  }
  CamurerunProcess(const CamurerunProcess &) = delete;
  CamurerunProcess &operator=(const CamurerunProcess &) = delete;
  ~CamurerunProcess() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
    for (int fd : {in_, out_, err_})
      if (fd >= 0) ::close(fd);
  }

  pid_t pid() const { return pid_; }
  void signal(int sig) const { ::kill(pid_, sig); }
  const std::string &out() const { return out_buf_; }
  const std::string &err() const { return err_buf_; }

  bool write_stdin(const std::string &data) {
    std::size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::write(in_, data.data() + off, data.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }
  /// Writes filler bytes to camurerun's stdin until it stops taking them (nothing accepted for
  /// `stall`) or `max_bytes` went in; returns how many it took. For backpressure checks.
  std::size_t write_stdin_until_stalled(std::size_t max_bytes, std::chrono::milliseconds stall) {
    if (in_ < 0) return 0;
    const int fl = ::fcntl(in_, F_GETFL);
    ::fcntl(in_, F_SETFL, fl | O_NONBLOCK);
    const std::string chunk(65536, 'x');
    std::size_t total = 0;
    while (total < max_bytes) {
      const ssize_t n = ::write(in_, chunk.data(), std::min(chunk.size(), max_bytes - total));
      if (n > 0) {
        total += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN) break;
      pollfd p{in_, POLLOUT, 0};
      if (::poll(&p, 1, static_cast<int>(stall.count())) <= 0) break; // no progress: stalled
    }
    ::fcntl(in_, F_SETFL, fl);
    return total;
  }

  void close_stdin() {
    if (in_ >= 0) ::close(in_);
    in_ = -1;
  }

  /// Reads output until pred(out(), err()) holds or the deadline passes.
  template <class Pred> bool read_until(Pred pred, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred(out_buf_, err_buf_)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      if (!pump(static_cast<int>(left.count()))) return pred(out_buf_, err_buf_);
    }
    return true;
  }

  /// Number of lines in stdout starting with `prefix`.
  std::size_t count_lines(const std::string &prefix) const {
    std::size_t n = 0;
    for (const auto &l : lines_of(out_buf_))
      if (l.rfind(prefix, 0) == 0) ++n;
    return n;
  }

  /// Waits for "ready <rank> <pid>" from n ranks; returns their pids (empty on timeout).
  std::vector<pid_t> wait_ready(int n, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    if (!read_until([&](const std::string &, const std::string &) { return count_lines("ready ") >= static_cast<std::size_t>(n); },
                    timeout))
      return {};
    std::vector<pid_t> pids;
    for (const auto &l : lines_of(out_buf_)) {
      int r = 0, p = 0;
      if (std::sscanf(l.c_str(), "ready %d %d", &r, &p) == 2) pids.push_back(p);
    }
    return pids;
  }

  /// Reads all output to EOF and reaps camurerun. Returns its exit code (128+sig if killed),
  /// or nullopt if it did not end before the deadline.
  std::optional<int> finish(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out_ >= 0 || err_ >= 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pump(static_cast<int>(left.count()));
    }
    for (;;) {
      int st = 0;
      const pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        status_ = st;
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (WIFEXITED(*status_)) return WEXITSTATUS(*status_);
    return 128 + WTERMSIG(*status_);
  }

private:
  /// One poll round over stdout/stderr; false when both are closed.
  bool pump(int timeout_ms) {
    pollfd p[2];
    int n = 0;
    if (out_ >= 0) p[n++] = pollfd{out_, POLLIN, 0};
    if (err_ >= 0) p[n++] = pollfd{err_, POLLIN, 0};
    if (n == 0) return false;
    if (::poll(p, static_cast<nfds_t>(n), timeout_ms) <= 0) return true;
    for (int i = 0; i < n; ++i) {
      if (!p[i].revents) continue;
      char buf[65536];
      const ssize_t r = ::read(p[i].fd, buf, sizeof buf);
      std::string &dst = p[i].fd == out_ ? out_buf_ : err_buf_;
      if (r > 0) {
        dst.append(buf, static_cast<std::size_t>(r));
      } else if (r == 0 || errno != EINTR) {
        int &fd = p[i].fd == out_ ? out_ : err_;
        ::close(fd);
        fd = -1;
      }
    }
    return true;
  }

  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  std::string out_buf_, err_buf_;
  std::optional<int> status_;
};

/// Makes this process the reaper of orphaned descendants (camurerun's ranks and janitor when
/// camurerun dies), so a test can check that nothing is left.
inline void become_subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }

/// Reaps descendants until none is left (true) or the deadline passes (false).
inline bool no_descendants_left(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int st = 0;
    const pid_t r = ::waitpid(-1, &st, WNOHANG);
    if (r > 0) continue;
    if (r < 0 && errno == ECHILD) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

/// The state letter of /proc/<pid>/stat (R, S, T, Z, ...), or 0 if there is no such process.
inline char process_state(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  FILE *f = std::fopen(path, "r");
  if (!f) return 0;
  char buf[512] = {};
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  const char *close = std::strrchr(buf, ')');
  if (n == 0 || !close || close[1] == '\0') return 0;
  return close[2];
}

/// True if pid exists and is not a zombie.
inline bool process_alive(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  FILE *f = std::fopen(path, "r");
  if (!f) return false;
  char buf[512] = {};
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  const char *close = std::strrchr(buf, ')');
  if (n == 0 || !close || close[1] == '\0') return false;
  const char state = close[2];
  return state != 'Z' && state != 'X';
}

} // namespace camure::test
