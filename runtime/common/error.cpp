// The camure error category: message text for every camure::errc.
#include <camure/error.hpp>

namespace camure {
namespace {

class category final : public std::error_category {
public:
  const char *name() const noexcept override { return "camure"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
    case errc::timeout: return "timed out";
    case errc::peer_lost: return "peer lost";
    case errc::version_mismatch: return "version mismatch";
    case errc::bad_magic: return "not a camure object (bad magic)";
    case errc::size_mismatch: return "size mismatch";
    case errc::invalid_argument: return "invalid argument";
    case errc::not_found: return "not found";
    case errc::already_exists: return "already exists";
    case errc::message_too_large: return "message too large";
    case errc::messages_lost: return "messages lost (reader overrun)";
    case errc::closed: return "closed";
    case errc::coordinator_lost: return "session coordinator lost";
    case errc::evicted: return "evicted from the session";
    case errc::auth_failed: return "authentication failed";
    case errc::system_error: return "system call failed";
    case errc::no_memory: return "out of memory";
    case errc::not_initialized: return "not initialized";
    case errc::internal: return "internal error";
    case errc::would_block: return "operation would block";
    case errc::truncated: return "buffer too small, message truncated";
    case errc::busy: return "resource busy";
    case errc::not_ready: return "not ready";
    case errc::owner_died: return "lock owner died; state repaired";
    case errc::aborted: return "job aborted";
    case errc::protocol_error: return "protocol error";
    case errc::unsupported: return "unsupported";
    }
    return "unknown camure error " + std::to_string(value);
  }
};

} // namespace

const std::error_category &error_category() noexcept {
  static const category instance;
  return instance;
}

error::~error() = default;

void throw_if(const std::error_code &ec, const char *context) {
  if (ec) throw error(ec, context);
}

} // namespace camure
