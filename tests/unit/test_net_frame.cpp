// Unit tests for the frame codec: layout pinned, every field's bound, authentication, truncation.
#include <gtest/gtest.h>

#include "runtime/net/frame.hpp"

using namespace camure::net;

namespace {

std::array<std::uint8_t, kKeySize> key(std::uint8_t v) {
  std::array<std::uint8_t, kKeySize> k{};
  k.fill(v);
  return k;
}

FrameHeader sample() {
  FrameHeader h;
  h.type = FrameType::data;
  h.session = 0x0102030405060708ULL;
  h.epoch = 0x11223344;
  h.sender = 0x55667788;
  h.group = 0x99aabbcc;
  h.aux = 0xddeeff00;
  h.seq = 0xfffffffffffffff0ULL;
  return h;
}

std::vector<std::uint8_t> encoded(const Codec &c, std::size_t payload = 5) {
  std::vector<std::uint8_t> out, p(payload);
  for (std::size_t i = 0; i < payload; ++i) p[i] = static_cast<std::uint8_t>(i * 7);
  c.encode(sample(), p, out);
  return out;
}

} // namespace

TEST(NetFrame, LayoutIsPinnedLittleEndian) {
  Codec c;
  auto f = encoded(c, 3);
  ASSERT_EQ(f.size(), layout::header_size + 3);
  const std::vector<std::uint8_t> head = {
      'C', 'A', 'M', 'S', 2, 12, 0, 0,                  // magic, version, type DATA, flags
      0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,   // session
      0x44, 0x33, 0x22, 0x11, 0x88, 0x77, 0x66, 0x55,   // epoch, sender
      0xcc, 0xbb, 0xaa, 0x99, 0x00, 0xff, 0xee, 0xdd,   // group, aux
      0xf0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,   // seq
      3, 0, 0, 0, 0, 0, 0, 0};                          // payload_len, reserved
  EXPECT_EQ(std::vector<std::uint8_t>(f.begin(), f.begin() + 48), head);
}

TEST(NetFrame, RoundTripWithAndWithoutKey) {
  for (bool auth : {false, true}) {
    Codec c = auth ? Codec(key(1)) : Codec();
    auto f = encoded(c, 100);
    EXPECT_EQ(f.size(), c.overhead() + 100);
    DropCounters d;
    auto r = c.decode(f, &d);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->h.type, FrameType::data);
    EXPECT_EQ(r->h.session, sample().session);
    EXPECT_EQ(r->h.epoch, sample().epoch);
    EXPECT_EQ(r->h.sender, sample().sender);
    EXPECT_EQ(r->h.group, sample().group);
    EXPECT_EQ(r->h.aux, sample().aux);
    EXPECT_EQ(r->h.seq, sample().seq);
    ASSERT_EQ(r->payload.size(), 100u);
    EXPECT_EQ(r->payload[10], 70);
    EXPECT_EQ(d.total(), 0u);
  }
}

TEST(NetFrame, EveryFieldBoundIsCheckedAndCounted) {
  Codec c;
  struct Case {
    const char *what;
    std::function<void(std::vector<std::uint8_t> &)> mutate;
    DropReason reason;
  };
  const std::vector<Case> cases = {
      {"empty", [](auto &f) { f.clear(); }, DropReason::too_short},
      {"header cut", [](auto &f) { f.resize(47); }, DropReason::too_short},
      {"magic", [](auto &f) { f[0] ^= 1; }, DropReason::bad_magic},
      {"version", [](auto &f) { f[layout::version] = kVersion + 1; }, DropReason::bad_version},
      {"type 0", [](auto &f) { f[layout::type] = 0; }, DropReason::bad_type},
      {"type too big", [](auto &f) { f[layout::type] = kMaxFrameType + 1; }, DropReason::bad_type},
      {"unknown flag", [](auto &f) { f[layout::flags] |= 0x80; }, DropReason::bad_flags},
      {"reserved", [](auto &f) { f[layout::reserved + 3] = 1; }, DropReason::bad_reserved},
      {"payload cut", [](auto &f) { f.pop_back(); }, DropReason::bad_length},
      {"trailing byte", [](auto &f) { f.push_back(0); }, DropReason::bad_length},
      {"length huge", [](auto &f) { put_u32(f.data() + layout::payload_len, 0xffffffffu); }, DropReason::bad_length},
      {"tag flag without key", [](auto &f) { f[layout::flags] |= kFlagAuth; }, DropReason::bad_length},
  };
  for (const auto &tc : cases) {
    auto f = encoded(c);
    tc.mutate(f);
    DropCounters d;
    EXPECT_FALSE(c.decode(f, &d)) << tc.what;
    EXPECT_EQ(d.get(tc.reason), 1u) << tc.what << " counted as " << to_string(tc.reason);
    EXPECT_EQ(d.total(), 1u) << tc.what;
  }
}

