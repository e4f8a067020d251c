// Rank-to-rank topics over camure::topic: one bus ring per host, polling and callback subscriptions.
#include "collectives/topic_hub.hpp"

#include "collectives/net_wire.hpp"

#include <camure/error.hpp>
#include <camure/topic.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

namespace camure::collectives {
namespace {

using clock = JobSegment::clock;

std::size_t topic_ring_bytes(std::error_code &ec, std::string &detail) {
  constexpr std::size_t def = std::size_t{4} << 20;
  const char *v = std::getenv("CAMURE_TOPIC_RING_BYTES");
  if (v == nullptr || *v == '\0') return def;
  std::size_t n = 0;
  const char *end = v + std::strlen(v);
  auto [p, e] = std::from_chars(v, end, n);
  if (e != std::errc() || p != end) {
    ec = errc::invalid_argument;
    detail = std::string("CAMURE_TOPIC_RING_BYTES='") + v + "' is not a number of bytes";
  }
  return n;
}

std::string topic_detail(std::string_view topic, std::error_code ec) {
  if (ec == errc::invalid_argument && !topic::valid(topic)) {
    // Built by appending: GCC 12's -Wrestrict misfires on "'" + std::string(...) at -O3.
    std::string text(1, '\'');
    text.append(topic);
    text.append("' is not a topic (\"/\" or \"/seg/seg...\", no empty segment, no trailing '/')");
    return text;
  }
  return ec.message();
}

// One subscription of this rank: a polling topic::Subscriber or a callback topic::Subscription.
struct HubSubscription final : detail::SubscriptionState {
  std::atomic<bool> closing{false}; // lets close() interrupt a blocked receive within a slice
  std::mutex mu;
  bool closed = false;
  topic::Subscriber poller;      // polling form
  topic::Subscription deliverer; // callback form
  std::uint64_t lost = 0;        // polling: lost before the next message
  topic::Message scratch;
  bool strip = false; // multi-host: payloads start with the origin node id

