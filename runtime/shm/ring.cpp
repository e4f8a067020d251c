// camure::rmp::Ring: create / open / create_or_open / remove, and the ring's read-only queries.
#include "runtime/shm/ring_shared.hpp"

#include <arpa/inet.h>

namespace camure::rmp {

using namespace camure::shm::ring;
using detail::RingShared;
using clock = std::chrono::steady_clock;

namespace {

std::error_code check_options(const RingOptions &o, std::uint32_t &group) {
  const std::uint64_t cap = o.capacity;
  if (cap < kMinCapacity || cap > kMaxCapacity || (cap & (cap - 1)) != 0)
    return make_error_code(errc::invalid_argument);
  if (o.max_participants == 0 || o.max_participants > kMaxParticipants) return make_error_code(errc::invalid_argument);
  if (o.backpressure != Backpressure::overrun && o.backpressure != Backpressure::block)
    return make_error_code(errc::invalid_argument);
  if (o.block_timeout.count() < 0) return make_error_code(errc::invalid_argument);
  group = 0;
  if (o.notify.enabled) {
    in_addr a{};
    if (::inet_pton(AF_INET, o.notify.group.c_str(), &a) != 1) return make_error_code(errc::invalid_argument);
    if ((ntohl(a.s_addr) >> 28) != 0xE || o.notify.port == 0) return make_error_code(errc::invalid_argument);
    group = a.s_addr;
  }
  return {};
}

shm::SegmentBuilder builder(const RingOptions &o, std::uint32_t group) {
  return [o, group](std::byte *base, std::size_t) -> std::error_code {
    auto *ctl = reinterpret_cast<RingControl *>(base + kControlOffset);
    RingConfig &c = ctl->config;
    c.capacity = o.capacity;
    c.max_participants = o.max_participants;
    c.slots_offset = kSlotsOffset;
    c.data_offset = data_offset_for(o.max_participants);
    c.backpressure = static_cast<std::uint32_t>(o.backpressure);
    c.block_timeout_ns = static_cast<std::uint64_t>(std::chrono::nanoseconds(o.block_timeout).count());
    c.notify_group = group;
    c.notify_port = o.notify.enabled ? o.notify.port : 0;
    // Everything else (marks, counters, slots, ring bytes) starts as the zero-filled file.
    return ctl->writer_lock.init();
  };
}

Ring finish(shm::Segment seg, std::error_code &ec, auto make) {
  auto shared = std::make_shared<RingShared>();
  ec = RingShared::attach(*shared, std::move(seg));
  if (ec) return {};
  return make(std::move(shared));
}

} // namespace

Ring Ring::create(std::string_view name, const RingOptions &options, std::error_code &ec) {
  std::uint32_t group = 0;
  if ((ec = check_options(options, group))) return {};
  const shm::SegmentSpec spec{kRingMagic, kRingLayoutVersion,
                              segment_size_for(options.capacity, options.max_participants)};
  shm::Segment seg = shm::Segment::create(name, spec, builder(options, group), ec);
  if (ec) return {};
  return finish(std::move(seg), ec, [](auto s) { return Ring(std::move(s)); });
}

Ring Ring::create(std::string_view name, const RingOptions &options) {
  std::error_code ec;
  Ring r = create(name, options, ec);
  throw_if(ec, "camure::rmp::Ring::create");
  return r;
}

Ring Ring::open(std::string_view name, clock::time_point deadline, std::error_code &ec) {
  shm::Segment seg = shm::Segment::open(name, {kRingMagic, kRingLayoutVersion, 0}, deadline, ec);
  if (ec) return {};
  return finish(std::move(seg), ec, [](auto s) { return Ring(std::move(s)); });
}

Ring Ring::open(std::string_view name, std::chrono::milliseconds timeout) {
  std::error_code ec;
  Ring r = open(name, clock::now() + timeout, ec);
  throw_if(ec, "camure::rmp::Ring::open");
  return r;
}

Ring Ring::create_or_open(std::string_view name, const RingOptions &options, clock::time_point deadline,
                          std::error_code &ec) {
  std::uint32_t group = 0;
  if ((ec = check_options(options, group))) return {};
  const shm::SegmentSpec spec{kRingMagic, kRingLayoutVersion,
                              segment_size_for(options.capacity, options.max_participants)};
  bool created = false;
  shm::Segment seg = shm::Segment::create_or_open(name, spec, builder(options, group), deadline, created, ec);
  if (ec) return {};
  Ring r = finish(std::move(seg), ec, [](auto s) { return Ring(std::move(s)); });
  if (!ec && r.capacity() != options.capacity) {
    ec = make_error_code(errc::size_mismatch);
    return {};
  }
  return r;
}

Ring Ring::create_or_open(std::string_view name, const RingOptions &options) {
  std::error_code ec;
  Ring r = create_or_open(name, options, clock::now() + std::chrono::seconds(5), ec);
  throw_if(ec, "camure::rmp::Ring::create_or_open");
  return r;
}

std::error_code Ring::remove(std::string_view name) noexcept { return shm::Segment::unlink(name); }

const std::string &Ring::name() const noexcept {
  static const std::string empty;
  return shared_ ? shared_->segment.name() : empty;
}

std::size_t Ring::capacity() const noexcept { return shared_ ? shared_->bytes.capacity : 0; }

std::size_t Ring::max_message_size() const noexcept {
  return shared_ ? static_cast<std::size_t>(shared_->bytes.capacity - kRecordHeaderBytes) : 0;
}

std::uint64_t Ring::head_sequence() const noexcept {
  return shared_ ? detail::read_head(*shared_).head_seq : 0;
}

std::uint64_t Ring::repairs() const noexcept {
  return shared_ ? shared_->ctl->counters.repairs.load(std::memory_order_relaxed) : 0;
}

Backpressure Ring::backpressure() const noexcept {
  return shared_ ? static_cast<Backpressure>(shared_->ctl->config.backpressure) : Backpressure::overrun;
}

} // namespace camure::rmp
