// Test helper: an in-memory network with a fake clock that drives SessionCore nodes (no sockets).
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "runtime/net/interceptor.hpp"
#include "runtime/net/session_core.hpp"

namespace camure::net::test {

/// Node i has address {i+1}. Multicast reaches every other node; each node's outgoing traffic
/// passes its own seeded Interceptor (drop / duplicate / reorder).
class FakeNetwork {
public:
  explicit FakeNetwork(InterceptorConfig loss = {}) : loss_(loss) {}

  static PeerAddr addr(std::size_t i) {
    PeerAddr a;
    a.raw[0] = static_cast<std::uint8_t>(i + 1);
    a.len = 1;
    return a;
  }

  /// Adds a node; cfg.coordinator_addr is filled in for members (node 0 is the coordinator).
  SessionCore &add(CoreConfig cfg, std::size_t coordinator_index = 0) {
    const std::size_t i = nodes_.size();
    if (cfg.role == Role::member) cfg.coordinator_addr = addr(coordinator_index);
    auto n = std::make_unique<Node>();
    InterceptorConfig ic = loss_;
    ic.seed = loss_.seed * 1000003 + i;
    n->icpt = std::make_unique<Interceptor>(ic);
    Node *raw = n.get();
    n->core = std::make_unique<SessionCore>(cfg, [this, raw, i](const PeerAddr *to, std::span<const std::uint8_t> d) {
      raw->icpt->send(to, d, [this, i](const PeerAddr *t, std::span<const std::uint8_t> x) { post(i, t, x); });
    });
    nodes_.push_back(std::move(n));
    return *nodes_.back()->core;
  }

  SessionCore &node(std::size_t i) { return *nodes_[i]->core; }
  std::size_t size() const { return nodes_.size(); }
  Nanos now() const { return now_; }
  /// A crashed node neither sends nor receives any more.
  void crash(std::size_t i) { nodes_[i]->dead = true; }
  /// A crashed (stopped) node runs again, as after SIGSTOP/SIGCONT; what was sent meanwhile is gone.
  void revive(std::size_t i) { nodes_[i]->dead = false; }
  /// A muted node still receives but everything it sends is lost (a one-way partition).
  void mute(std::size_t i, bool on = true) { nodes_[i]->muted = on; }
  /// Injects a raw datagram as if node `from` had sent it to node `to`.
  void inject(std::size_t from, std::size_t to, std::vector<std::uint8_t> d) {
    queue_.push_back({from, to, std::make_shared<const std::vector<std::uint8_t>>(std::move(d))});
  }
  bool dead(std::size_t i) const { return nodes_[i]->dead; }
  std::uint64_t delivered() const { return delivered_; }
  std::uint64_t dropped() const {
    std::uint64_t d = 0;
    for (auto &n : nodes_) d += n->icpt->dropped();
    return d;
  }

  /// Delivers everything in flight (including what deliveries cause), then advances the clock by
  /// `step` and ticks every live node.
  void step(Nanos step = 50'000) {
    for (int guard = 0; !queue_.empty() && guard < 10'000'000; ++guard) {
      Packet p = std::move(queue_.front());
      queue_.pop_front();
      if (nodes_[p.to]->dead) continue;
      ++delivered_;
      nodes_[p.to]->core->on_datagram(addr(p.from), p.data, now_);
    }
    now_ += step;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i]->dead) continue;
      nodes_[i]->icpt->flush([this, i](const PeerAddr *t, std::span<const std::uint8_t> x) { post(i, t, x); });
      nodes_[i]->core->tick(now_);
    }
  }

  /// Steps until pred() holds or `limit` of fake time passed. Returns pred().
  bool run_until(const std::function<bool()> &pred, Nanos limit = 10'000'000'000, Nanos dt = 50'000) {
    const Nanos end = now_ + limit;
    while (!pred()) {
      if (now_ >= end) return false;
      step(dt);
    }
    return true;
  }

private:
  struct Node {
    std::unique_ptr<Interceptor> icpt;
    std::unique_ptr<SessionCore> core;
    bool dead = false;
    bool muted = false;
  };
  struct Packet {
    std::size_t from, to;
    Buffer data;
  };

  void post(std::size_t from, const PeerAddr *to, std::span<const std::uint8_t> d) {
    if (nodes_[from]->dead || nodes_[from]->muted) return;
    auto buf = std::make_shared<const std::vector<std::uint8_t>>(d.begin(), d.end());
    if (to) {
      const std::size_t j = static_cast<std::size_t>(to->raw[0]) - 1;
      if (j < nodes_.size()) queue_.push_back({from, j, buf});
      return;
    }
    for (std::size_t j = 0; j < nodes_.size(); ++j)
      if (j != from) queue_.push_back({from, j, buf});
  }

  InterceptorConfig loss_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::deque<Packet> queue_;
  Nanos now_ = 1'000'000'000;
  std::uint64_t delivered_ = 0;
};

/// Standard configs for a coordinator and member i.
inline CoreConfig coordinator_config(std::uint64_t initial_seq = 0) {
  CoreConfig c;
  c.role = Role::coordinator;
  c.session_id = 0x1234567890abcdefULL;
  c.epoch = 7;
  c.key = std::array<std::uint8_t, kKeySize>{};
  c.key->fill(0x42);
  c.initial_seq = initial_seq;
  c.heartbeat_interval = 20'000'000;
  c.liveness_timeout = 200'000'000;
  c.window = 64 * 1024;
  return c;
}
inline CoreConfig member_config(std::size_t i, std::uint64_t initial_seq = 0) {
  CoreConfig c = coordinator_config(initial_seq);
  c.role = Role::member;
  c.session_id = 0;
  c.epoch = 0;
  c.join_nonce = 1000 + i;
  return c;
}

} // namespace camure::net::test
