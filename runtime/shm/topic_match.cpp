// Topic path validation and hierarchical, segment-aware matching.
#include <camure/topic.hpp>

#include "runtime/shm/topic_layout.hpp"

namespace camure::topic {
namespace {

// True if a is a strict ancestor of b (both valid).
bool ancestor(std::string_view a, std::string_view b) noexcept {
  if (a == "/") return b != "/";
  return b.size() > a.size() && b.substr(0, a.size()) == a && b[a.size()] == '/';
}

} // namespace

bool valid(std::string_view t) noexcept {
  if (t.empty() || t.size() > detail::kMaxTopicBytes || t.front() != '/') return false;
  if (t == "/") return true;
  if (t.back() == '/') return false;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '\0') return false;
    if (t[i] == '/' && i + 1 < t.size() && t[i + 1] == '/') return false;
  }
  return true;
}

bool matches(std::string_view sub, bool receive_descendants, std::string_view pub, bool post_to_descendants) noexcept {
  if (!valid(sub) || !valid(pub)) return false;
  if (sub == pub) return true;
  if (receive_descendants && ancestor(sub, pub)) return true;
  if (post_to_descendants && ancestor(pub, sub)) return true;
  return false;
}

} // namespace camure::topic
