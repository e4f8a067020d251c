// Wire layout of a topic message inside an RMP record, declared once.
#pragma once

#include <cstddef>
#include <cstdint>

namespace camure::topic::detail {

inline constexpr std::uint32_t kTopicTag = 0x31435054u; // "TPC1" little-endian
inline constexpr std::uint8_t kFlagPostToDescendants = 0x01;
inline constexpr std::size_t kMaxTopicBytes = 4096;

/// RMP payload = TopicHeader, topic bytes (not NUL-terminated), then the user payload.
struct TopicHeader {
  std::uint32_t tag;       ///< kTopicTag
  std::uint16_t topic_len; ///< bytes of the topic path
  std::uint8_t flags;      ///< kFlagPostToDescendants
  std::uint8_t reserved;   ///< zero
};
static_assert(sizeof(TopicHeader) == 8);
static_assert(offsetof(TopicHeader, tag) == 0);
static_assert(offsetof(TopicHeader, topic_len) == 4);
static_assert(offsetof(TopicHeader, flags) == 6);

} // namespace camure::topic::detail
