// Frame encoder and checked decoder with keyed BLAKE2b authentication.
#include "runtime/net/frame.hpp"

#include <sodium.h>

#include <cstring>

namespace camure::net {

const char *to_string(DropReason r) noexcept {
  switch (r) {
  case DropReason::too_short: return "too_short";
  case DropReason::bad_magic: return "bad_magic";
  case DropReason::bad_version: return "bad_version";
  case DropReason::bad_type: return "bad_type";
  case DropReason::bad_flags: return "bad_flags";
  case DropReason::bad_reserved: return "bad_reserved";
  case DropReason::bad_length: return "bad_length";
  case DropReason::auth_failed: return "auth_failed";
  case DropReason::wrong_session: return "wrong_session";
  case DropReason::wrong_epoch: return "wrong_epoch";
  case DropReason::unknown_sender: return "unknown_sender";
  case DropReason::malformed_payload: return "malformed_payload";
  case DropReason::out_of_window: return "out_of_window";
  case DropReason::count_: break;
  }
  return "unknown";
}

std::uint64_t DropCounters::total() const noexcept {
  std::uint64_t t = 0;
  for (const auto &c : n) t += c.load(std::memory_order_relaxed);
  return t;
}

Codec::Codec(const std::optional<std::array<std::uint8_t, kKeySize>> &key) : key_(key) {
  // Picks the fastest BLAKE2b implementation; idempotent and thread-safe.
  if (sodium_init() < 0) { /* crypto_generichash still works (portable code path) */ }
}

namespace {
void write_header(const FrameHeader &h, std::uint8_t *p, std::size_t payload_len, bool auth) {
  put_u32(p + layout::magic, kMagic);
  p[layout::version] = kVersion;
  p[layout::type] = static_cast<std::uint8_t>(h.type);
  put_u16(p + layout::flags, static_cast<std::uint16_t>((h.flags & ~kFlagAuth) | (auth ? kFlagAuth : 0)));
  put_u64(p + layout::session, h.session);
  put_u32(p + layout::epoch, h.epoch);
  put_u32(p + layout::sender, h.sender);
  put_u32(p + layout::group, h.group);
  put_u32(p + layout::aux, h.aux);
  put_u64(p + layout::seq, h.seq);
  put_u32(p + layout::payload_len, static_cast<std::uint32_t>(payload_len));
  put_u32(p + layout::reserved, 0);
}
} // namespace

namespace {
/// The 16-byte tag of frame bytes [p, p + body) (header already written). See frame.hpp.
void compute_tag(const std::array<std::uint8_t, kKeySize> &key, const std::uint8_t *p, std::size_t body,
                 std::uint8_t *tag) {
  if (p[layout::type] != static_cast<std::uint8_t>(FrameType::data)) {
    crypto_generichash(tag, layout::tag_size, p, body, key.data(), key.size());
    return;
  }
  static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == 32 && crypto_aead_chacha20poly1305_ietf_NPUBBYTES == 12 &&
                crypto_aead_chacha20poly1305_ietf_ABYTES == layout::tag_size);
  // Stream key: one BLAKE2b compression over the fields that name the sender's stream.
  std::uint8_t info[28] = {'C', 'A', 'M', 'D'};
  std::memcpy(info + 4, p + layout::session, 8);
  std::memcpy(info + 12, p + layout::epoch, 4);
  std::memcpy(info + 16, p + layout::sender, 4);
  std::memcpy(info + 20, p + layout::group, 4);
  std::memcpy(info + 24, p + layout::aux, 4);
  std::uint8_t stream_key[crypto_aead_chacha20poly1305_ietf_KEYBYTES];
  crypto_generichash(stream_key, sizeof stream_key, info, sizeof info, key.data(), key.size());
  std::uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
  std::memcpy(nonce, p + layout::seq, 8);
  std::memcpy(nonce + 8, "DATA", 4);
  unsigned long long tag_len = 0;
  std::uint8_t none[1] = {0}; // the empty message and ciphertext (the API wants real pointers)
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(none, tag, &tag_len, none, 0, p, body, nullptr, nonce,
                                                     stream_key);
  sodium_memzero(stream_key, sizeof stream_key);
}
} // namespace

std::size_t Codec::seal_in_place(const FrameHeader &h, std::uint8_t *buf, std::size_t payload_len) const {
  write_header(h, buf, payload_len, key_.has_value());
  const std::size_t body = layout::header_size + payload_len;
  if (!key_) return body;
  compute_tag(*key_, buf, body, buf + body);
  return body + layout::tag_size;
}

std::size_t Codec::encode(const FrameHeader &h, std::span<const std::uint8_t> payload,
                          std::vector<std::uint8_t> &out) const {
  const std::size_t start = out.size();
  const std::size_t total = overhead() + payload.size();
  out.resize(start + total);
  if (!payload.empty()) std::memcpy(out.data() + start + layout::header_size, payload.data(), payload.size());
  return seal_in_place(h, out.data() + start, payload.size());
}

std::optional<Frame> Codec::decode(std::span<const std::uint8_t> d, DropCounters *drops) const {
  auto fail = [&](DropReason r) -> std::optional<Frame> {
    if (drops) drops->add(r);
    return std::nullopt;
  };
  if (d.size() < layout::header_size) return fail(DropReason::too_short);
  const std::uint8_t *p = d.data();
  if (get_u32(p + layout::magic) != kMagic) return fail(DropReason::bad_magic);
  if (p[layout::version] != kVersion) return fail(DropReason::bad_version);
  const std::uint8_t type = p[layout::type];
  if (type == 0 || type > kMaxFrameType) return fail(DropReason::bad_type);
  const std::uint16_t flags = get_u16(p + layout::flags);
  if ((flags & ~kKnownFlags) != 0) return fail(DropReason::bad_flags);
  if (get_u32(p + layout::reserved) != 0) return fail(DropReason::bad_reserved);
  const bool has_tag = (flags & kFlagAuth) != 0;
  const std::uint32_t plen = get_u32(p + layout::payload_len);
  const std::size_t expect = layout::header_size + std::size_t{plen} + (has_tag ? layout::tag_size : 0);
  if (expect != d.size()) return fail(DropReason::bad_length);
  if (key_.has_value() != has_tag) return fail(DropReason::auth_failed);
  if (has_tag) {
    std::array<std::uint8_t, layout::tag_size> tag{};
    const std::size_t body = layout::header_size + plen;
    compute_tag(*key_, p, body, tag.data());
    if (sodium_memcmp(tag.data(), p + body, tag.size()) != 0) return fail(DropReason::auth_failed);
  }
  Frame f;
  f.h.type = static_cast<FrameType>(type);
  f.h.flags = flags;
  f.h.session = get_u64(p + layout::session);
  f.h.epoch = get_u32(p + layout::epoch);
  f.h.sender = get_u32(p + layout::sender);
  f.h.group = get_u32(p + layout::group);
  f.h.aux = get_u32(p + layout::aux);
  f.h.seq = get_u64(p + layout::seq);
  f.payload = d.subspan(layout::header_size, plen);
  return f;
}

} // namespace camure::net
