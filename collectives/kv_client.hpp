// The rank side of the launcher's job-wide key/value store on the control channel.
#pragma once

#include <chrono>
#include <string>
#include <system_error>

namespace camure::collectives {

/// put/get over CAMURE_CONTROL_FD (SOCK_SEQPACKET, one line per message, replies in request
/// order): "put <key> <value>" -> "ok <key>" | "err <key> exists|invalid";
/// "get <key> <ms>" -> "val <key> <value>" | "err <key> timeout". Not thread-safe: one
/// caller at a time (the node leader during init).
class KvClient {
public:
  explicit KvClient(int control_fd) noexcept : fd_(control_fd) {}

  /// Stores key=value job-wide. Errors: already_exists (different value stored), invalid_argument,
  /// closed (launcher gone), protocol_error (unexpected reply).
  void put(const std::string &key, const std::string &value, std::error_code &ec, std::string &detail);
  /// Waits up to timeout for key to exist and returns its value. Errors: timeout, closed,
  /// invalid_argument, protocol_error.
  std::string get(const std::string &key, std::chrono::milliseconds timeout, std::error_code &ec,
                  std::string &detail);

private:
  std::string request(const std::string &line, std::chrono::milliseconds reply_within, std::error_code &ec,
                      std::string &detail);
  int fd_;
};

} // namespace camure::collectives
