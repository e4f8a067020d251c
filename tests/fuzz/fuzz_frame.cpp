// libFuzzer target: the frame decoder (keyed and unkeyed) and the session core's frame handlers.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/net/session_core.hpp"

using namespace camure::net;

namespace {

struct Harness {
  Codec keyed{std::array<std::uint8_t, kKeySize>{}};
  Codec plain;
  std::unique_ptr<SessionCore> coord, member;
  Nanos now = 1'000'000'000;

  Harness() {
    auto sink = [](const PeerAddr *, std::span<const std::uint8_t>) {};
    CoreConfig c;
    c.role = Role::coordinator;
    c.session_id = 1;
    c.epoch = 1;
    c.window = 1 << 16;
    coord = std::make_unique<SessionCore>(c, sink);
    (void)coord->create_group(0, GroupKind::barrier, now);
    (void)coord->create_group(1, GroupKind::broadcast, now);
    CoreConfig m = c;
    m.role = Role::member;
    m.join_nonce = 5;
    PeerAddr a;
    a.len = 1;
    m.coordinator_addr = a;
    member = std::make_unique<SessionCore>(m, sink);
    // Admit the member so frames reach the group handlers (session 1, epoch 1, id 1).
    std::vector<std::uint8_t> f;
    FrameHeader h;
    h.type = FrameType::join_ack;
    h.session = 1;
    h.epoch = 1;
    h.aux = 1;
    h.seq = 5;
    plain.encode(h, std::vector<std::uint8_t>(19, 0), f);
    member->on_datagram(a, std::make_shared<const std::vector<std::uint8_t>>(f), now);
    (void)member->join_group(1, GroupKind::broadcast, now);
  }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  static Harness h;
  const std::span<const std::uint8_t> d(data, size);
  DropCounters drops;
  if (auto f = h.keyed.decode(d, &drops)) {
    // Only a frame tagged with the all-zero key gets here; check the decoder's own promises.
    if (f->payload.size() + h.keyed.overhead() != size) __builtin_trap();
  }
  if (auto f = h.plain.decode(d, &drops)) {
    if (f->payload.data() != data + layout::header_size) __builtin_trap();
  }
  PeerAddr from;
  from.len = 2;
  from.raw[0] = static_cast<std::uint8_t>(size);
  auto buf = std::make_shared<const std::vector<std::uint8_t>>(d.begin(), d.end());
  h.now += 100'000;
  h.coord->on_datagram(from, buf, h.now);
  h.member->on_datagram(from, buf, h.now);
  h.coord->tick(h.now);
  h.member->tick(h.now);
  CoreMessage m;
  while (h.member->bcast_pop(1, m)) {
    if (m.bytes().size() != m.size) __builtin_trap();
  }
  while (h.coord->bcast_pop(1, m)) {
  }
  return 0;
}