TEST(NetFrame, AuthenticationRejectsForgeriesAndForeignKeys) {
  Codec a(key(1)), b(key(2)), none;
  auto f = encoded(a, 64);
  DropCounters d;
  EXPECT_TRUE(a.decode(f, &d));
  EXPECT_FALSE(b.decode(f, &d)) << "another session's key";
  EXPECT_EQ(d.get(DropReason::auth_failed), 1u);
  for (std::size_t i : {std::size_t{8}, std::size_t{33}, std::size_t{60}, f.size() - 1}) {
    auto g = f;
    g[i] ^= 0x01; // any flipped bit in header, payload or tag
    EXPECT_FALSE(a.decode(g, &d)) << "byte " << i;
  }
  EXPECT_EQ(d.get(DropReason::auth_failed), 5u);
  // An unauthenticated frame is refused by a keyed codec, and vice versa.
  auto plain = encoded(none, 64);
  EXPECT_FALSE(a.decode(plain, &d));
  EXPECT_EQ(d.get(DropReason::auth_failed), 6u);
  EXPECT_FALSE(none.decode(f, &d));
  EXPECT_EQ(d.get(DropReason::auth_failed), 7u);
  // Truncating a keyed frame anywhere is caught.
  for (std::size_t n = 0; n < f.size(); n += 7) {
    std::vector<std::uint8_t> t(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_FALSE(a.decode(t, nullptr)) << n;
  }
}

TEST(NetFrame, SealInPlaceMatchesEncode) {
  Codec a(key(9));
  std::vector<std::uint8_t> p = {1, 2, 3, 4};
  std::vector<std::uint8_t> buf(a.overhead() + p.size());
  std::copy(p.begin(), p.end(), buf.begin() + layout::header_size);
  const std::size_t n = a.seal_in_place(sample(), buf.data(), p.size());
  std::vector<std::uint8_t> ref;
  a.encode(sample(), p, ref);
  EXPECT_EQ(n, ref.size());
  EXPECT_EQ(buf, ref);
}

TEST(NetFrame, DataAndControlFramesEachCarryTheirOwnTag) {
  // DATA frames use the stream-keyed Poly1305 tag, every other type keyed BLAKE2b; both must
  // bind every header field (a replayed packet under another salt, sequence or sender fails).
  const Codec c(key(4));
  for (FrameType t : {FrameType::data, FrameType::ack, FrameType::status}) {
    FrameHeader h = sample();
    h.type = t;
    std::vector<std::uint8_t> f;
    const std::vector<std::uint8_t> payload(1300, 0x5a);
    c.encode(h, payload, f);
    DropCounters d;
    ASSERT_TRUE(c.decode(f, &d)) << static_cast<int>(t);
    for (std::size_t field : {layout::session, layout::epoch, layout::sender, layout::group, layout::aux, layout::seq}) {
      auto g = f;
      g[field] ^= 1;
      EXPECT_FALSE(c.decode(g, &d)) << "type " << static_cast<int>(t) << " field at " << field;
    }
    auto g = f;
    g[layout::header_size + 700] ^= 0x80;
    EXPECT_FALSE(c.decode(g, &d));
    EXPECT_EQ(d.get(DropReason::auth_failed), 7u);
  }
  // Same packet under two salts: different tags (so a re-created stream never repeats one).
  FrameHeader a = sample(), b = sample();
  b.aux ^= 0x10000;
  std::vector<std::uint8_t> fa, fb;
  c.encode(a, std::vector<std::uint8_t>(64, 1), fa);
  c.encode(b, std::vector<std::uint8_t>(64, 1), fb);
  EXPECT_NE(std::vector<std::uint8_t>(fa.end() - layout::tag_size, fa.end()),
            std::vector<std::uint8_t>(fb.end() - layout::tag_size, fb.end()));
}
