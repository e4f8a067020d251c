// UDP unicast/multicast socket set-up (IPv4 and IPv6) and the progress thread's io loop.
#include "runtime/net/transport.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace camure::session {

namespace asio = boost::asio;
using udp = asio::ip::udp;

namespace {

std::error_code bad(const char *) { return make_error_code(errc::invalid_argument); }

/// UDP GSO on send and GRO on receive, unless CAMURE_NET_OFFLOAD=0.
bool offload_enabled() {
  static const bool on = [] {
    const char *v = std::getenv("CAMURE_NET_OFFLOAD");
    return v == nullptr || std::strcmp(v, "0") != 0;
  }();
  return on;
}

/// Asks the kernel to hand us coalesced datagrams (UDP_GRO, Linux >= 5.0). Harmless if refused:
/// then every datagram arrives on its own.
void enable_gro(int fd) {
  if (!offload_enabled()) return;
  const int one = 1;
  (void)::setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one);
}

bool to_address(const std::string &s, asio::ip::address &out) {
  boost::system::error_code e;
  out = asio::ip::make_address(s, e);
  return !e;
}

net::PeerAddr to_peer(const udp::endpoint &ep) {
  net::PeerAddr a;
  a.len = static_cast<std::uint8_t>(ep.size());
  std::memcpy(a.raw.data(), ep.data(), ep.size());
  return a;
}

/// The interface index owning a local IPv6 address (for IPV6_MULTICAST_IF / joins).
unsigned ifindex_of(const asio::ip::address_v6 &a) {
  if (a.is_unspecified()) return 0;
  ifaddrs *list = nullptr;
  if (::getifaddrs(&list) != 0) return 0;
  unsigned idx = 0;
  for (ifaddrs *i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET6) continue;
    const auto *sin6 = reinterpret_cast<const sockaddr_in6 *>(i->ifa_addr);
    if (std::memcmp(&sin6->sin6_addr, a.to_bytes().data(), 16) == 0) {
      idx = ::if_nametoindex(i->ifa_name);
      break;
    }
  }
  ::freeifaddrs(list);
  return idx;
}

std::error_code sys(const boost::system::error_code &e) {
  return e ? make_error_code(errc::system_error) : std::error_code{};
}

/// The local address the kernel would use to reach `peer`.
asio::ip::address route_to(const udp::endpoint &peer) {
  asio::io_context io;
  udp::socket s(io);
  boost::system::error_code e;
  s.open(peer.protocol(), e);
  if (!e) s.connect(peer, e);
  if (e) return peer.address().is_v6() ? asio::ip::address(asio::ip::address_v6::any())
                                       : asio::ip::address(asio::ip::address_v4::any());
  return s.local_endpoint(e).address();
}

std::error_code configure_sender(udp::socket &s, const asio::ip::address &iface, const Options &o) {
  boost::system::error_code e;
  s.set_option(asio::socket_base::send_buffer_size(o.send_buffer), e);
  s.set_option(asio::socket_base::receive_buffer_size(o.recv_buffer), e);
  e.clear();
  s.set_option(asio::ip::multicast::hops(o.ttl), e);
  if (!e) s.set_option(asio::ip::multicast::enable_loopback(o.multicast_loopback), e);
  if (!e) {
    if (iface.is_v4())
      s.set_option(asio::ip::multicast::outbound_interface(iface.to_v4()), e);
    else if (unsigned idx = ifindex_of(iface.to_v6()))
      s.set_option(asio::ip::multicast::outbound_interface(idx), e);
  }
  return sys(e);
}

/// Link-local multicast (ff02::/ff12::) needs the interface as its scope for bind and sendto.
udp::endpoint scoped(udp::endpoint group, const asio::ip::address &iface) {
  if (group.address().is_v6() && iface.is_v6()) {
    auto a = group.address().to_v6();
    if (a.is_multicast_link_local()) {
      a.scope_id(ifindex_of(iface.to_v6()));
      group.address(a);
    }
  }
  return group;
}

