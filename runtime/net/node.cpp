// Session node: wires SessionCore to the Transport, runs the progress thread, implements waits.
#include "runtime/net/node.hpp"

#include <sodium.h>

#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "runtime/net/transport.hpp"

namespace camure::session {

namespace {
/// How a waiting leader looks at the sockets before it blocks (see WaitPolicy). The spin
/// budget stays 200 us: measured with 7 members on 2 cores (8 processes) a shorter one costs a
/// wake-up per hop (tens of us on this VM), and blocking as soon as a yield took 100 us (other
/// work on the CPU) doubled the barrier time under a compile load of 8-16 (wake-ups again), so
/// only a yield that lost a whole time slice (1 ms) makes the next waits block at once.
/// CAMURE_NET_SPIN_US overrides the budget (0 = block at once).
net::WaitPolicy::Config wait_config() {
  static const net::WaitPolicy::Config cfg = [] {
    net::WaitPolicy::Config c;
    const char *e = std::getenv("CAMURE_NET_SPIN_US");
    const long v = e ? std::strtol(e, nullptr, 10) : -1;
    if (v >= 0 && v <= 1'000'000) c.spin = v * 1000;
    return c;
  }();
  return cfg;
}

net::Nanos to_nanos(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::array<std::uint8_t, 8> random_bytes() {
  std::array<std::uint8_t, 8> b{};
  if (sodium_init() >= 0) randombytes_buf(b.data(), b.size());
  return b;
}
std::uint64_t random_u64() {
  auto b = random_bytes();
  std::uint64_t v = 0;
  for (auto x : b) v = (v << 8) | x;
  return v ? v : 1;
}
} // namespace

std::shared_ptr<Node> Node::create(const Params &p, std::error_code &ec) {
  ec.clear();
  const Options &o = p.options;
  if (o.max_datagram < 128 || o.max_datagram > net::kMaxDatagram || o.window_bytes < o.max_datagram ||
      o.heartbeat_interval.count() <= 0 || o.liveness_timeout <= o.heartbeat_interval ||
      o.retransmit_interval.count() <= 0 || o.ttl < 0 || o.ttl > 255) {
    ec = make_error_code(errc::invalid_argument);
    return nullptr;
  }
  std::shared_ptr<Node> n(new Node);
  n->transport_ = p.role == net::Role::coordinator ? Transport::open_coordinator(p.bind, p.multicast, o, ec)
                                                   : Transport::open_member(p.coordinator, o, ec);
  if (!n->transport_) return nullptr;
  n->local_ = n->transport_->local_endpoint();
  n->rto_ = o.retransmit_interval;
  n->policy_ = net::WaitPolicy(wait_config());

  net::CoreConfig cc;
  cc.role = p.role;
  cc.key = o.key;
  cc.max_datagram = o.max_datagram;
  cc.window = o.window_bytes;
  cc.max_unread = o.max_unread_bytes;
  cc.heartbeat_interval = std::chrono::duration_cast<std::chrono::nanoseconds>(o.heartbeat_interval).count();
  cc.liveness_timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(o.liveness_timeout).count();
  cc.retransmit_interval = std::chrono::duration_cast<std::chrono::nanoseconds>(o.retransmit_interval).count();
  if (p.role == net::Role::coordinator) {
    cc.session_id = random_u64();
    cc.epoch = static_cast<std::uint32_t>(random_u64()) | 1u;
    cc.multicast_info = n->transport_->multicast_info();
  } else {
    cc.join_nonce = random_u64();
    cc.coordinator_addr = n->transport_->coordinator_addr();
  }
  net::InterceptorConfig ic;
  ic.drop = o.inject_loss;
  ic.duplicate = o.inject_duplicate;
  ic.reorder = o.inject_reorder;
  ic.seed = o.inject_seed;
  if (ic.active()) n->interceptor_ = std::make_unique<net::Interceptor>(ic);
  Transport *t = n->transport_.get();
  net::Interceptor *icpt = n->interceptor_.get();
  Node *owner = n.get();
  n->core_ = std::make_unique<net::SessionCore>(cc, [owner, icpt](const net::PeerAddr *to, std::span<const std::uint8_t> d) {
    // Runs under mu_. After shutdown the sockets are gone (a group handle may outlive its
    // Coordinator/Member and say goodbye late): then there is nothing to send with.
    Transport *tr = owner->transport_.get();
    if (!tr) return;
    if (icpt)
      icpt->send(to, d, [tr](const net::PeerAddr *x, std::span<const std::uint8_t> y) { tr->send(x, y); });
    else
      tr->send(to, d);
  });

  // The progress thread holds only a raw pointer: shutdown() joins it before anything dies.
  Node *self = n.get();
  const auto tick = std::max<std::chrono::microseconds>(std::chrono::microseconds(200), o.retransmit_interval / 2);
  n->fast_tick_ = tick;
  n->slow_tick_ = 4 * tick;
  n->thread_ = std::thread([self, t, tick] {
    t->run([self] { self->on_datagrams_ready(); }, [self] { self->on_tick(); }, tick);
  });

  if (p.role == net::Role::member) {
    {
      std::lock_guard<std::mutex> lk(n->mu_);
      n->core_->start_join(n->now());
      n->flush_locked();
    }
    const auto deadline = Clock::now() + o.join_timeout;
    ec = n->wait([](net::SessionCore &c) { return c.state() == net::NodeState::joined; }, deadline);
    if (ec) {
      if (ec == errc::coordinator_lost) ec = make_error_code(errc::timeout);
      n->shutdown();
      return nullptr;
    }
    {
      std::lock_guard<std::mutex> lk(n->mu_); // serialised with park/unpark
      ec = n->transport_->join_group(n->core_->multicast_info());
    }
    if (ec) {
      n->shutdown();
      return nullptr;
    }
  }
  return n;
}

Node::~Node() { shutdown(); }

void Node::shutdown() {
  if (stopped_.exchange(true)) return;
  if (core_ && core_->role() == net::Role::coordinator && thread_.joinable()) {
    // Linger briefly: announce CLOSE and keep answering ARRIVE retransmits of members whose
    // last RELEASE was lost, so a final barrier does not end in coordinator_lost for them.
    std::unique_lock<std::mutex> lk(mu_);
    const auto end = Clock::now() + std::min<Clock::duration>(std::chrono::milliseconds(100), 20 * rto_);
    core_->announce_close(now());
    flush_locked();
    while (Clock::now() < end) cv_.wait_until(lk, end);
    core_->announce_close(now());
    flush_locked();
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (core_) {
      core_->leave(now()); // members say goodbye
      flush_locked();
      core_->close();
    }
    closed_ = true;
    cv_.notify_all();
    if (leader_polling_) transport_->wake();
  }
  if (transport_) transport_->stop();
  if (thread_.joinable()) thread_.join();
  std::unique_lock<std::mutex> lk(mu_); // app threads may be reading the sockets inline
  while (leader_polling_) {             // or blocked in poll on them
    transport_->wake();
    cv_.wait_for(lk, std::chrono::milliseconds(1));
  }
  transport_.reset(); // closes the sockets
}

net::Nanos Node::now() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0_).count() + 1'000'000'000;
}

