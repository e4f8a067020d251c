// camure's C++ API: camure::World (RAII init/finalize), collectives and topic pub/sub.
#pragma once

#include <camure/error.hpp>
#include <camure/export.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace camure {

namespace detail {
struct SubscriptionState;
}

/// One message received on a topic.
struct Message {
  std::string topic;           ///< the topic it was published on
  std::vector<std::byte> data; ///< its payload
  std::uint64_t lost = 0;      ///< messages this subscription lost just before this one
};

/// Called for each message of a callback subscription on that subscription's delivery thread
/// (callbacks of one subscription never run concurrently). The message is valid only during the
/// call. Do not close a subscription from inside its own callback.
using TopicCallback = std::function<void(const Message &)>;

/// An open topic subscription. Move-only; closed by close() or the destructor.
class CAMURE_API Subscription {
public:
  Subscription() = default;
  Subscription(Subscription &&) noexcept;
  Subscription &operator=(Subscription &&) noexcept;
  Subscription(const Subscription &) = delete;
  Subscription &operator=(const Subscription &) = delete;
  ~Subscription();

  /// True if this handle holds an open subscription.
  explicit operator bool() const noexcept { return state_ != nullptr; }

  /// Waits up to `timeout` for the next message of a polling subscription.
  /// @return the message, or std::nullopt if none arrived in time.
  /// @throws camure::error (errc::invalid_argument for a callback subscription or a closed
  ///         handle, errc::not_initialized after finalize).
  /// @code
  /// auto sub = world.subscribe("/sim", true);
  /// if (auto m = sub.receive(std::chrono::seconds(1))) use(m->topic, m->data);
  /// @endcode
  std::optional<Message> receive(std::chrono::nanoseconds timeout);
  /// As receive(timeout), reporting errors through ec (nullopt then).
  std::optional<Message> receive(std::chrono::nanoseconds timeout, std::error_code &ec) noexcept;

  /// Closes the subscription; after it returns its callback is not running and never runs
  /// again. Closing an empty handle does nothing.
  void close() noexcept;

private:
  friend class World;
  explicit Subscription(std::shared_ptr<detail::SubscriptionState> s) : state_(std::move(s)) {}
  std::shared_ptr<detail::SubscriptionState> state_;
};

/// The job as seen by this rank: RAII around camure's init/finalize (one per process).
///
/// Every call comes in two forms: one throws camure::error, the other takes std::error_code&.
/// Collectives must be called by every rank in the same order, as with MPI.
/// @code
/// int main(int argc, char **argv) {
///   camure::World world(argc, argv);
///   std::vector<double> v(1024);
///   if (world.rank() == 0) fill(v);
///   world.bcast(std::span(v), 0);
///   world.barrier();
/// } // finalize
/// @endcode
class CAMURE_API World {
public:
  /// Initialises camure (see camure_init()). @throws camure::error
  World();
  /// Initialises camure; argc/argv are accepted for MPI symmetry and left untouched.
  World(int &argc, char **&argv);
  /// Non-throwing factory: on failure ec is set and the returned World is empty (!world).
  static World init(std::error_code &ec) noexcept;
  /// Non-throwing factory taking argc/argv.
  static World init(int &argc, char **&argv, std::error_code &ec) noexcept;

  World(World &&o) noexcept;
  World &operator=(World &&o) noexcept;
  World(const World &) = delete;
  World &operator=(const World &) = delete;
  /// Finalizes if still initialised (errors are swallowed; call finalize(ec) to see them).
  /// Destroyed by an exception (stack unwinding), it leaves without the final barrier and makes
  /// the other ranks' collectives fail with errc::peer_lost instead of waiting for it forever.
  ~World();

  /// True if this World holds the initialised runtime.
  explicit operator bool() const noexcept { return owns_; }

  /// Finalizes now (a barrier of the job, then detach). @throws camure::error
  void finalize();
  void finalize(std::error_code &ec) noexcept;

  int rank() const noexcept { return rank_; }             ///< 0 .. size()-1
  int size() const noexcept { return size_; }             ///< ranks in the job
  int local_rank() const noexcept { return local_rank_; } ///< index among this host's ranks
  int local_size() const noexcept { return local_size_; } ///< ranks on this host
  int node_id() const noexcept { return node_id_; }       ///< this host's index

  /// Blocks until every rank entered the barrier. @throws camure::error (peer_lost, timeout)
  void barrier();
  void barrier(std::error_code &ec) noexcept;

  /// Copies root's bytes into every rank's `data` (same size on every rank).
  /// @throws camure::error (invalid_argument for a bad root or a size mismatch)
  void bcast(std::span<std::byte> data, int root);
  void bcast(std::span<std::byte> data, int root, std::error_code &ec) noexcept;

  /// Typed form: broadcasts a span of trivially copyable elements.
  template <class T>
    requires(std::is_trivially_copyable_v<T> && !std::is_const_v<T>)
  void bcast(std::span<T> data, int root) {
    bcast(std::as_writable_bytes(data), root);
  }
  template <class T>
    requires(std::is_trivially_copyable_v<T> && !std::is_const_v<T>)
  void bcast(std::span<T> data, int root, std::error_code &ec) noexcept {
    bcast(std::as_writable_bytes(data), root, ec);
  }

  /// Publishes `data` on `topic`; with to_descendants, subscribers of descendant topics get
  /// it too. @throws camure::error (invalid_argument for a bad topic, message_too_large)
  void publish(std::string_view topic, std::span<const std::byte> data, bool to_descendants = false);
  void publish(std::string_view topic, std::span<const std::byte> data, bool to_descendants,
               std::error_code &ec) noexcept;

  /// Subscribes for polling with Subscription::receive. with_descendants: "/a" also gets "/a/b".
  Subscription subscribe(std::string_view topic, bool with_descendants = false);
  Subscription subscribe(std::string_view topic, bool with_descendants, std::error_code &ec) noexcept;

  /// Subscribes with a callback run on the subscription's own delivery thread.
  Subscription subscribe(std::string_view topic, bool with_descendants, TopicCallback callback);
  Subscription subscribe(std::string_view topic, bool with_descendants, TopicCallback callback,
                         std::error_code &ec) noexcept;

  /// Seconds, monotonic (as camure_wtime()).
  static double wtime() noexcept;

  /// Ends the whole job with exit_code (as camure_abort()).
  [[noreturn]] static void abort(int exit_code) noexcept;

private:
  struct empty_tag {};
  explicit World(empty_tag) noexcept {}
  void adopt() noexcept;

  bool owns_ = false;
  int rank_ = 0, size_ = 0, local_rank_ = 0, local_size_ = 0, node_id_ = 0;
};

} // namespace camure
