// camure::topic Publisher / Subscriber / Subscription over an RMP ring (client-side filtering).
#include <camure/topic.hpp>

#include "runtime/shm/topic_layout.hpp"

#include <atomic>
#include <cstring>
#include <thread>

namespace camure::topic {

using detail::TopicHeader;

// ---- Publisher ----

Publisher::Publisher() = default;
Publisher::Publisher(Publisher &&) noexcept = default;
Publisher &Publisher::operator=(Publisher &&) noexcept = default;
Publisher::~Publisher() = default;

Publisher Publisher::create(const rmp::Ring &ring, std::error_code &ec) {
  Publisher p;
  p.writer_ = rmp::Writer::create(ring, ec);
  return ec ? Publisher{} : std::move(p);
}

Publisher Publisher::create(const rmp::Ring &ring) {
  std::error_code ec;
  Publisher p = create(ring, ec);
  throw_if(ec, "camure::topic::Publisher::create");
  return p;
}

std::uint64_t Publisher::publish(std::string_view topic, std::span<const std::byte> data, bool post_to_descendants,
                                 std::error_code &ec) {
  ec.clear();
  if (!valid(topic)) {
    ec = make_error_code(errc::invalid_argument);
    return 0;
  }
  if (!writer_.valid()) {
    ec = make_error_code(errc::not_initialized);
    return 0;
  }
  const TopicHeader h{detail::kTopicTag, static_cast<std::uint16_t>(topic.size()),
                      post_to_descendants ? detail::kFlagPostToDescendants : std::uint8_t{0}, 0};
  const std::span<const std::byte> parts[3] = {
      std::as_bytes(std::span(&h, 1)), std::as_bytes(std::span(topic.data(), topic.size())), data};
  return writer_.write_gather(parts, ec);
}

std::uint64_t Publisher::publish(std::string_view topic, std::span<const std::byte> data, bool post_to_descendants) {
  std::error_code ec;
  const std::uint64_t seq = publish(topic, data, post_to_descendants, ec);
  throw_if(ec, "camure::topic::Publisher::publish");
  return seq;
}

// ---- Subscriber ----

Subscriber::Subscriber() = default;
Subscriber::Subscriber(Subscriber &&) noexcept = default;
Subscriber &Subscriber::operator=(Subscriber &&) noexcept = default;
Subscriber::~Subscriber() = default;

Subscriber Subscriber::create(const rmp::Ring &ring, std::string_view topic, bool receive_descendants,
                              std::error_code &ec) {
  ec.clear();
  if (!valid(topic)) {
    ec = make_error_code(errc::invalid_argument);
    return {};
  }
  Subscriber s;
  s.reader_ = rmp::Reader::create(ring, ec);
  if (ec) return {};
  s.topic_ = topic;
  s.descendants_ = receive_descendants;
  s.buf_.resize(4096);
  return s;
}

Subscriber Subscriber::create(const rmp::Ring &ring, std::string_view topic, bool receive_descendants) {
  std::error_code ec;
  Subscriber s = create(ring, topic, receive_descendants, ec);
  throw_if(ec, "camure::topic::Subscriber::create");
  return s;
}

ReceiveResult Subscriber::receive(Message &out, std::chrono::nanoseconds timeout) {
  if (!reader_.valid()) return {ReceiveStatus::timeout, 0};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::max(std::chrono::nanoseconds{0},
                               std::chrono::nanoseconds(deadline - std::chrono::steady_clock::now()));
    const rmp::ReadResult r = reader_.read_into(buf_, left);
    switch (r.status) {
    case rmp::ReadStatus::ok: break;
    case rmp::ReadStatus::lost: return {ReceiveStatus::lost, r.lost};
    case rmp::ReadStatus::truncated: buf_.resize(r.size); continue;
    case rmp::ReadStatus::corrupt:
      ++foreign_;
      if (r.lost) return {ReceiveStatus::lost, r.lost};
      continue;
    case rmp::ReadStatus::would_block:
      if (std::chrono::steady_clock::now() >= deadline) return {ReceiveStatus::timeout, 0};
      continue;
    case rmp::ReadStatus::timeout: // deadline passed, or interrupt()
      return {ReceiveStatus::timeout, 0};
    }
    // Parse with every length checked against what was received.
    TopicHeader h;
    if (r.size < sizeof h) {
      ++foreign_;
      continue;
    }
    std::memcpy(&h, buf_.data(), sizeof h);
    if (h.tag != detail::kTopicTag || h.topic_len == 0 || sizeof h + h.topic_len > r.size) {
      ++foreign_;
      continue;
    }
    const std::string_view topic(reinterpret_cast<const char *>(buf_.data()) + sizeof h, h.topic_len);
    const bool post_desc = (h.flags & detail::kFlagPostToDescendants) != 0;
    if (!matches(topic_, descendants_, topic, post_desc)) continue;
    out.topic.assign(topic);
    const std::byte *payload = buf_.data() + sizeof h + h.topic_len;
    out.payload.assign(payload, static_cast<const std::byte *>(buf_.data() + r.size));
    out.sequence = r.sequence;
    out.posted_to_descendants = post_desc;
    return {ReceiveStatus::ok, 0};
  }
}