std::error_code open_group(udp::socket &s, const udp::endpoint &group, const asio::ip::address &iface,
                           const Options &o) {
  boost::system::error_code e;
  s.open(group.protocol(), e);
  if (e) return sys(e);
  s.set_option(asio::socket_base::reuse_address(true), e);
  s.set_option(asio::socket_base::receive_buffer_size(o.recv_buffer), e);
  if (group.address().is_v4()) {
    const int off = 0; // only this group's datagrams, not every group bound to the port
    ::setsockopt(s.native_handle(), IPPROTO_IP, IP_MULTICAST_ALL, &off, sizeof off);
  }
  e.clear();
  s.bind(group, e);
  if (e) return sys(e);
  if (group.address().is_v4())
    s.set_option(asio::ip::multicast::join_group(group.address().to_v4(),
                                                 iface.is_v4() ? iface.to_v4() : asio::ip::address_v4::any()),
                 e);
  else
    s.set_option(asio::ip::multicast::join_group(group.address().to_v6(), iface.is_v6() ? ifindex_of(iface.to_v6()) : 0),
                 e);
  if (e) return sys(e);
  enable_gro(s.native_handle());
  s.non_blocking(true, e);
  return sys(e);
}

} // namespace

std::unique_ptr<Transport> Transport::open_coordinator(const Endpoint &bind, const Endpoint &group,
                                                       const Options &o, std::error_code &ec) {
  asio::ip::address ba, ga, ia;
  if (!to_address(bind.address, ba) || !to_address(group.address, ga) || !ga.is_multicast() ||
      ba.is_v6() != ga.is_v6() || group.port == 0) {
    ec = bad("endpoints");
    return nullptr;
  }
  if (!o.interface.empty() && (!to_address(o.interface, ia) || ia.is_v6() != ba.is_v6())) {
    ec = bad("interface");
    return nullptr;
  }
  if (o.interface.empty()) ia = ba;
  std::unique_ptr<Transport> t(new Transport);
  t->opts_ = o;
  t->group_ = scoped(udp::endpoint(ga, group.port), ia);
  t->group_addr_ = to_peer(t->group_);
  boost::system::error_code e;
  const udp::endpoint be(ba, bind.port);
  t->ucast_.open(be.protocol(), e);
  if (!e) t->ucast_.bind(be, e);
  if (!e) t->ucast_.non_blocking(true, e);
  if (e) {
    ec = make_error_code(errc::system_error);
    return nullptr;
  }
  if ((ec = configure_sender(t->ucast_, ia, o))) return nullptr;
  enable_gro(t->ucast_.native_handle());
  t->gso_ = offload_enabled();
  if ((ec = open_group(t->mcast_, t->group_, ia, o))) return nullptr;
  t->mcast_open_ = true;
  t->scratch_.resize(65536 * kBatch);
  if ((ec = t->init_poll())) return nullptr;
  return t;
}

std::unique_ptr<Transport> Transport::open_member(const Endpoint &coordinator, const Options &o, std::error_code &ec) {
  asio::ip::address ca, ia;
  if (!to_address(coordinator.address, ca) || coordinator.port == 0 || ca.is_multicast() || ca.is_unspecified()) {
    ec = bad("coordinator");
    return nullptr;
  }
  const udp::endpoint cep(ca, coordinator.port);
  if (!o.interface.empty()) {
    if (!to_address(o.interface, ia) || ia.is_v6() != ca.is_v6()) {
      ec = bad("interface");
      return nullptr;
    }
  } else {
    ia = route_to(cep);
  }
  std::unique_ptr<Transport> t(new Transport);
  t->opts_ = o;
  t->coordinator_ = to_peer(cep);
  boost::system::error_code e;
  t->ucast_.open(cep.protocol(), e);
  if (!e) t->ucast_.bind(udp::endpoint(ia, 0), e);
  if (!e) t->ucast_.non_blocking(true, e);
  if (e) {
    ec = make_error_code(errc::system_error);
    return nullptr;
  }
  if ((ec = configure_sender(t->ucast_, ia, o))) return nullptr;
  enable_gro(t->ucast_.native_handle());
  t->gso_ = offload_enabled();
  t->scratch_.resize(65536 * kBatch);
  if ((ec = t->init_poll())) return nullptr;
  return t;
}

Transport::~Transport() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

std::error_code Transport::init_poll() {
  ep_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep_ < 0) return make_error_code(errc::system_error);
  boost::system::error_code e;
  ep_desc_.assign(ep_, e); // closes ep_ when the Transport dies
  if (e) {
    ::close(ep_);
    ep_ = -1;
    return make_error_code(errc::system_error);
  }
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return make_error_code(errc::system_error);
  watch(ucast_.native_handle(), true);
  if (mcast_open_) watch(mcast_.native_handle(), true);
  return {};
}

void Transport::watch(int fd, bool on) {
  epoll_event ev{};
  ev.events = EPOLLIN; // level-triggered: data left unread keeps ep_ readable
  ev.data.fd = fd;
  ::epoll_ctl(ep_, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev);
}