  void close() noexcept {
    closing.store(true, std::memory_order_release);
    topic::Subscription d;
    {
      std::lock_guard lock(mu);
      if (closed) return;
      closed = true;
      poller = topic::Subscriber();
      d = std::move(deliverer);
    }
    d.stop(); // joins the delivery thread outside our lock (a callback may be running)
  }
};

} // namespace

struct TopicHub::Impl {
  rmp::Ring ring;
  std::mutex pub_mu;
  topic::Publisher publisher; // created on first publish (a writer slot per publishing rank)
  bool publisher_created = false;
  std::mutex subs_mu;
  std::vector<std::weak_ptr<HubSubscription>> subs;
  bool shut = false;
  int origin = -1; // multi-host: this host's node id, prefixed to every ring payload
  std::vector<std::byte> framed;
};

TopicHub::TopicHub(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TopicHub::~TopicHub() { shutdown(); }

std::unique_ptr<TopicHub> TopicHub::create(const std::string &prefix, int local_size, clock::time_point deadline,
                                           std::error_code &ec, std::string &detail) {
  ec.clear();
  const std::size_t bytes = topic_ring_bytes(ec, detail);
  if (ec) return nullptr;
  auto impl = std::make_unique<Impl>();
  rmp::RingOptions ro;
  ro.capacity = bytes;
  // One writer per publishing rank plus one reader per subscription: room for many of them.
  ro.max_participants = static_cast<std::uint32_t>(std::min(4096, 32 * local_size + 32));
  ro.backpressure = rmp::Backpressure::overrun; // a slow subscriber loses (and is told), never blocks others
  const std::string name = prefix + "-topics";
  impl->ring = rmp::Ring::create_or_open(name, ro, deadline, ec);
  if (ec) {
    detail = "cannot attach the topic ring " + name + ": " + ec.message();
    return nullptr;
  }
  return std::unique_ptr<TopicHub>(new TopicHub(std::move(impl)));
}

void TopicHub::unlink_names() noexcept {
  if (impl_->ring.valid()) (void)rmp::Ring::remove(impl_->ring.name());
}

void TopicHub::shutdown() noexcept {
  std::vector<std::shared_ptr<HubSubscription>> open;
  {
    std::lock_guard lock(impl_->subs_mu);
    impl_->shut = true;
    for (auto &w : impl_->subs)
      if (auto s = w.lock()) open.push_back(std::move(s));
    impl_->subs.clear();
  }
  for (auto &s : open) s->close();
  std::lock_guard lock(impl_->pub_mu);
  impl_->publisher = topic::Publisher();
  impl_->publisher_created = false;
}

void TopicHub::set_origin(int node_id) noexcept { impl_->origin = node_id; }

rmp::Ring &TopicHub::ring() noexcept { return impl_->ring; }

std::error_code TopicHub::publish(std::string_view topic, std::span<const std::byte> data, bool to_descendants,
                                  std::string &detail) noexcept {
  return inject(impl_->origin, topic, data, to_descendants, detail);
}

std::error_code TopicHub::inject(int origin, std::string_view topic, std::span<const std::byte> data,
                                 bool to_descendants, std::string &detail) noexcept {
  std::error_code ec;
  std::lock_guard lock(impl_->pub_mu);
  if (!topic::valid(topic)) {
    detail = topic_detail(topic, errc::invalid_argument);
    return errc::invalid_argument;
  }
  if (impl_->shut) {
    detail = "the runtime is finalizing";
    return errc::closed;
  }
  try {
    if (!impl_->publisher_created) {
      impl_->publisher = topic::Publisher::create(impl_->ring, ec);
      if (ec) {
        detail = "cannot attach a publisher: " + ec.message();
        return ec;
      }
      impl_->publisher_created = true;
    }
    if (impl_->origin >= 0) {
      auto &f = impl_->framed;
      f.resize(topic_origin_bytes + data.size());
      wire::put_le(f.data(), static_cast<std::uint32_t>(origin), 4);
      if (!data.empty()) std::memcpy(f.data() + topic_origin_bytes, data.data(), data.size());
      impl_->publisher.publish(topic, f, to_descendants, ec);
    } else {
      impl_->publisher.publish(topic, data, to_descendants, ec);
    }
  } catch (const std::bad_alloc &) {
    ec = errc::no_memory;
  }
  if (ec) detail = "publish to '" + std::string(topic) + "': " + topic_detail(topic, ec);
  return ec;
}

std::shared_ptr<detail::SubscriptionState> TopicHub::subscribe(std::string_view topic, bool with_descendants,
                                                               TopicCallback callback, std::error_code &ec,
                                                               std::string &detail) noexcept {
  ec.clear();
  try {
    if (!topic::valid(topic)) {
      ec = errc::invalid_argument;
      detail = topic_detail(topic, ec);
      return nullptr;
    }
    auto s = std::make_shared<HubSubscription>();
    s->callback = static_cast<bool>(callback);
    s->strip = impl_->origin >= 0;
    if (s->callback) {
      // Losses are reported with the next message; both callbacks run on the delivery thread.
      auto lost = std::make_shared<std::uint64_t>(0);
      const bool strip = impl_->origin >= 0;
      auto on_message = [cb = std::move(callback), lost, strip](const topic::Message &m) {
        if (strip && m.payload.size() < topic_origin_bytes) return; // not ours: ignore
        Message out{m.topic,
                    std::vector<std::byte>(m.payload.begin() + (strip ? static_cast<std::ptrdiff_t>(topic_origin_bytes) : 0),
                                           m.payload.end()),
                    *lost};
        *lost = 0;
        cb(out);
      };
      auto on_loss = [lost](std::uint64_t n) { *lost += n; };
      s->deliverer = topic::Subscription::start(impl_->ring, topic, with_descendants, on_message, on_loss, ec);
    } else {
      s->poller = topic::Subscriber::create(impl_->ring, topic, with_descendants, ec);
    }
    if (ec) {
      detail = "subscribe to '" + std::string(topic) + "': " + topic_detail(topic, ec);
      return nullptr;
    }
    std::lock_guard lock(impl_->subs_mu);
    if (impl_->shut) {
      s->close();
      ec = errc::closed;
      detail = "the runtime is finalizing";
      return nullptr;
    }
    // Forget subscriptions that were closed and released meanwhile.
    std::erase_if(impl_->subs, [](const std::weak_ptr<HubSubscription> &w) { return w.expired(); });
    impl_->subs.push_back(s);
    return s;
  } catch (const std::bad_alloc &) {
    ec = errc::no_memory;
    detail = "out of memory";
    return nullptr;
  }
}

std::optional<Message> TopicHub::receive(detail::SubscriptionState &state, std::chrono::nanoseconds timeout,
                                         std::error_code &ec, std::string &detail) noexcept {
  ec.clear();
  auto &s = static_cast<HubSubscription &>(state);
  std::lock_guard lock(s.mu);
  if (s.closed) {
    ec = errc::closed;
    detail = "the subscription is closed";
    return std::nullopt;
  }
  if (s.callback) {
    ec = errc::invalid_argument;
    detail = "a callback subscription cannot be polled";
    return std::nullopt;
  }
  const auto deadline = timeout >= std::chrono::hours(24 * 365) ? clock::time_point::max() : clock::now() + timeout;
  try {
    for (;;) {
      if (s.closing.load(std::memory_order_acquire)) {
        ec = errc::closed;
        detail = "the subscription was closed while waiting";
        return std::nullopt;
      }
      // Slices, so that a close() from another thread ends the wait promptly.
      const auto now = clock::now();
      const auto slice = std::min(deadline, now + std::chrono::milliseconds(100));
      const auto left = std::max<std::chrono::nanoseconds>(slice - now, std::chrono::nanoseconds(0));
      const topic::ReceiveResult r = s.poller.receive(s.scratch, left);
      if (r.status == topic::ReceiveStatus::ok) {
        if (s.strip) {
          if (s.scratch.payload.size() < topic_origin_bytes) continue; // not ours: ignore
          s.scratch.payload.erase(s.scratch.payload.begin(),
                                  s.scratch.payload.begin() + static_cast<std::ptrdiff_t>(topic_origin_bytes));
        }
        Message m{std::move(s.scratch.topic), std::move(s.scratch.payload), s.lost};
        s.lost = 0;
        return m;
      }
      if (r.status == topic::ReceiveStatus::lost) {
        s.lost += r.lost; // told with the next message
        continue;
      }
      if (clock::now() >= deadline) return std::nullopt; // timeout: not an error
    }
  } catch (const std::bad_alloc &) {
    ec = errc::no_memory;
    detail = "out of memory";
    return std::nullopt;
  }
}

void TopicHub::close(detail::SubscriptionState &state) noexcept { static_cast<HubSubscription &>(state).close(); }

} // namespace camure::collectives
