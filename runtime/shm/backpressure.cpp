// Built-in backpressure policies: overrun slow readers, or block with a timeout.
#include <camure/rmp.hpp>

namespace camure::rmp {
namespace {

class OverrunPolicy final : public BackpressurePolicy {
public:
  bool tracks_readers() const noexcept override { return false; }
  PressureAction on_pressure(std::uint64_t, std::chrono::nanoseconds) override { return PressureAction::overwrite; }
};

class BlockPolicy final : public BackpressurePolicy {
public:
  explicit BlockPolicy(std::chrono::nanoseconds timeout) : timeout_(timeout) {}
  bool tracks_readers() const noexcept override { return true; }
  PressureAction on_pressure(std::uint64_t, std::chrono::nanoseconds waited) override {
    return waited < timeout_ ? PressureAction::wait : PressureAction::fail;
  }

private:
  std::chrono::nanoseconds timeout_;
};

} // namespace

BackpressurePolicy::~BackpressurePolicy() = default;

std::shared_ptr<BackpressurePolicy> BackpressurePolicy::overrun() { return std::make_shared<OverrunPolicy>(); }

std::shared_ptr<BackpressurePolicy> BackpressurePolicy::block(std::chrono::nanoseconds timeout) {
  return std::make_shared<BlockPolicy>(timeout);
}

} // namespace camure::rmp
