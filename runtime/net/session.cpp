// Public camure::session API: Coordinator, Member, group handles, messages, on top of Node.
#include <camure/session.hpp>

#include <cstring>

#include "runtime/net/node.hpp"

namespace camure::session {

namespace {
constexpr Duration kForever = forever;

Clock::time_point deadline_of(Duration d) {
  const auto now = Clock::now();
  return d >= kForever ? Clock::time_point::max() : now + d;
}
std::error_code closed() { return make_error_code(errc::closed); }
std::span<const std::uint8_t> u8(std::span<const std::byte> b) {
  return {reinterpret_cast<const std::uint8_t *>(b.data()), b.size()};
}
} // namespace

// ---------------------------------------------------------------- Message
struct Message::Impl {
  net::CoreMessage m;
};
Message::Message() = default;
Message::~Message() = default;
Message::Message(Message &&) noexcept = default;
Message &Message::operator=(Message &&) noexcept = default;
std::span<const std::byte> Message::data() const noexcept {
  if (!impl_) return {};
  return std::as_bytes(impl_->m.bytes());
}
std::size_t Message::Reader::read(std::span<std::byte> out) noexcept {
  const std::size_t n = std::min(out.size(), remaining());
  if (n) std::memcpy(out.data(), d_.data() + pos_, n);
  pos_ += n;
  return n;
}
std::string Message::Reader::read_all() {
  std::string s(reinterpret_cast<const char *>(d_.data()) + pos_, remaining());
  pos_ = d_.size();
  return s;
}

// ---------------------------------------------------------------- GroupHandle (shared)
namespace {
void leave(const std::shared_ptr<Node> &n, GroupId g) {
  if (n) n->with_core([&](net::SessionCore &c) { c.leave_group(g, n->now()); });
}
std::error_code not_coordinator(const std::shared_ptr<Node> &n) {
  if (!n) return closed();
  if (n->with_core([](net::SessionCore &c) { return c.role(); }) != net::Role::coordinator)
    return make_error_code(errc::unsupported);
  return {};
}
} // namespace

namespace detail {
GroupHandle::~GroupHandle() { leave(node_, id_); }
GroupHandle::GroupHandle(GroupHandle &&o) noexcept : node_(std::move(o.node_)), id_(o.id_), kind_(o.kind_) {}
GroupHandle &GroupHandle::operator=(GroupHandle &&o) noexcept {
  if (this != &o) {
    leave(node_, id_);
    node_ = std::move(o.node_);
    id_ = o.id_;
    kind_ = o.kind_;
  }
  return *this;
}

std::size_t GroupHandle::members() const {
  if (!node_) return 0;
  return node_->with_core([&](net::SessionCore &c) { return c.members(id_); });
}

std::size_t GroupHandle::accept(Duration timeout, std::error_code &ec) {
  if ((ec = not_coordinator(node_))) return 0;
  std::size_t admitted = 0;
  ec = node_->wait(
      [&](net::SessionCore &c) {
        admitted = c.accept(id_, node_->now());
        return admitted > 0;
      },
      deadline_of(timeout));
  return admitted;
}
std::size_t GroupHandle::accept(Duration timeout) {
  std::error_code ec;
  const auto n = accept(timeout, ec);
  throw_if(ec, (std::string(kind_) + " accept").c_str());
  return n;
}

void GroupHandle::accept_until(std::size_t count, Duration timeout, std::error_code &ec) {
  if ((ec = not_coordinator(node_))) return;
  ec = node_->wait(
      [&](net::SessionCore &c) {
        c.accept(id_, node_->now());
        return c.members(id_) >= count;
      },
      deadline_of(timeout));
}
void GroupHandle::accept_until(std::size_t count, Duration timeout) {
  std::error_code ec;
  accept_until(count, timeout, ec);
  throw_if(ec, (std::string(kind_) + " accept_until").c_str());
}
} // namespace detail

// ---------------------------------------------------------------- BarrierGroup
void BarrierGroup::wait(Duration timeout, std::error_code &ec) {
  ec.clear();
  if (!node_) return void(ec = closed());
  const auto round = node_->with_core([&](net::SessionCore &c) { return c.barrier_arrive(id_, node_->now()); });
  bool ended = false;
  ec = node_->wait(
      [&](net::SessionCore &c) {
        if (c.barrier_released(id_, round)) return true;
        ended = c.group_closed(id_);
        return ended;
      },
      deadline_of(timeout));
  if (!ec && ended) ec = make_error_code(errc::closed);
}
void BarrierGroup::wait(Duration timeout) {
  std::error_code ec;
  wait(timeout, ec);
  throw_if(ec, "barrier wait");
}

// ---------------------------------------------------------------- BroadcastGroup
void BroadcastGroup::wait_for_members(std::size_t count, Duration timeout, std::error_code &ec) {
  ec.clear();
  if (!node_) return void(ec = closed());
  ec = node_->wait([&](net::SessionCore &c) { return c.members(id_) >= count; }, deadline_of(timeout));
}

namespace {
/// Writes one part of a message, blocking while the window is full.
std::error_code write_part(Node &n, GroupId g, std::span<const std::byte> bytes, bool begin, bool end,
                           Clock::time_point deadline) {
  auto rest = u8(bytes);
  bool open = true;
  auto ec = n.wait(
      [&](net::SessionCore &c) {
        auto r = c.bcast_write(g, rest, begin, end, n.now());
        rest = rest.subspan(r.consumed);
        if (r.consumed) begin = false;
        open = c.bcast_has_open(g);
        return r.done;
      },
      deadline);
  n.note_write();
  if (open || ec) n.request_flush(); // a large message's last packet left with it: nothing to seal
  return ec;
}
} // namespace

MessageWriter BroadcastGroup::write_message() { return MessageWriter(node_, id_); }

void BroadcastGroup::send(std::span<const std::byte> bytes, Duration timeout, std::error_code &ec) {
  ec.clear();
  if (!node_) return void(ec = closed());
  const auto deadline = deadline_of(timeout);
  if ((ec = node_->acquire_writer(id_, deadline))) return;
  ec = write_part(*node_, id_, bytes, true, true, deadline);
  node_->release_writer(id_);
}
void BroadcastGroup::send(std::span<const std::byte> bytes) {
  std::error_code ec;
  send(bytes, kForever, ec);
  throw_if(ec, "broadcast send");
}
void BroadcastGroup::wait(Duration timeout, std::error_code &ec) {
  ec.clear();
  if (!node_) return void(ec = closed());
  ec = node_->wait(
      [&](net::SessionCore &c) {
        const auto t = node_->now();
        c.bcast_flush(id_, t);
        if (c.bcast_all_acked(id_)) return true;
        c.bcast_request_ack(id_, t);
        return false;
      },
      deadline_of(timeout));
}
void BroadcastGroup::wait(Duration timeout) {
  std::error_code ec;
  wait(timeout, ec);
  throw_if(ec, "broadcast wait");
}
Message BroadcastGroup::recv(Duration timeout, std::error_code &ec) {
  ec.clear();
  Message m;
  if (!node_) {
    ec = closed();
    return m;
  }
  net::CoreMessage cm;
  bool got = false;
  ec = node_->wait(
      [&](net::SessionCore &c) {
        got = c.bcast_pop(id_, cm);
        return got || c.group_closed(id_);
      },
      deadline_of(timeout));
  if (!ec && !got) ec = make_error_code(errc::closed);
  if (ec) return m;
  m.impl_ = std::make_unique<Message::Impl>();
  m.sender_ = cm.sender;
  m.impl_->m = std::move(cm);
  return m;
}
Message BroadcastGroup::recv(Duration timeout) {
  std::error_code ec;
  Message m = recv(timeout, ec);
  throw_if(ec, "broadcast recv");
  return m;
}
Message BroadcastGroup::try_recv(std::error_code &ec) {
  ec.clear();
  Message m;
  if (!node_) {
    ec = closed();
    return m;
  }
  net::CoreMessage cm;
  if (!node_->with_core([&](net::SessionCore &c) { return c.bcast_pop(id_, cm); })) {
    ec = node_->session_error();
    if (!ec) ec = make_error_code(errc::would_block);
    return m;
  }
  m.impl_ = std::make_unique<Message::Impl>();
  m.sender_ = cm.sender;
  m.impl_->m = std::move(cm);
  return m;
}

// ---------------------------------------------------------------- MessageWriter
MessageWriter::MessageWriter(std::shared_ptr<Node> n, GroupId id) : node_(std::move(n)), id_(id) {
  if (!node_ || node_->acquire_writer(id_, Clock::time_point::max())) {
    done_ = true; // writes will fail with errc::closed; nothing to release
    node_.reset();
  }
}
MessageWriter::MessageWriter(MessageWriter &&o) noexcept
    : node_(std::move(o.node_)), id_(o.id_), begun_(o.begun_), done_(o.done_) {
  o.done_ = true;
}
MessageWriter::~MessageWriter() {
  if (!done_) {
    std::error_code ec;
    finish(ec);
  }
}
void MessageWriter::write(std::span<const std::byte> bytes, std::error_code &ec) {
  ec.clear();
  if (done_ || !node_) return void(ec = closed());
  if (bytes.empty()) return;
  ec = write_part(*node_, id_, bytes, !begun_, false, Clock::time_point::max());
  begun_ = true;
}
void MessageWriter::write(std::span<const std::byte> bytes) {
  std::error_code ec;
  write(bytes, ec);
  throw_if(ec, "message write");
}
MessageWriter &MessageWriter::operator<<(std::string_view s) {
  write(std::as_bytes(std::span(s.data(), s.size())));
  return *this;
}
MessageWriter &MessageWriter::operator<<(std::span<const std::byte> b) {
  write(b);
  return *this;
}
void MessageWriter::finish(std::error_code &ec) {
  ec.clear();
  if (done_ || !node_) return void(ec = closed());
  ec = write_part(*node_, id_, {}, !begun_, true, Clock::time_point::max());
  done_ = true;
  node_->release_writer(id_);
}
void MessageWriter::finish() {
  std::error_code ec;
  finish(ec);
  throw_if(ec, "message finish");
}

// ---------------------------------------------------------------- Coordinator
Coordinator::Coordinator() = default;
Coordinator::~Coordinator() {
  if (node_) node_->shutdown();
}
Coordinator::Coordinator(Coordinator &&) noexcept = default;
Coordinator &Coordinator::operator=(Coordinator &&o) noexcept {
  if (this != &o) {
    if (node_) node_->shutdown();
    node_ = std::move(o.node_);
  }
  return *this;
}
Coordinator Coordinator::start(const Endpoint &bind, const Endpoint &multicast, const Options &o, std::error_code &ec) {
  Node::Params p;
  p.role = net::Role::coordinator;
  p.bind = bind;
  p.multicast = multicast;
  p.options = o;
  Coordinator c;
  c.node_ = Node::create(p, ec);
  return c;
}
Coordinator Coordinator::start(const Endpoint &bind, const Endpoint &multicast, const Options &o) {
  std::error_code ec;
  auto c = start(bind, multicast, o, ec);
  throw_if(ec, ("cannot start session coordinator on " + bind.to_string() + " / " + multicast.to_string()).c_str());
  return c;
}
BarrierGroup Coordinator::create_barrier_group(GroupId id, std::error_code &ec) {
  ec.clear();
  if (!node_) return ec = closed(), BarrierGroup();
  auto e = node_->with_core([&](net::SessionCore &c) { return c.create_group(id, net::GroupKind::barrier, node_->now()); });
  if (e) return ec = make_error_code(errc::already_exists), BarrierGroup();
  return BarrierGroup(node_, id);
}
BarrierGroup Coordinator::create_barrier_group(GroupId id) {
  std::error_code ec;
  auto g = create_barrier_group(id, ec);
  throw_if(ec, "create_barrier_group");
  return g;
}
BroadcastGroup Coordinator::create_broadcast_group(GroupId id, std::error_code &ec) {
  ec.clear();
  if (!node_) return ec = closed(), BroadcastGroup();
  auto e = node_->with_core([&](net::SessionCore &c) { return c.create_group(id, net::GroupKind::broadcast, node_->now()); });
  if (e) return ec = make_error_code(errc::already_exists), BroadcastGroup();
  return BroadcastGroup(node_, id);
}
BroadcastGroup Coordinator::create_broadcast_group(GroupId id) {
  std::error_code ec;
  auto g = create_broadcast_group(id, ec);
  throw_if(ec, "create_broadcast_group");
  return g;
}
std::size_t Coordinator::members() const {
  return node_ ? node_->with_core([](net::SessionCore &c) { return c.session_members().size(); }) : 0;
}
Endpoint Coordinator::local_endpoint() const { return node_ ? node_->local_endpoint() : Endpoint{}; }
std::uint64_t Coordinator::session_id() const {
  return node_ ? node_->with_core([](net::SessionCore &c) { return c.session_id(); }) : 0;
}
SessionStats Coordinator::stats() const { return node_ ? node_->stats() : SessionStats{}; }

// ---------------------------------------------------------------- Member
Member::Member() = default;
Member::~Member() {
  if (node_) node_->shutdown();
}
Member::Member(Member &&) noexcept = default;
Member &Member::operator=(Member &&o) noexcept {
  if (this != &o) {
    if (node_) node_->shutdown();
    node_ = std::move(o.node_);
  }
  return *this;
}
Member Member::join(const Endpoint &coordinator, const Options &o, Duration timeout, std::error_code &ec) {
  Node::Params p;
  p.role = net::Role::member;
  p.coordinator = coordinator;
  p.options = o;
  p.options.join_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  Member m;
  m.node_ = Node::create(p, ec);
  return m;
}
Member Member::join(const Endpoint &coordinator, const Options &o) {
  std::error_code ec;
  auto m = join(coordinator, o, o.join_timeout, ec);
  throw_if(ec, ("cannot join the session of " + coordinator.to_string()).c_str());
  return m;
}
template <class G>
G Member::join_group(const std::shared_ptr<Node> &n, GroupId id, int kind, Duration timeout, std::error_code &ec) {
  const auto k = static_cast<net::GroupKind>(kind);
  ec.clear();
  if (!n) return ec = closed(), G();
  if (auto e = n->with_core([&](net::SessionCore &c) { return c.join_group(id, k, n->now()); }))
    return ec = make_error_code(errc::already_exists), G();
  ec = n->wait([&](net::SessionCore &c) { return c.group_ready(id); }, deadline_of(timeout));
  if (ec) {
    leave(n, id);
    return G();
  }
  return G(n, id);
}
BarrierGroup Member::join_barrier_group(GroupId id, Duration t, std::error_code &ec) {
  return join_group<BarrierGroup>(node_, id, static_cast<int>(net::GroupKind::barrier), t, ec);
}
BarrierGroup Member::join_barrier_group(GroupId id) {
  std::error_code ec;
  auto g = join_barrier_group(id, kForever, ec);
  throw_if(ec, "join_barrier_group");
  return g;
}
BroadcastGroup Member::join_broadcast_group(GroupId id, Duration t, std::error_code &ec) {
  return join_group<BroadcastGroup>(node_, id, static_cast<int>(net::GroupKind::broadcast), t, ec);
}
BroadcastGroup Member::join_broadcast_group(GroupId id) {
  std::error_code ec;
  auto g = join_broadcast_group(id, kForever, ec);
  throw_if(ec, "join_broadcast_group");
  return g;
}
MemberId Member::id() const { return node_ ? node_->with_core([](net::SessionCore &c) { return c.self(); }) : 0; }
std::error_code Member::status() const { return node_ ? node_->session_error() : closed(); }
SessionStats Member::stats() const { return node_ ? node_->stats() : SessionStats{}; }

} // namespace camure::session