void Transport::park() {
  if (parked_) return;
  parked_ = true;
  watch(ucast_.native_handle(), false);
  if (mcast_open_) watch(mcast_.native_handle(), false);
}

void Transport::unpark() {
  if (!parked_) return;
  parked_ = false;
  watch(ucast_.native_handle(), true);
  if (mcast_open_) watch(mcast_.native_handle(), true);
}

unsigned Transport::poll_wait(std::chrono::nanoseconds timeout, std::chrono::nanoseconds spin) {
  std::array<pollfd, 3> p{};
  nfds_t n = 0;
  p[n++] = {wake_fd_, POLLIN, 0};
  p[n++] = {ucast_.native_handle(), POLLIN, 0};
  if (mcast_open_) p[n++] = {mcast_.native_handle(), POLLIN, 0};
  const auto start = std::chrono::steady_clock::now();
  spin = std::min(spin, timeout);
  int r = 0;
  for (bool first = true;; first = false) { // spin: look without blocking, give the CPU away in between
    const auto waited = first ? std::chrono::nanoseconds(0) : std::chrono::steady_clock::now() - start;
    if (waited >= spin) { // one ppoll: a look when timeout is 0, else the block
      const auto ns = std::max<std::int64_t>(0, (timeout - waited).count());
      timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
      r = ::ppoll(p.data(), n, &ts, nullptr);
      break;
    }
    timespec zero{0, 0};
    r = ::ppoll(p.data(), n, &zero, nullptr);
    if (r != 0) break;
    sched_yield();
  }
  if (r <= 0) return 0;
  if (p[0].revents & POLLIN) {
    std::uint64_t v = 0;
    if (::read(wake_fd_, &v, sizeof v) < 0) { /* already drained by another reader */ }
  }
  constexpr short ready = POLLIN | POLLERR | POLLHUP | POLLNVAL;
  unsigned which = (p[1].revents & ready) ? kUnicast : 0u;
  if (n > 2 && (p[2].revents & ready)) which |= kMulticast;
  return which;
}

void Transport::wake() {
  const std::uint64_t one = 1;
  if (::write(wake_fd_, &one, sizeof one) < 0) { /* counter full: a wake is pending anyway */ }
}

std::vector<std::uint8_t> Transport::multicast_info() const {
  // family (4 or 6) | u16 port (LE) | 16 address bytes (v4 in the first 4)
  std::vector<std::uint8_t> v(19, 0);
  v[0] = group_.address().is_v6() ? 6 : 4;
  v[1] = static_cast<std::uint8_t>(group_.port());
  v[2] = static_cast<std::uint8_t>(group_.port() >> 8);
  if (group_.address().is_v6()) {
    auto b = group_.address().to_v6().to_bytes();
    std::memcpy(v.data() + 3, b.data(), 16);
  } else {
    auto b = group_.address().to_v4().to_bytes();
    std::memcpy(v.data() + 3, b.data(), 4);
  }
  return v;
}

std::error_code Transport::join_group(std::span<const std::uint8_t> info) {
  if (info.size() != 19 || (info[0] != 4 && info[0] != 6)) return make_error_code(errc::protocol_error);
  const std::uint16_t port = static_cast<std::uint16_t>(info[1] | (info[2] << 8));
  asio::ip::address ga;
  if (info[0] == 4) {
    asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), info.data() + 3, 4);
    ga = asio::ip::address_v4(b);
  } else {
    asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), info.data() + 3, 16);
    ga = asio::ip::address_v6(b);
  }
  if (!ga.is_multicast() || port == 0) return make_error_code(errc::protocol_error);
  boost::system::error_code e;
  const auto iface = ucast_.local_endpoint(e).address();
  if (e) return make_error_code(errc::system_error);
  if (ga.is_v6() != iface.is_v6()) return make_error_code(errc::protocol_error);
  group_ = scoped(udp::endpoint(ga, port), iface);
  group_addr_ = to_peer(group_);
  if (auto ec = open_group(mcast_, group_, iface, opts_)) return ec;
  mcast_open_ = true;
  if (!parked_) watch(mcast_.native_handle(), true);
  return {};
}

Endpoint Transport::local_endpoint() const {
  boost::system::error_code e;
  auto ep = ucast_.local_endpoint(e);
  if (e) return {};
  return Endpoint{ep.address().to_string(), ep.port()};
}

