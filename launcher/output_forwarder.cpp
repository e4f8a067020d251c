// OutputForwarder: per-rank line assembly, tag/timestamp prefixes, per-rank output files.
#include "launcher/output_forwarder.hpp"

#include <camure/error.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

namespace camure::launcher {

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 1000);
    } else {
      return false;
    }
  }
  return true;
}

namespace {
bool make_dirs(const std::string &path, std::string &why) {
  std::string cur;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
      why = "cannot create directory '" + cur + "': " + std::strerror(errno);
      return false;
    }
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    why = "'" + path + "' is not a directory";
    return false;
  }
  return true;
}
} // namespace

OutputForwarder::OutputForwarder(const OutputConfig &cfg, int nranks)
    : cfg_(cfg), streams_(static_cast<std::size_t>(nranks) * 2) {}

std::unique_ptr<OutputForwarder> OutputForwarder::create(const OutputConfig &cfg, int nranks, std::error_code &ec,
                                                         std::string &why) {
  ec.clear();
  std::unique_ptr<OutputForwarder> f(new OutputForwarder(cfg, nranks));
  for (int r = 0; r < nranks; ++r) {
    if (cfg.dir.empty()) {
      f->stream(r, 1).fd = cfg.out_fd;
      f->stream(r, 2).fd = cfg.merge_stderr ? cfg.out_fd : cfg.err_fd;
      continue;
    }
    const std::string d = cfg.dir + "/1/rank." + std::to_string(r);
    if (!make_dirs(d, why)) {
      ec = make_error_code(errc::invalid_argument);
      return nullptr;
    }
    for (int s : {1, 2}) {
      if (s == 2 && cfg.merge_stderr) {
        f->stream(r, 2).fd = f->stream(r, 1).fd; // owned by the stdout stream
        continue;
      }
      const std::string file = d + (s == 1 ? "/stdout" : "/stderr");
      const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) {
        why = "cannot create '" + file + "': " + std::strerror(errno);
        ec = make_error_code(errc::invalid_argument);
        return nullptr;
      }
      f->stream(r, s).fd = fd;
      f->stream(r, s).own = true;
    }
  }
  return f;
}

OutputForwarder::~OutputForwarder() {
  close_all();
  for (auto &s : streams_)
    if (s.own && s.fd >= 0) ::close(s.fd);
}

void OutputForwarder::prefix(std::string &out, int rank) const {
  if (cfg_.timestamp) {
    const auto now = std::chrono::system_clock::now();
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(us / 1000000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[64];
    const std::size_t n = std::strftime(buf, sizeof buf, "[%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%06dZ] ", static_cast<int>(us % 1000000));
    out += buf;
  }
  if (cfg_.tag && cfg_.dir.empty()) {
    out += '[';
    out += std::to_string(rank);
    out += "] ";
  }
}

void OutputForwarder::data(int rank, int s, std::string_view bytes) {
  Stream &st = stream(rank, s);
  const bool plain = !cfg_.tag && !cfg_.timestamp;
  std::string out;
  while (!bytes.empty()) {
    const std::size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) {
      st.pending.append(bytes);
      bytes = {};
      if (st.pending.size() >= cfg_.max_line) { // emit an overlong line in pieces
        prefix(out, rank);
        out += st.pending;
        if (!plain) out += '\n';
        st.pending.clear();
      }
      break;
    }
    prefix(out, rank);
    out += st.pending;
    out.append(bytes.substr(0, nl + 1));
    st.pending.clear();
    bytes.remove_prefix(nl + 1);
  }
  if (!out.empty() && st.fd >= 0) write_all(st.fd, out);
}

void OutputForwarder::close(int rank, int s) {
  Stream &st = stream(rank, s);
  if (st.pending.empty()) return;
  std::string out;
  prefix(out, rank);
  out += st.pending;
  if (cfg_.tag || cfg_.timestamp) out += '\n';
  st.pending.clear();
  if (st.fd >= 0) write_all(st.fd, out);
}

void OutputForwarder::close_all() {
  for (std::size_t i = 0; i < streams_.size(); ++i) close(static_cast<int>(i / 2), i % 2 == 0 ? 1 : 2);
}

} // namespace camure::launcher
