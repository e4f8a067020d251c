// Node leaders over a multicast session: wire-up, barrier, chunk forwarding.
#include "collectives/session_transport.hpp"

#include "collectives/kv_client.hpp"
#include "collectives/net_wire.hpp"

#include <camure/error.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace camure::collectives {
namespace {

constexpr session::GroupId barrier_group_id = 1;
constexpr session::GroupId bcast_group_id = 2;
constexpr session::GroupId topic_group_id = 3;
// Receive slice: between slices the leader checks that no other leader was lost.
constexpr auto recv_slice = std::chrono::milliseconds(200);

session::Duration until(InterNodeTransport::clock::time_point deadline) {
  if (deadline == InterNodeTransport::clock::time_point::max()) return session::forever;
  const auto left = deadline - InterNodeTransport::clock::now();
  return std::max<session::Duration>(std::chrono::duration_cast<session::Duration>(left), session::Duration::zero());
}

bool parse_key(const std::string &hex, std::array<std::uint8_t, 32> &key) {
  if (hex.size() != 64) return false;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = nib(hex[2 * i]), lo = nib(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    key[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return true;
}

} // namespace

std::unique_ptr<SessionTransport> SessionTransport::create(const bootstrap::JobInfo &job, clock::time_point deadline,
                                                           std::error_code &ec, std::string &detail) {
  ec.clear();
  std::unique_ptr<SessionTransport> t(new SessionTransport());
  t->num_nodes_ = job.num_nodes;
  t->node_id_ = job.node_id;
  t->early_.resize(static_cast<std::size_t>(job.num_nodes));
  KvClient kv(job.control_fd);
  const auto kv_wait = std::chrono::milliseconds(30000);

  const std::string hex = kv.get("camure.session_key", std::chrono::milliseconds(10000), ec, detail);
  if (ec) return nullptr;
  session::Options o;
  std::array<std::uint8_t, 32> key{};
  if (!parse_key(hex, key)) {
    ec = errc::protocol_error;
    detail = "camure.session_key from camurerun is not 64 hex characters";
    return nullptr;
  }
  o.key = key;
  // A leader whose host is busy with a 64 MiB bcast (every core copying) may be slow to
  // answer; one second of silence is too little to declare a host lost.
  o.liveness_timeout = std::chrono::milliseconds(5000);
  if (const char *v = std::getenv("CAMURE_LIVENESS_MS"); v != nullptr && *v != '\0') {
    const long ms = std::strtol(v, nullptr, 10);
    if (ms >= 100 && ms <= 600000) o.liveness_timeout = std::chrono::milliseconds(ms);
  }
  // A whole 1 MiB bcast (9 chunks) fits in the window, so the root's leader never waits for an
  // ACK inside one; the sockets' 4 MiB receive buffers hold it.
  o.window_bytes = std::size_t{2} << 20;
  if (const char *v = std::getenv("CAMURE_NET_WINDOW_BYTES"); v != nullptr && *v != '\0') {
    const unsigned long long w = std::strtoull(v, nullptr, 10);
    if (w >= 65536 && w <= (std::uint64_t{1} << 30)) o.window_bytes = static_cast<std::size_t>(w);
  }
  o.interface = job.node_addr;
  o.ttl = job.mcast_ttl;
  const session::Endpoint group = session::Endpoint::parse(job.mcast, ec);
  if (ec) {
    detail = "CAMURE_MCAST='" + job.mcast + "' is not group:port";
    return nullptr;
  }
  const std::size_t others = static_cast<std::size_t>(job.num_nodes - 1);

  if (job.node_id == 0) {
    t->coord_ = session::Coordinator::start(session::Endpoint{job.node_addr, 0}, group, o, ec);
    if (ec) {
      detail = "cannot start the leaders' session on " + job.node_addr + " (group " + job.mcast + "): " + ec.message();
      return nullptr;
    }
    t->barrier_ = t->coord_.create_barrier_group(barrier_group_id, ec);
    if (!ec) t->bcast_ = t->coord_.create_broadcast_group(bcast_group_id, ec);
    if (!ec) t->topics_ = t->coord_.create_broadcast_group(topic_group_id, ec);
    if (ec) {
      detail = "cannot create the leaders' groups: " + ec.message();
      return nullptr;
    }
    kv.put("camure.coord", t->coord_.local_endpoint().to_string(), ec, detail);
    if (ec) return nullptr;
    t->barrier_.accept_until(others, until(deadline), ec);
    if (!ec) t->bcast_.accept_until(others, until(deadline), ec);
    if (!ec) t->topics_.accept_until(others, until(deadline), ec);
    if (ec) {
      detail = "waiting for the other " + std::to_string(others) + " hosts' leaders to join: " + ec.message();
      return nullptr;
    }
  } else {
    const std::string at = kv.get("camure.coord", kv_wait, ec, detail);
    if (ec) return nullptr;
    const session::Endpoint coord = session::Endpoint::parse(at, ec);
    if (ec) {
      detail = "camure.coord='" + at + "' is not addr:port";
      return nullptr;
    }
    t->member_ = session::Member::join(coord, o, until(deadline), ec);
    if (!ec) t->barrier_ = t->member_.join_barrier_group(barrier_group_id, until(deadline), ec);
    if (!ec) t->bcast_ = t->member_.join_broadcast_group(bcast_group_id, until(deadline), ec);
    if (!ec) t->topics_ = t->member_.join_broadcast_group(topic_group_id, until(deadline), ec);
    if (!ec) t->bcast_.wait_for_members(others, until(deadline), ec);
    if (!ec) t->topics_.wait_for_members(others, until(deadline), ec);
    if (ec) {
      detail = "joining the leaders' session at " + at + ": " + ec.message();
      return nullptr;
    }
  }
  return t;
}

SessionTransport::~SessionTransport() {
  if (const char *v = std::getenv("CAMURE_NET_STATS"); v != nullptr && *v == '1') {
    // Diagnostics: what the leaders' session cost this host (packets, repairs, drops).
    try {
      const session::SessionStats s = coord_ ? coord_.stats() : member_.stats();
      std::fprintf(stderr,
                   "camure: node %d session: sent %llu packets %llu messages, repairs %llu unicast %llu multicast; "
                   "received %llu packets %llu duplicates; naks %llu acks %llu; dropped %llu\n",
                   node_id_, static_cast<unsigned long long>(s.packets_sent),
                   static_cast<unsigned long long>(s.messages_sent), static_cast<unsigned long long>(s.repairs_unicast),
                   static_cast<unsigned long long>(s.repairs_multicast),
                   static_cast<unsigned long long>(s.packets_received), static_cast<unsigned long long>(s.duplicates),
                   static_cast<unsigned long long>(s.naks_sent), static_cast<unsigned long long>(s.acks_sent),
                   static_cast<unsigned long long>(s.dropped_total));
    } catch (...) {
    }
  }
  // Groups first, then the session that owns them.
  for (auto &q : early_) q.clear();
  if (coord_) {
    // Let the members leave first: a member still waiting for the final barrier's release
    // (lost datagram) would otherwise see the coordinator vanish and report coordinator_lost.
    const auto until_t = clock::now() + std::chrono::seconds(2);
    try {
      while (coord_.members() > 0 && clock::now() < until_t) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    } catch (...) {
    }
  }
  bcast_ = session::BroadcastGroup();
  topics_ = session::BroadcastGroup();
  barrier_ = session::BarrierGroup();
  member_ = session::Member();
  coord_ = session::Coordinator();
}

std::error_code SessionTransport::health(std::string &detail) const {
  if (member_) {
    if (std::error_code s = member_.status()) {
      detail = "the leaders' session: " + s.message();
      return s;
    }
  }
  // A leader that died is evicted. The member count is no test: after the final barrier's
  // release the other leaders leave at once, and a slow coordinator would see them gone.
  if (coord_ && coord_.stats().evictions > 0) {
    detail = "a host's leader was lost (evicted from the leaders' session: peer lost)";
    return errc::peer_lost;
  }
  return {};
}

std::error_code SessionTransport::barrier(clock::time_point deadline, std::string &detail) noexcept {
  try {
    std::error_code ec;
    barrier_.wait(until(deadline), ec);
    if (ec) {
      detail = "inter-host barrier: " + ec.message();
      return ec;
    }
    return health(detail);
  } catch (const std::exception &e) {
    detail = std::string("inter-host barrier: ") + e.what();
    return errc::internal;
  }
}

std::error_code SessionTransport::send_topic(std::span<const std::byte> bytes, session::Duration timeout) noexcept {
  try {
    std::error_code ec;
    topics_.send(bytes, timeout, ec);
    return ec;
  } catch (...) {
    return errc::no_memory;
  }
}

session::Message SessionTransport::recv_topic(session::Duration timeout, std::error_code &ec) noexcept {
  try {
    if (timeout == session::Duration::zero()) return topics_.try_recv(ec);
    return topics_.recv(timeout, ec);
  } catch (...) {
    ec = errc::no_memory;
    return {};
  }
}

std::error_code SessionTransport::send_chunk(std::uint64_t seq, std::uint64_t total, std::uint64_t offset,
                                             std::span<const std::byte> chunk, clock::time_point deadline,
                                             std::string &detail) noexcept {
  try {
    const NetChunkHeader h{net_chunk_magic, static_cast<std::uint32_t>(node_id_), seq, total, offset};
    const auto hb = encode(h);
    send_buf_.resize(hb.size() + chunk.size());
    std::memcpy(send_buf_.data(), hb.data(), hb.size());
    if (!chunk.empty()) std::memcpy(send_buf_.data() + hb.size(), chunk.data(), chunk.size());
    std::error_code ec;
    bcast_.send(send_buf_, until(deadline), ec);
    if (ec) {
      detail = "bcast: sending a chunk to the other hosts: " + ec.message();
      if (ec == errc::timeout && deadline != clock::time_point::max())
        detail += " (CAMURE_COLLECTIVE_TIMEOUT)";
      return ec;
    }
    return {};
  } catch (const std::exception &e) {
    detail = std::string("bcast: ") + e.what();
    return errc::no_memory;
  }
}

std::error_code SessionTransport::recv_chunk(int root_node, std::uint64_t seq, std::uint64_t total,
                                             std::uint64_t offset, std::span<std::byte> dest,
                                             clock::time_point deadline, std::string &detail) noexcept {
  try {
    auto &mine = early_.at(static_cast<std::size_t>(root_node));
    session::Message m;
    for (;;) {
      if (!mine.empty()) {
        m = std::move(mine.front());
        mine.pop_front();
        break;
      }
      const auto now = clock::now();
      if (now >= deadline) {
        detail = "bcast: no chunk from host " + std::to_string(root_node) + " before the collective timeout";
        return errc::timeout;
      }
      std::error_code ec;
      const auto slice = std::min<clock::time_point>(deadline, now + recv_slice) - now;
      session::Message got = bcast_.recv(std::chrono::duration_cast<session::Duration>(slice), ec);
      if (ec == errc::timeout || ec == errc::would_block) {
        if (std::error_code h = health(detail)) return h;
        continue;
      }
      if (ec) {
        detail = "bcast: receiving from the other hosts: " + ec.message();
        return ec;
      }
      NetChunkHeader h{};
      if (!decode(got.data(), h) || h.origin >= static_cast<std::uint32_t>(num_nodes_)) {
        detail = "bcast: malformed chunk from another host";
        return errc::protocol_error;
      }
      if (h.origin == static_cast<std::uint32_t>(root_node)) {
        m = std::move(got);
        break;
      }
      early_[h.origin].push_back(std::move(got));
    }
    NetChunkHeader h{};
    decode(m.data(), h);
    if (h.seq != seq || h.offset != offset) {
      detail = "bcast: out-of-step chunk from host " + std::to_string(root_node) + " (bcast " + std::to_string(h.seq) +
               " offset " + std::to_string(h.offset) + ", expected bcast " + std::to_string(seq) + " offset " +
               std::to_string(offset) + ")";
      return errc::protocol_error;
    }
    if (h.total != total) {
      detail = "bcast: the root sends " + std::to_string(h.total) + " bytes, this host asked for " +
               std::to_string(total);
      return errc::invalid_argument;
    }
    if (m.size() != net_chunk_header_bytes + dest.size()) {
      detail = "bcast: chunk of " + std::to_string(m.size() - net_chunk_header_bytes) + " bytes, expected " +
               std::to_string(dest.size());
      return errc::protocol_error;
    }
    if (!dest.empty()) std::memcpy(dest.data(), m.data().data() + net_chunk_header_bytes, dest.size());
    return {};
  } catch (const std::exception &e) {
    detail = std::string("bcast: ") + e.what();
    return errc::internal;
  }
}

} // namespace camure::collectives
