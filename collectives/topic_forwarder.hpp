// The node leader's topic bridge: its host's publications out to the other hosts, theirs in.
#pragma once

#include "collectives/session_transport.hpp"
#include "collectives/topic_hub.hpp"

#include <camure/topic.hpp>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace camure::collectives {

/// One thread on the node leader. It reads the host's topic ring (every topic) and sends the
/// messages whose origin is this host to the other leaders (topic broadcast group, FIFO per
/// sender, exactly once); messages from other hosts it injects into the ring with their origin
/// kept, so they are never sent on again (no loops, no duplicates). Per publisher, order is
/// kept end to end (ring FIFO per writer, session FIFO per sender).
class TopicForwarder {
public:
  static std::unique_ptr<TopicForwarder> start(TopicHub &hub, SessionTransport &net, int node_id,
                                               std::error_code &ec, std::string &detail);
  ~TopicForwarder(); ///< stop()
  /// Stops and joins the thread. Idempotent.
  void stop() noexcept;

private:
  TopicForwarder(TopicHub &hub, SessionTransport &net, int node_id) : hub_(hub), net_(net), node_(node_id) {}
  void run() noexcept;
  void forward(const topic::Message &m) noexcept;
  void inject_pending() noexcept;

  TopicHub &hub_;
  SessionTransport &net_;
  int node_;
  topic::Subscriber sub_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::byte> out_;
};

} // namespace camure::collectives
