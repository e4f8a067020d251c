// The node leader's topic bridge between the host's ring and the other hosts.
#include "collectives/topic_forwarder.hpp"

#include "collectives/net_wire.hpp"

#include <camure/error.hpp>
#include <camure/topic.hpp>

#include <cstring>

namespace camure::collectives {
namespace {

// How long the thread blocks on the ring before it looks at the network again.
constexpr auto ring_slice = std::chrono::milliseconds(1);
// How long a send may wait for the window before the thread checks for stop.
constexpr auto send_slice = std::chrono::milliseconds(100);

} // namespace

std::unique_ptr<TopicForwarder> TopicForwarder::start(TopicHub &hub, SessionTransport &net, int node_id,
                                                      std::error_code &ec, std::string &detail) {
  std::unique_ptr<TopicForwarder> f(new TopicForwarder(hub, net, node_id));
  // "/" with descendants: every publication on the host.
  f->sub_ = topic::Subscriber::create(hub.ring(), "/", true, ec);
  if (ec) {
    detail = "topic forwarder: cannot subscribe to the host's topics: " + ec.message();
    return nullptr;
  }
  try {
    f->thread_ = std::thread([p = f.get()] { p->run(); });
  } catch (const std::system_error &e) {
    ec = errc::system_error;
    detail = std::string("topic forwarder: cannot start its thread: ") + e.what();
    return nullptr;
  }
  return f;
}

TopicForwarder::~TopicForwarder() { stop(); }

void TopicForwarder::stop() noexcept {
  stop_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
}

void TopicForwarder::forward(const topic::Message &m) noexcept {
  if (m.payload.size() < topic_origin_bytes) return;
  const auto origin = static_cast<int>(wire::get_le(m.payload.data(), 4));
  if (origin != node_) return; // injected from another host: it has been delivered there already
  const std::size_t data_bytes = m.payload.size() - topic_origin_bytes;
  if (m.topic.size() > 0xffff) return; // cannot happen: topics are far shorter
  try {
    out_.resize(net_topic_header_bytes + m.topic.size() + data_bytes);
  } catch (...) {
    return;
  }
  std::byte *p = out_.data();
  wire::put_le(p, static_cast<std::uint32_t>(node_), 4);
  p[4] = static_cast<std::byte>(m.posted_to_descendants ? 1 : 0);
  p[5] = std::byte{0};
  wire::put_le(p + 6, m.topic.size(), 2);
  std::memcpy(p + net_topic_header_bytes, m.topic.data(), m.topic.size());
  if (data_bytes > 0)
    std::memcpy(p + net_topic_header_bytes + m.topic.size(), m.payload.data() + topic_origin_bytes, data_bytes);
  while (!stop_.load(std::memory_order_acquire)) {
    const std::error_code ec = net_.send_topic(out_, send_slice);
    if (ec != errc::timeout) return; // sent, or the session is gone (collectives report that)
  }
}

void TopicForwarder::inject_pending() noexcept {
  for (;;) {
    std::error_code ec;
    session::Message m = net_.recv_topic(session::Duration::zero(), ec);
    if (ec) return;
    const auto d = m.data();
    if (d.size() < net_topic_header_bytes) continue;
    const auto origin = static_cast<int>(wire::get_le(d.data(), 4));
    const bool desc = d[4] != std::byte{0};
    const auto topic_len = static_cast<std::size_t>(wire::get_le(d.data() + 6, 2));
    if (d.size() < net_topic_header_bytes + topic_len || origin == node_) continue;
    const std::string_view topic(reinterpret_cast<const char *>(d.data() + net_topic_header_bytes), topic_len);
    std::string detail;
    (void)hub_.inject(origin, topic, d.subspan(net_topic_header_bytes + topic_len), desc, detail);
  }
}

void TopicForwarder::run() noexcept {
  topic::Message m;
  while (!stop_.load(std::memory_order_acquire)) {
    try {
      const topic::ReceiveResult r = sub_.receive(m, ring_slice);
      if (r.status == topic::ReceiveStatus::ok) forward(m);
    } catch (...) {
      // out of memory for one message: it is lost for the other hosts, like an overrun
    }
    inject_pending();
  }
}

} // namespace camure::collectives
