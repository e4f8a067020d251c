// Rank-to-rank topics on the host: publish, polling and callback subscriptions over camure::topic.
#pragma once

#include "collectives/job_segment.hpp"

#include <camure/camure.hpp>
#include <camure/rmp.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace camure::detail {
struct SubscriptionState;
}

namespace camure::collectives {

/// The rank's gateway to the host's topic bus. Polling subscriptions are read by the caller's
/// thread (receive with a timeout); each callback subscription has its own delivery thread
/// (camure::topic::Subscription), stopped and joined when it is closed.
class TopicHub {
public:
  static std::unique_ptr<TopicHub> create(const std::string &prefix, int local_size,
                                          JobSegment::clock::time_point deadline, std::error_code &ec,
                                          std::string &detail);
  ~TopicHub();

  /// Removes the bus's names from /dev/shm (mappings stay valid).
  void unlink_names() noexcept;
  /// Closes every subscription (joining their delivery threads). Idempotent.
  void shutdown() noexcept;

  std::error_code publish(std::string_view topic, std::span<const std::byte> data, bool to_descendants,
                          std::string &detail) noexcept;

  /// Multi-host job: every ring payload starts with the publishing host's node id (stripped
  /// before delivery), so the leader's forwarder knows which messages are its host's own.
  /// Call before any publish/subscribe.
  void set_origin(int node_id) noexcept;
  /// Leader's forwarder: publishes a message that came from host `origin`.
  std::error_code inject(int origin, std::string_view topic, std::span<const std::byte> data, bool to_descendants,
                         std::string &detail) noexcept;
  /// The host's topic ring (for the leader's forwarder).
  rmp::Ring &ring() noexcept;

  /// Subscribes; an empty callback makes a polling subscription.
  std::shared_ptr<detail::SubscriptionState> subscribe(std::string_view topic, bool with_descendants,
                                                       TopicCallback callback, std::error_code &ec,
                                                       std::string &detail) noexcept;

  /// Next message of a polling subscription (nullopt and {} on timeout).
  static std::optional<Message> receive(detail::SubscriptionState &s, std::chrono::nanoseconds timeout,
                                        std::error_code &ec, std::string &detail) noexcept;

  /// Closes one subscription; when it returns its callback is not running and will not run.
  static void close(detail::SubscriptionState &s) noexcept;

  struct Impl;

private:
  explicit TopicHub(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

} // namespace camure::collectives

namespace camure::detail {
/// What a camure::Subscription / camure_subscription points at.
struct SubscriptionState {
  virtual ~SubscriptionState() = default;
  /// C API: a message received but not yet handed out (kept on CAMURE_ERR_TRUNCATED).
  std::optional<Message> pending;
  bool callback = false;
};
} // namespace camure::detail