std::error_code Node::state_error_locked() const {
  if (closed_) return make_error_code(errc::closed);
  switch (core_->state()) {
  case net::NodeState::coordinator_lost: return make_error_code(errc::coordinator_lost);
  case net::NodeState::evicted: return make_error_code(errc::evicted);
  case net::NodeState::closed: return make_error_code(errc::closed);
  default: return {};
  }
}

std::error_code Node::session_error() const {
  std::lock_guard<std::mutex> lk(mu_);
  return state_error_locked();
}

bool Node::wait_step(std::unique_lock<std::mutex> &lk, Clock::time_point deadline, unsigned &spins, bool &leader) {
  const auto now_tp = Clock::now();
  if (now_tp >= deadline) return false;
  // The first waiter takes the sockets over from the progress thread (which keeps ticking).
  if (!leader && !leader_ && !stopped_.load(std::memory_order_relaxed) && transport_) {
    leader = leader_ = true;
    spins = 0;          // the policy starts with this thread's first step as leader
    transport_->park(); // no-op when the previous leader left them parked
    handover_.wait_started(to_nanos(now_tp));
  }
  ++spins;
  if (!leader) { // another thread reads the sockets and notifies us
    ++waiters_;
    cv_.wait_until(lk, std::min(deadline, now_tp + std::chrono::milliseconds(50)));
    --waiters_;
    return true;
  }
  if (stopped_.load(std::memory_order_relaxed)) { // shutting down: wait for closed_
    cv_.wait_until(lk, std::min(deadline, now_tp + std::chrono::milliseconds(5)));
    return true;
  }
  // Wait on the sockets themselves, without the lock (the progress thread must be able to
  // tick meanwhile): look, yield or block as the policy says; the datagram wakes this thread,
  // nobody hands over. notify_locked() interrupts through the transport's eventfd.
  if (now_tp - last_tick_ >= fast_tick_) tick_locked(); // the progress thread ticks slowly while we spin
  if (spins == 1) policy_.start(to_nanos(now_tp));
  // The first step only looks: an answer may be there already (and the pred just ran).
  const auto act = spins == 1 ? std::optional<net::WaitPolicy::Action>() : policy_.next(to_nanos(now_tp));
  leader_polling_ = true;
  leader_blocking_ = act == net::WaitPolicy::Action::block;
  Transport *t = transport_.get();
  lk.unlock();
  unsigned readable = 0;
  if (act == net::WaitPolicy::Action::block) {
    // A long wait: the progress thread ticks (at the fast interval from its next tick on).
    readable = t->poll_wait(std::min<Clock::duration>(deadline - now_tp, std::chrono::milliseconds(50)),
                            std::chrono::nanoseconds(0));
  } else {
    if (act == net::WaitPolicy::Action::yield) {
      const auto before = Clock::now();
      sched_yield();
      policy_.yielded(to_nanos(before), to_nanos(Clock::now()));
    }
    readable = t->poll_wait(std::chrono::nanoseconds(0), std::chrono::nanoseconds(0)); // one look
  }
  lk.lock();
  leader_polling_ = leader_blocking_ = false;
  if (closed_) cv_.notify_all(); // shutdown() waits for us to leave poll before closing
  if (!closed_ && transport_ && readable) {
    receive_locked(readable); // only the sockets poll found readable
    flush_locked();
    if (waiters_ > 0) cv_.notify_all();
  }
  return true;
}