void Transport::send_now(const net::PeerAddr &a, const std::uint8_t *d, std::size_t n, std::uint16_t segment) {
  iovec iov{const_cast<std::uint8_t *>(d), n};
  msghdr mh{};
  mh.msg_name = const_cast<std::uint8_t *>(a.raw.data());
  mh.msg_namelen = a.len;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(std::uint16_t))] = {};
  if (segment) {
    mh.msg_control = control;
    mh.msg_controllen = sizeof control;
    cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_UDP;
    cm->cmsg_type = UDP_SEGMENT;
    cm->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
    std::memcpy(CMSG_DATA(cm), &segment, sizeof segment);
  }
  if (::sendmsg(ucast_.native_handle(), &mh, MSG_DONTWAIT) >= 0) return;
  if (segment && (errno == EINVAL || errno == EIO || errno == ENOPROTOOPT || errno == EOPNOTSUPP)) {
    // No UDP GSO here: send the segments one by one from now on.
    gso_ = false;
    for (std::size_t off = 0; off < n; off += segment) send_now(a, d + off, std::min<std::size_t>(segment, n - off), 0);
    return;
  }
  ++send_errors_;
}

void Transport::flush() {
  if (gso_batch_.empty()) return;
  const auto b = gso_batch_.bytes();
  if (!batch_to_.empty()) send_now(batch_to_, b.data(), b.size(), gso_batch_.segment());
  gso_batch_.clear();
}

void Transport::send(const net::PeerAddr *to, std::span<const std::uint8_t> d) {
  const net::PeerAddr &a = to ? *to : group_addr_;
  if (!gso_ || !net::GsoBatch::batchable(d.size())) {
    flush(); // keep the order of everything this node sends
    if (!a.empty()) send_now(a, d.data(), d.size(), 0);
    return;
  }
  // Back-to-back datagrams to one destination share a GSO send: the multicast stream, and
  // bursts of unicast repairs to one receiver.
  if (!gso_batch_.empty() && !(batch_to_ == a)) flush();
  if (!gso_batch_.fits(d.size())) flush();
  if (gso_batch_.empty()) batch_to_ = a;
  gso_batch_.add(d);
  if (gso_batch_.closed()) flush();
}

int Transport::recv_batch(int fd) {
  constexpr std::size_t kControl = CMSG_SPACE(sizeof(int));
  std::array<mmsghdr, kBatch> mm{};
  std::array<iovec, kBatch> iov{};
  std::array<sockaddr_storage, kBatch> from{};
  alignas(cmsghdr) std::array<std::array<char, kControl>, kBatch> control{};
  for (int i = 0; i < kBatch; ++i) {
    const auto k = static_cast<std::size_t>(i);
    iov[k] = {scratch_.data() + 65536 * k, 65536};
    mm[k].msg_hdr.msg_iov = &iov[k];
    mm[k].msg_hdr.msg_iovlen = 1;
    mm[k].msg_hdr.msg_name = &from[k];
    mm[k].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    mm[k].msg_hdr.msg_control = control[k].data();
    mm[k].msg_hdr.msg_controllen = kControl;
  }
  const int n = ::recvmmsg(fd, mm.data(), kBatch, MSG_DONTWAIT, nullptr);
  if (n <= 0) return 0;
  for (int i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    batch_len_[k] = mm[k].msg_len;
    batch_seg_[k] = 0;
    // A UDP_GRO receive says the size of the datagrams it coalesced.
    for (cmsghdr *c = CMSG_FIRSTHDR(&mm[k].msg_hdr); c != nullptr; c = CMSG_NXTHDR(&mm[k].msg_hdr, c)) {
      if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
        int seg = 0;
        std::memcpy(&seg, CMSG_DATA(c), sizeof seg);
        if (seg > 0) batch_seg_[k] = static_cast<std::size_t>(seg);
      }
    }
    batch_from_[k].len = static_cast<std::uint8_t>(std::min<std::size_t>(mm[k].msg_hdr.msg_namelen, batch_from_[k].raw.size()));
    std::memcpy(batch_from_[k].raw.data(), &from[k], batch_from_[k].len);
  }
  return n;
}

void Transport::arm() {
  ep_desc_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code &e) {
    if (e) return; // cancelled: shutting down
    ready_();
    arm();
  });
}

void Transport::arm_timer() {
  timer_.expires_after(tick_interval_);
  timer_.async_wait([this](const boost::system::error_code &e) {
    if (e) return;
    tick_();
    arm_timer();
  });
}

void Transport::run(Ready ready, Ready tick, std::chrono::microseconds tick_interval) {
  ready_ = std::move(ready);
  tick_ = std::move(tick);
  tick_interval_ = tick_interval;
  arm();
  arm_timer();
  io_.run();
}

void Transport::stop() { io_.stop(); }

} // namespace camure::session
