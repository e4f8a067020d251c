// OutputForwarder: assembles ranks' stdout/stderr into whole lines, tags them, writes them out.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace camure::launcher {

struct OutputConfig {
  bool tag = false;        ///< "[rank] " before every line
  bool timestamp = false;  ///< "[2026-01-02T03:04:05.123456Z] " before every line
  std::string dir;         ///< per-rank files DIR/1/rank.N/{stdout,stderr} instead of out_fd/err_fd
  bool merge_stderr = false; ///< stderr lines go where stdout lines go
  int out_fd = 1;
  int err_fd = 2;
  std::size_t max_line = 64 * 1024; ///< a longer line without newline is emitted in pieces
};

/// Line-buffered forwarding. Every line reaches its destination with a single write, so lines of
/// different ranks never interleave. A partial last line is emitted on close() (tagged lines get
/// a newline appended; untagged output keeps its bytes exactly).
class OutputForwarder {
public:
  /// Opens per-rank files when cfg.dir is set. Errors: one line in `why`.
  static std::unique_ptr<OutputForwarder> create(const OutputConfig &cfg, int nranks, std::error_code &ec,
                                                 std::string &why);
  ~OutputForwarder();
  OutputForwarder(const OutputForwarder &) = delete;
  OutputForwarder &operator=(const OutputForwarder &) = delete;

  /// Bytes from rank's stream (1 = stdout, 2 = stderr).
  void data(int rank, int stream, std::string_view bytes);
  /// The stream ended: flush its partial line.
  void close(int rank, int stream);
  /// Flushes every partial line (job end).
  void close_all();

private:
  struct Stream {
    std::string pending;
    int fd = -1;      ///< destination
    bool own = false; ///< fd is a per-rank file we close
  };
  OutputForwarder(const OutputConfig &cfg, int nranks);
  Stream &stream(int rank, int s) { return streams_[static_cast<std::size_t>(rank) * 2 + (s == 2 ? 1 : 0)]; }
  void prefix(std::string &out, int rank) const;

  OutputConfig cfg_;
  std::vector<Stream> streams_;
};

/// Writes all of `data` to fd, waiting while a non-blocking fd is full. Returns false on error
/// (e.g. EPIPE: the reader went away; output is then dropped).
bool write_all(int fd, std::string_view data);

} // namespace camure::launcher