std::size_t Subscriber::poll(const Callback &on_message, std::chrono::nanoseconds timeout, const LossCallback &on_loss) {
  std::size_t n = 0;
  Message m;
  for (;;) {
    const ReceiveResult r = receive(m, timeout);
    if (r.status == ReceiveStatus::timeout) return n;
    if (r.status == ReceiveStatus::lost) {
      if (on_loss) on_loss(r.lost);
      continue;
    }
    if (on_message) on_message(m);
    ++n;
  }
}

// ---- Subscription ----

struct Subscription::State {
  Subscriber sub;
  Callback on_message;
  LossCallback on_loss;
  std::atomic<bool> stop{false};
  std::thread thread;
};

Subscription::Subscription() = default;
Subscription::Subscription(Subscription &&) noexcept = default;
Subscription &Subscription::operator=(Subscription &&o) noexcept {
  if (this != &o) {
    stop();
    state_ = std::move(o.state_);
  }
  return *this;
}
Subscription::~Subscription() { stop(); }

Subscription Subscription::start(const rmp::Ring &ring, std::string_view topic, bool receive_descendants,
                                 Callback on_message, LossCallback on_loss, std::error_code &ec) {
  auto st = std::make_unique<State>();
  st->sub = Subscriber::create(ring, topic, receive_descendants, ec);
  if (ec) return {};
  st->on_message = std::move(on_message);
  st->on_loss = std::move(on_loss);
  State *s = st.get();
  s->thread = std::thread([s] {
    Message m;
    while (!s->stop.load(std::memory_order_acquire)) {
      // Sleeps on the ring's futex until a message or stop()'s interrupt: zero CPU while idle.
      const ReceiveResult r = s->sub.receive(m, std::chrono::hours(24));
      if (r.status == ReceiveStatus::ok && s->on_message) s->on_message(m);
      if (r.status == ReceiveStatus::lost && s->on_loss) s->on_loss(r.lost);
    }
  });
  Subscription out;
  out.state_ = std::move(st);
  return out;
}

Subscription Subscription::start(const rmp::Ring &ring, std::string_view topic, bool receive_descendants,
                                 Callback on_message, LossCallback on_loss) {
  std::error_code ec;
  Subscription s = start(ring, topic, receive_descendants, std::move(on_message), std::move(on_loss), ec);
  throw_if(ec, "camure::topic::Subscription::start");
  return s;
}

void Subscription::stop() noexcept {
  if (!state_) return;
  state_->stop.store(true, std::memory_order_release);
  state_->sub.interrupt();
  if (state_->thread.joinable()) state_->thread.join();
  state_.reset();
}

} // namespace camure::topic