void Node::resign_leader_locked() {
  leader_ = false;
  if (waiters_ > 0) {
    cv_.notify_all(); // one of them becomes the leader
    return;
  }
  // In a loop of waits (barrier rounds, a recv loop) the sockets stay parked: the next wait
  // takes them over without syscalls and reads what arrived meanwhile. Otherwise the progress
  // thread gets them back now, so datagrams are read promptly while the application is busy
  // elsewhere (at the end of a loop, its next tick takes them back).
  if (handover_.hand_back(to_nanos(Clock::now()))) take_back_sockets_locked();
}

bool Node::take_back_sockets_locked() {
  if (leader_ || !transport_ || !transport_->parked()) return false;
  transport_->unpark();
  return true;
}

void Node::flush_locked() {
  if (transport_) transport_->flush();
}

void Node::notify_locked() {
  if (waiters_ > 0) cv_.notify_all();
  if (leader_polling_) transport_->wake();
}

void Node::request_flush() {
  if (flush_requested_.exchange(true)) return;
  const auto seen = writes_.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> lk(mu_);
  if (stopped_.load() || !transport_) return;
  transport_->post([this, seen] { flush_when_idle(seen, 0); });
}

void Node::flush_when_idle(std::uint64_t seen, int rounds) {
  // Small messages written back to back share datagrams: while the writer keeps writing, put
  // the flush back in the queue (bounded) instead of sealing a half-empty packet.
  const auto now_writes = writes_.load(std::memory_order_relaxed);
  if (now_writes != seen && rounds < 32) {
    transport_->post([this, now_writes, rounds] { flush_when_idle(now_writes, rounds + 1); });
    return;
  }
  flush_requested_.store(false);
  std::lock_guard<std::mutex> lk(mu_);
  core_->flush_all(now());
  if (interceptor_ && transport_) interceptor_->flush([this](const net::PeerAddr *x, std::span<const std::uint8_t> y) { transport_->send(x, y); });
  flush_locked();
  notify_locked();
}

bool Node::receive_locked(unsigned which) {
  const net::Nanos t = now();
  return transport_->drain(
      [&](const net::PeerAddr &from, std::span<const std::uint8_t> d) {
        if (d.size() > net::layout::type && d[net::layout::type] == static_cast<std::uint8_t>(net::FrameType::data)) {
          // DATA may be kept (zero-copy delivery): a buffer of its own.
          core_->on_datagram(from, std::make_shared<const std::vector<std::uint8_t>>(d.begin(), d.end()), t);
          return;
        }
        // Control frames (ARRIVE, RELEASE, ACK, NAK, ...) are never kept: reuse one buffer.
        if (!rx_spare_ || rx_spare_.use_count() != 1) rx_spare_ = std::make_shared<std::vector<std::uint8_t>>();
        rx_spare_->assign(d.begin(), d.end());
        core_->on_datagram(from, rx_spare_, t);
      },
      512, which);
}

