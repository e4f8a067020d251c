// Frame protocol between camurerun and camure-proxy over the ssh channel (stdin/stdout).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace camure::launcher {

/// Wire layout of one frame: a 4-byte little-endian length L (of what follows), a 1-byte
/// type, then L-1 payload bytes. Payload fields: u32 little-endian integers, strings as u32
/// length + bytes, string lists as u32 count + strings.
inline constexpr std::size_t kFrameHeaderBytes = 4;
inline constexpr std::uint32_t kMaxFrameBytes = 16u << 20;
static_assert(kFrameHeaderBytes == sizeof(std::uint32_t));

enum class FrameType : std::uint8_t {
  // camurerun -> proxy
  job = 1,           ///< JobMessage (first frame)
  signal = 2,        ///< u32 signal: signal every rank of the host
  stdin_data = 3,    ///< u32 rank, string bytes
  stdin_close = 4,   ///< u32 rank
  control_reply = 5, ///< u32 rank, string line (without newline)
  // proxy -> camurerun
  started = 10,       ///< u32 rank, u32 pid
  start_failed = 11,  ///< u32 rank, string why
  output = 12,        ///< u32 rank, u32 stream, string bytes
  output_closed = 13, ///< u32 rank, u32 stream
  control = 14,       ///< u32 rank, string line
  exited = 15,        ///< u32 rank, u32 pid, u32 wait status
  fatal = 16,         ///< string why: the proxy cannot run the host's part of the job
  ready = 17,         ///< string node address: every rank of the host was started
  host_failed = 18,   ///< string why, u32 count, u32 ranks...: a host of the proxy's subtree failed
  info = 19,          ///< string lines: camurerun prints them on stderr (e.g. --report-bindings)
  finished = 20,      ///< (empty) every rank ended and the host is cleaned up; the proxy exits next
  stdin_ack = 21,     ///< u32 rank, u32 bytes: stdin bytes passed on to the rank (or dropped)
};

/// Builds one frame's payload field by field.
class FrameWriter {
public:
  explicit FrameWriter(FrameType type);
  FrameWriter &u32(std::uint32_t v);
  FrameWriter &str(std::string_view s);
  FrameWriter &strs(const std::vector<std::string> &v);
  /// The finished frame (header filled in).
  std::string finish();

private:
  std::string buf_;
};

/// Reads fields of one frame's payload; any overrun sets ok() to false.
class FrameParser {
public:
  explicit FrameParser(std::string_view payload) : p_(payload) {}
  std::uint32_t u32();
  std::string str();
  std::vector<std::string> strs();
  bool ok() const { return ok_; }
  bool done() const { return ok_ && p_.empty(); }

private:
  std::string_view p_;
  bool ok_ = true;
};

struct Frame {
  FrameType type{};
  std::string payload;
};

/// Reassembles frames from a byte stream.
class FrameReader {
public:
  void feed(std::string_view bytes) { buf_.append(bytes); }
  /// The next complete frame; nullopt if more bytes are needed. Sets error() on a frame
  /// that is too large or empty (the stream is then unusable).
  std::optional<Frame> next();
  bool error() const { return error_; }
  bool empty() const { return buf_.empty(); }

private:
  std::string buf_;
  std::size_t pos_ = 0;
  bool error_ = false;
};

/// One rank of a host as the proxy needs it.
struct ProxyRank {
  int rank = 0;
  int local_rank = 0;
};

/// The job description a proxy gets for its host (first frame, type job).
struct JobMessage {
  std::string job_id;
  std::string host;              ///< the host's name as given in the host list
  int node_id = 0;
  int num_nodes = 1;
  int size = 1;                  ///< ranks in the whole job
  std::string program;           ///< path to exec (absolute, as resolved by camurerun)
  std::vector<std::string> argv; ///< argv[0] as the user wrote it
  std::string wdir;              ///< "" = stay where ssh started us
  std::string fallback_wdir;     ///< camurerun's cwd: used when it exists on the host
  int stdin_rank = -1;
  std::vector<std::string> exports; ///< VAR=value (already resolved by camurerun)
  std::vector<std::string> extra_env; ///< job-wide VAR=value (CAMURE_MCAST, ...)
  std::string iface;             ///< --iface ("" = the ssh connection's local address)
  std::string map_by, bind_to;
  bool oversubscribe = false, use_hwthreads = false, report_bindings = false;
  std::uint32_t grace_ms = 3000;
  std::vector<ProxyRank> ranks;
  // Tree launch: the hosts this proxy starts itself (each an encoded job frame), and how.
  std::vector<std::string> subtree;  ///< encode_job() of each child host
  std::vector<std::string> agent;    ///< launch agent + options for the children
  std::string proxy;                 ///< camure-proxy path for the children
  std::uint32_t launch_timeout_ms = 30000;
};

/// Every rank of `m` and of its subtree (decoding the children).
std::vector<int> subtree_ranks(const JobMessage &m);

std::string encode_job(const JobMessage &m);
/// Decodes a job frame's payload; false on malformed input.
bool decode_job(std::string_view payload, JobMessage &m);

} // namespace camure::launcher
