// UDP segmentation offload: GSO batch framing (sans-IO), GRO splitting, and a real GSO send /
// GRO receive through the Transport on loopback multicast.
#include <gtest/gtest.h>

#include "runtime/net/datagram_batch.hpp"
#include "runtime/net/frame.hpp"
#include "runtime/net/transport.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

using namespace camure::net;

namespace {

std::vector<std::uint8_t> dgram(std::size_t n, std::uint8_t fill) { return std::vector<std::uint8_t>(n, fill); }

/// What the kernel does with a GSO send: cut at segment() bytes (0 = one datagram).
std::vector<std::vector<std::uint8_t>> kernel_split(const GsoBatch &b) {
  std::vector<std::vector<std::uint8_t>> out;
  for_each_segment(b.bytes(), b.segment(), [&](std::span<const std::uint8_t> d) { out.emplace_back(d.begin(), d.end()); });
  return out;
}

} // namespace

TEST(NetGsoBatch, EqualDatagramsShareOneSendAndSplitBackExactly) {
  GsoBatch b;
  for (std::uint8_t i = 0; i < 10; ++i) {
    ASSERT_TRUE(b.fits(1400));
    b.add(dgram(1400, i));
    EXPECT_FALSE(b.closed());
  }
  EXPECT_EQ(b.count(), 10u);
  EXPECT_EQ(b.segment(), 1400u);
  auto parts = kernel_split(b);
  ASSERT_EQ(parts.size(), 10u);
  for (std::uint8_t i = 0; i < 10; ++i) EXPECT_EQ(parts[i], dgram(1400, i));
}

TEST(NetGsoBatch, AShorterDatagramEndsTheBatchALongerOneNeedsAFlush) {
  GsoBatch b;
  b.add(dgram(1000, 1));
  EXPECT_FALSE(b.fits(1001)) << "a longer datagram cannot follow: the kernel cuts at the first size";
  ASSERT_TRUE(b.fits(600));
  b.add(dgram(600, 2));
  EXPECT_TRUE(b.closed());
  EXPECT_FALSE(b.fits(600)) << "nothing may follow the short last segment";
  auto parts = kernel_split(b);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0], dgram(1000, 1));
  EXPECT_EQ(parts[1], dgram(600, 2));
  b.clear();
  EXPECT_TRUE(b.empty());
  EXPECT_TRUE(b.fits(1001));
}

TEST(NetGsoBatch, SingleDatagramIsAPlainSend) {
  GsoBatch b;
  b.add(dgram(300, 7));
  EXPECT_EQ(b.segment(), 0u);
  EXPECT_EQ(kernel_split(b).size(), 1u);
}

TEST(NetGsoBatch, RespectsTheKernelLimits) {
  GsoBatch small;
  std::size_t n = 0;
  while (!small.closed()) {
    ASSERT_TRUE(small.fits(100));
    small.add(dgram(100, 1));
    ++n;
  }
  EXPECT_EQ(n, GsoBatch::kMaxSegments);
  GsoBatch big;
  n = 0;
  while (!big.closed()) {
    ASSERT_TRUE(big.fits(1400));
    big.add(dgram(1400, 1));
    ++n;
  }
  EXPECT_LE(big.bytes().size(), GsoBatch::kMaxBytes);
  EXPECT_GT(big.bytes().size() + 1400, GsoBatch::kMaxBytes);
  EXPECT_EQ(n, GsoBatch::kMaxBytes / 1400);
  EXPECT_FALSE(GsoBatch::batchable(GsoBatch::kMaxSegment + 1));
  EXPECT_FALSE(GsoBatch::batchable(0));
  EXPECT_FALSE(GsoBatch().fits(GsoBatch::kMaxSegment + 1));
}

TEST(NetGroSplit, SplitsAtTheSegmentSizeWithAShortTail) {
  std::vector<std::uint8_t> buf(2500);
  std::iota(buf.begin(), buf.end(), 0);
  std::vector<std::size_t> sizes;
  std::size_t first_byte_sum = 0;
  for_each_segment(std::span<const std::uint8_t>(buf), 1000, [&](std::span<const std::uint8_t> d) {
    sizes.push_back(d.size());
    first_byte_sum += static_cast<std::size_t>(d.data() - buf.data());
  });
  EXPECT_EQ(sizes, (std::vector<std::size_t>{1000, 1000, 500}));
  EXPECT_EQ(first_byte_sum, 0u + 1000 + 2000);
  sizes.clear();
  for_each_segment(std::span<const std::uint8_t>(buf), 0, [&](std::span<const std::uint8_t> d) { sizes.push_back(d.size()); });
  EXPECT_EQ(sizes, (std::vector<std::size_t>{2500}));
  sizes.clear();
  for_each_segment(std::span<const std::uint8_t>(buf), 4000, [&](std::span<const std::uint8_t> d) { sizes.push_back(d.size()); });
  EXPECT_EQ(sizes, (std::vector<std::size_t>{2500}));
}