void Node::on_datagrams_ready() {
  std::lock_guard<std::mutex> lk(mu_);
  const bool more = receive_locked();
  flush_locked();
  notify_locked();
  // The sockets are edge-triggered for this thread: what a full drain left behind would wait
  // for the next datagram (none comes while the sender waits for our ACK) or the next tick.
  // Come back after the other queued handlers instead.
  if (more && transport_) transport_->post([this] { drain_rest(); });
}

void Node::drain_rest() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    // An application thread took the sockets over meanwhile: they are its to read now.
    if (closed_ || !transport_ || transport_->parked()) return;
  }
  on_datagrams_ready();
}

void Node::tick_locked() {
  const auto state = core_->state();
  const auto evictions = core_->evictions();
  core_->tick(now());
  last_tick_ = Clock::now();
  if (interceptor_ && transport_) interceptor_->flush([this](const net::PeerAddr *x, std::span<const std::uint8_t> y) { transport_->send(x, y); });
  flush_locked();
  // Ticks retransmit and send heartbeats; only a lost coordinator or an eviction (a view
  // change that may release a barrier) can satisfy a waiter, so only then wake the leader
  // blocked on the sockets (the cv waiters are cheap to poke).
  if (waiters_ > 0) cv_.notify_all();
  if (leader_polling_ && (state != core_->state() || evictions != core_->evictions())) transport_->wake();
}

void Node::on_tick() {
  std::lock_guard<std::mutex> lk(mu_);
  // A spinning leader ticks between its looks; a tick here is needed only if it has not lately
  // (it blocks in a long poll, or there is none).
  const bool spinning_leader = leader_ && !leader_blocking_;
  if (!spinning_leader || Clock::now() - last_tick_ >= fast_tick_) tick_locked();
  bool more = false;
  if (take_back_sockets_locked()) { // the end of a loop of waits left them parked
    more = receive_locked();
    flush_locked();
    notify_locked();
  }
  if (more && transport_) transport_->post([this] { drain_rest(); });
  if (transport_) transport_->set_tick_interval(spinning_leader ? slow_tick_ : fast_tick_);
}

std::error_code Node::acquire_writer(net::GroupId g, Clock::time_point deadline) {
  const auto me = std::this_thread::get_id();
  bool mine = false;
  auto ec = wait(
      [&](net::SessionCore &) {
        auto it = writers_.find(g);
        if (it == writers_.end()) {
          writers_.emplace(g, me);
          return true;
        }
        mine = it->second == me;
        return mine;
      },
      deadline);
  if (!ec && mine) ec = make_error_code(errc::busy);
  return ec;
}

void Node::release_writer(net::GroupId g) {
  std::lock_guard<std::mutex> lk(mu_);
  writers_.erase(g);
  cv_.notify_all();
}

SessionStats Node::stats() const {
  std::lock_guard<std::mutex> lk(mu_);
  SessionStats s;
  const auto &d = core_->drops();
  s.dropped_total = d.total();
  s.dropped_auth = d.get(net::DropReason::auth_failed);
  s.dropped_wrong_session = d.get(net::DropReason::wrong_session) + d.get(net::DropReason::wrong_epoch);
  s.dropped_malformed = d.get(net::DropReason::too_short) + d.get(net::DropReason::bad_magic) +
                        d.get(net::DropReason::bad_version) + d.get(net::DropReason::bad_type) +
                        d.get(net::DropReason::bad_flags) + d.get(net::DropReason::bad_reserved) +
                        d.get(net::DropReason::bad_length) + d.get(net::DropReason::malformed_payload);
  s.dropped_unknown_sender = d.get(net::DropReason::unknown_sender);
  const auto c = core_->stats();
  s.packets_sent = c.sender.packets;
  s.messages_sent = c.sender.messages;
  s.repairs_unicast = c.sender.repairs_unicast;
  s.repairs_multicast = c.sender.repairs_multicast;
  s.packets_received = c.receiver.packets;
  s.duplicates = c.receiver.duplicates;
  s.naks_sent = c.receiver.naks;
  s.acks_sent = c.receiver.acks;
  s.evictions = c.evictions;
  s.barrier_retransmits = c.barrier_retransmits;
  s.interceptor_dropped = interceptor_ ? interceptor_->dropped() : 0;
  return s;
}

} // namespace camure::session
