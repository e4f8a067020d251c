// KvStore: the job-wide key/value store served on the control channel (put/get for wire-up).
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace camure::launcher {

/// Pure protocol logic, no I/O, time passed in. Requests are control lines:
///   `put <key> <value>` -> `ok <key>` | `err <key> exists` (same key, different value) |
///                          `err <key> invalid`
///   `get <key> <timeout_ms>` -> `val <key> <value>` as soon as the key exists, or
///                               `err <key> timeout` after timeout_ms
/// Keys are [A-Za-z0-9._-]{1,128}; values have no whitespace, at most 4096 bytes. Replies to
/// one rank leave in the order of its requests: a request waits behind that rank's pending get.
class KvStore {
public:
  using Clock = std::chrono::steady_clock;
  struct Reply {
    int rank;
    std::string line; ///< without newline
  };

  static constexpr std::size_t kMaxKey = 128;
  static constexpr std::size_t kMaxValue = 4096;

  /// Is `line` a KV request (put/get)? Other control lines are not the store's business.
  static bool is_request(std::string_view line);
  static bool valid_key(std::string_view key);

  /// Handles a request from `rank`; returns the replies that are ready now (for any rank).
  std::vector<Reply> request(int rank, std::string_view line, Clock::time_point now);
  /// Stores a value directly (the launcher's own keys, e.g. the session key).
  bool set(const std::string &key, const std::string &value);
  /// Expires gets whose timeout passed; returns their replies (and what they unblocked).
  std::vector<Reply> expire(Clock::time_point now);
  /// Earliest pending deadline, if any get is waiting.
  std::optional<Clock::time_point> next_deadline() const;
  /// Drops a rank's pending requests (it ended).
  void forget(int rank) { queues_.erase(rank); }
  std::optional<std::string> value(const std::string &key) const;

private:
  struct Pending {
    std::string line;
    Clock::time_point deadline;
  };
  /// Runs a rank's queue from the front while requests can be answered.
  void drain(int rank, Clock::time_point now, std::vector<Reply> &out);
  /// Answers one request, or returns false if it is a get that must wait.
  bool answer(int rank, const Pending &p, Clock::time_point now, bool expired, std::vector<Reply> &out);

  std::map<std::string, std::string> data_;
  std::map<int, std::deque<Pending>> queues_;
};

} // namespace camure::launcher