// The real path: frames batched by the Transport (GSO), looped back on 127.0.0.1 multicast to the
// group socket (GRO if the kernel coalesces), arrive as the same frames in the same order, each
// still passing its own tag check.
TEST(NetTransportOffload, BatchedAuthenticatedFramesArriveWholeAndInOrder) {
  using namespace camure::session;
  Options o;
  o.ttl = 0;
  o.multicast_loopback = true;
  std::error_code ec;
  const std::string group = "239.77.250." + std::to_string(getpid() % 250 + 1);
  auto t = Transport::open_coordinator(Endpoint{"127.0.0.1", 0}, Endpoint{group, static_cast<std::uint16_t>(40000 + getpid() % 20000)}, o, ec);
  if (!t) GTEST_SKIP() << "no loopback multicast here: " << ec.message();
  std::array<std::uint8_t, kKeySize> key{};
  key.fill(0x33);
  Codec codec(key);
  constexpr int kFrames = 150; // several batches, with a short one last
  std::vector<std::vector<std::uint8_t>> sent;
  for (int i = 0; i < kFrames; ++i) {
    FrameHeader h;
    h.type = FrameType::data;
    h.session = 9;
    h.epoch = 1;
    h.sender = 1;
    h.seq = static_cast<std::uint64_t>(i);
    std::vector<std::uint8_t> payload(i == kFrames - 1 ? 100 : 1300, static_cast<std::uint8_t>(i));
    std::vector<std::uint8_t> f;
    codec.encode(h, payload, f);
    t->send(nullptr, f);
    sent.push_back(std::move(f));
  }
  t->flush();
  std::vector<std::vector<std::uint8_t>> got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (got.size() < sent.size() && std::chrono::steady_clock::now() < deadline) {
    t->poll_wait(std::chrono::milliseconds(100), std::chrono::nanoseconds(0));
    t->drain([&](const PeerAddr &, std::span<const std::uint8_t> d) { got.emplace_back(d.begin(), d.end()); });
  }
  ASSERT_EQ(got.size(), sent.size());
  for (int i = 0; i < kFrames; ++i) {
    EXPECT_EQ(got[static_cast<std::size_t>(i)], sent[static_cast<std::size_t>(i)]) << "frame " << i;
    DropCounters drops;
    auto f = codec.decode(got[static_cast<std::size_t>(i)], &drops);
    ASSERT_TRUE(f.has_value()) << "frame " << i;
    EXPECT_EQ(f->h.seq, static_cast<std::uint64_t>(i));
  }
  EXPECT_EQ(t->send_errors(), 0u);
}

// Unicast runs (repairs to one receiver) batch too; a change of destination ends a batch, and
// what each destination gets stays in order.
TEST(NetTransportOffload, UnicastRunsBatchAndDestinationsKeepTheirOrder) {
  using namespace camure::session;
  Options o;
  o.ttl = 0;
  std::error_code ec;
  const std::string group = "239.77.251." + std::to_string(getpid() % 250 + 1);
  auto t = Transport::open_coordinator(Endpoint{"127.0.0.1", 0}, Endpoint{group, static_cast<std::uint16_t>(40000 + (getpid() + 7) % 20000)}, o, ec);
  if (!t) GTEST_SKIP() << "no loopback multicast here: " << ec.message();
  const Endpoint self = t->local_endpoint();
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(self.port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  PeerAddr me;
  me.len = sizeof sa;
  std::memcpy(me.raw.data(), &sa, sizeof sa);
  std::vector<std::uint8_t> to_me, to_group; // first byte of each datagram, per destination
  std::uint8_t k = 0;
  for (int run = 0; run < 6; ++run) {
    for (int i = 0; i < 7 + run; ++i, ++k) {
      std::vector<std::uint8_t> d(1200, k);
      const bool uni = run % 2 == 0;
      t->send(uni ? &me : nullptr, d);
      (uni ? to_me : to_group).push_back(k);
    }
  }
  t->flush();
  std::vector<std::uint8_t> got_me, got_group;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((got_me.size() < to_me.size() || got_group.size() < to_group.size()) &&
         std::chrono::steady_clock::now() < deadline) {
    const unsigned which = t->poll_wait(std::chrono::milliseconds(100), std::chrono::nanoseconds(0));
    t->drain(
        [&](const PeerAddr &, std::span<const std::uint8_t> d) {
          ASSERT_EQ(d.size(), 1200u);
          // The unicast socket also sees nothing of the group, and vice versa: tell them by content.
          const bool uni = std::find(to_me.begin(), to_me.end(), d[0]) != to_me.end();
          (uni ? got_me : got_group).push_back(d[0]);
        },
        512, which ? which : Transport::kBoth);
  }
  EXPECT_EQ(got_me, to_me);
  EXPECT_EQ(got_group, to_group);
  EXPECT_EQ(t->send_errors(), 0u);
}
