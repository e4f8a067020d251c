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

std::size_t Codec::seal_in_place(const FrameHeader &h, std::uint8_t *buf, std::size_t payload_len) const {
  write_header(h, buf, payload_len, key_.has_value());
  const std::size_t body = layout::header_size + payload_len;
  if (!key_) return body;
  crypto_generichash(buf + body, layout::tag_size, buf, body, key_->data(), key_->size());
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
    crypto_generichash(tag.data(), tag.size(), p, body, key_->data(), key_->size());
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
