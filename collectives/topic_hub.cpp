// Topics: waiting for the shm layer's camure::topic (issue 2); until it lands every topic call
// reports errc::unsupported honestly instead of pretending to deliver.
#include "collectives/topic_hub.hpp"
namespace camure::collectives {
struct TopicHub::Impl {};
TopicHub::TopicHub(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TopicHub::~TopicHub() = default;
std::unique_ptr<TopicHub> TopicHub::create(const std::string &, int, JobSegment::clock::time_point, std::error_code &ec, std::string &) {
  ec.clear();
  return std::unique_ptr<TopicHub>(new TopicHub(std::make_unique<Impl>()));
}
void TopicHub::unlink_names() noexcept {}
void TopicHub::shutdown() noexcept {}
std::error_code TopicHub::publish(std::string_view, std::span<const std::byte>, bool, std::string &d) noexcept { d = "topics need the shm topic layer (camure::topic), not built yet"; return errc::unsupported; }
std::shared_ptr<detail::SubscriptionState> TopicHub::subscribe(std::string_view, bool, TopicCallback, std::error_code &ec, std::string &d) noexcept { d = "topics need the shm topic layer (camure::topic), not built yet"; ec = errc::unsupported; return nullptr; }
std::optional<Message> TopicHub::receive(detail::SubscriptionState &, std::chrono::nanoseconds, std::error_code &ec, std::string &) noexcept { ec = errc::unsupported; return std::nullopt; }
void TopicHub::close(detail::SubscriptionState &) noexcept {}
}
