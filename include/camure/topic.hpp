// camure::topic — hierarchical publish/subscribe on top of an RMP ring.
//
// Topics are paths: "/" (the root) or "/seg/seg/..." with non-empty segments, no trailing '/'.
// Matching is by whole path segment:
//   - a subscription always gets messages published to exactly its topic;
//   - with receive_descendants, "/a" also gets "/a/b" and "/a/b/c" (never "/ab");
//   - a message published with post_to_descendants to "/a" also reaches subscribers of "/a/b".
// "/" is the ancestor of every other topic. The empty string is not a topic (invalid_argument).
// Filtering happens in the subscriber (no per-topic membership), so publishers and subscribers
// come and go freely; a subscription sees only messages published after it was created.
//
// @code
//   auto ring = camure::rmp::Ring::create_or_open("job7-topics");
//   auto sub = camure::topic::Subscriber::create(ring, "/sensors", true);
//   auto pub = camure::topic::Publisher::create(ring);
//   pub.publish("/sensors/t1", std::as_bytes(std::span("21.5", 4)));
//   camure::topic::Message m;
//   if (sub.receive(m, std::chrono::seconds(1)).ok()) use(m.topic, m.payload);
// @endcode
#pragma once

#include <camure/error.hpp>
#include <camure/export.hpp>
#include <camure/rmp.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace camure::topic {

/// True if `topic` is a valid topic path (see the file comment). At most 4096 bytes.
CAMURE_API bool valid(std::string_view topic) noexcept;

/// True if a subscription to `subscription` (with receive_descendants) gets a message published
/// to `published` (with post_to_descendants). False if either topic is invalid.
CAMURE_API bool matches(std::string_view subscription, bool receive_descendants, std::string_view published,
                        bool post_to_descendants) noexcept;

/// Publishes topic messages into a ring. One per thread.
class CAMURE_API Publisher {
public:
  Publisher();
  Publisher(Publisher &&) noexcept;
  Publisher &operator=(Publisher &&) noexcept;
  ~Publisher();

  /// Errors: those of rmp::Writer::create.
  static Publisher create(const rmp::Ring &ring, std::error_code &ec);
  /// Throwing form of create().
  static Publisher create(const rmp::Ring &ring);

  /// Publishes data to topic; returns the ring sequence number. Errors: invalid_argument (bad
  /// topic), message_too_large, and those of rmp::Writer::write.
  std::uint64_t publish(std::string_view topic, std::span<const std::byte> data, bool post_to_descendants,
                        std::error_code &ec);
  /// Throwing form of publish().
  std::uint64_t publish(std::string_view topic, std::span<const std::byte> data, bool post_to_descendants = false);

private:
  rmp::Writer writer_;
};

/// A received topic message.
struct Message {
  std::string topic;
  std::vector<std::byte> payload;
  std::uint64_t sequence = 0;        ///< ring sequence number (total order across topics)
  bool posted_to_descendants = false;
};

enum class ReceiveStatus {
  ok,      ///< a matching message was delivered
  lost,    ///< overrun: `lost` ring messages (of any topic) were lost; next receive continues
  timeout, ///< nothing matching arrived in time
};

struct ReceiveResult {
  ReceiveStatus status = ReceiveStatus::timeout;
  std::uint64_t lost = 0;
  bool ok() const noexcept { return status == ReceiveStatus::ok; }
};

/// Callback invoked for each matching message.
using Callback = std::function<void(const Message &)>;
/// Callback invoked when the subscriber was overrun (count of lost ring messages).
using LossCallback = std::function<void(std::uint64_t lost)>;

/// A polling subscription. Not thread-safe per object.
class CAMURE_API Subscriber {
public:
  Subscriber();
  Subscriber(Subscriber &&) noexcept;
  Subscriber &operator=(Subscriber &&) noexcept;
  ~Subscriber();

  /// Subscribes to topic. Errors: invalid_argument (bad topic), those of rmp::Reader::create.
  static Subscriber create(const rmp::Ring &ring, std::string_view topic, bool receive_descendants,
                           std::error_code &ec);
  /// Throwing form of create().
  static Subscriber create(const rmp::Ring &ring, std::string_view topic, bool receive_descendants = false);

  /// Waits up to timeout for the next matching message.
  ReceiveResult receive(Message &out, std::chrono::nanoseconds timeout);
  /// Callback form: delivers matching messages to on_message until none arrives within
  /// timeout (0 = only what is already there); returns how many were delivered.
  std::size_t poll(const Callback &on_message, std::chrono::nanoseconds timeout, const LossCallback &on_loss = {});

  /// Makes a receive()/poll() blocked on another thread return early (ReceiveStatus::timeout).
  /// The only member that may be called concurrently with the others.
  void interrupt() noexcept { reader_.interrupt(); }

  const std::string &topic() const noexcept { return topic_; }
  bool receives_descendants() const noexcept { return descendants_; }
  /// Ring messages skipped because they were not topic messages or did not parse.
  std::uint64_t foreign_messages() const noexcept { return foreign_; }

private:
  rmp::Reader reader_;
  std::string topic_;
  bool descendants_ = false;
  std::vector<std::byte> buf_;
  std::uint64_t foreign_ = 0;
};

/// Callback form with its own thread: calls on_message for each matching message until stopped.
class CAMURE_API Subscription {
public:
  Subscription();
  Subscription(Subscription &&) noexcept;
  Subscription &operator=(Subscription &&) noexcept;
  /// Stops the thread (see stop()).
  ~Subscription();

  /// Subscribes (synchronously: messages published after this returns are delivered) and
  /// starts the delivery thread. Errors: those of Subscriber::create.
  static Subscription start(const rmp::Ring &ring, std::string_view topic, bool receive_descendants,
                            Callback on_message, LossCallback on_loss, std::error_code &ec);
  /// Throwing form of start().
  static Subscription start(const rmp::Ring &ring, std::string_view topic, bool receive_descendants,
                            Callback on_message, LossCallback on_loss = {});

  /// Stops delivery (interrupting a blocked receive) and joins the thread. Never call from a
  /// callback.
  void stop() noexcept;

private:
  struct State;
  std::unique_ptr<State> state_;
};

} // namespace camure::topic
