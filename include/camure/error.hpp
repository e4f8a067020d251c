// camure's error codes: one errc enum, its std::error_category, and the camure::error exception.
#pragma once

#include <camure/export.hpp>

#include <string>
#include <system_error>

namespace camure {

/// Every failure camure reports. The C API returns the negated value (e.g. -CAMURE_ERR_TIMEOUT).
/// Values are stable: new codes are only ever appended.
enum class errc : int {
  timeout = 1,           ///< a blocking call's deadline passed
  peer_lost = 2,         ///< a peer (member, rank, writer) died or was evicted
  version_mismatch = 3,  ///< layout or protocol version differs
  bad_magic = 4,         ///< segment or frame is not camure's
  size_mismatch = 5,     ///< segment size differs from what was asked for
  invalid_argument = 6,  ///< a parameter is out of range or malformed
  not_found = 7,         ///< named object (segment, group, topic) does not exist
  already_exists = 8,    ///< named object exists and exclusive creation was asked
  message_too_large = 9, ///< message exceeds what the ring/window can hold
  messages_lost = 10,    ///< a reader was overrun; messages were lost (count reported separately)
  closed = 11,           ///< the object was closed or shut down
  coordinator_lost = 12, ///< the session coordinator is gone
  evicted = 13,          ///< this member was evicted from the session
  auth_failed = 14,      ///< frame authentication failed
  system_error = 15,     ///< an OS call failed (see the detail message)
  no_memory = 16,        ///< allocation or mapping failed
  not_initialized = 17,  ///< camure_init was not called, or finalize was
  internal = 18,         ///< a broken invariant inside camure (a bug)
  would_block = 19,      ///< non-blocking call had nothing to do
  truncated = 20,        ///< the destination buffer is smaller than the message
  busy = 21,             ///< resource is in use (e.g. a segment still has live users)
  not_ready = 22,        ///< a segment's creator has not published READY yet
  owner_died = 23,       ///< a robust lock was held by a process that died; state was repaired
  aborted = 24,          ///< the job was aborted
  protocol_error = 25,   ///< peer sent something the protocol does not allow
  unsupported = 26,      ///< feature or option not supported on this system
};

/// The category of camure::errc; name() is "camure".
CAMURE_API const std::error_category &error_category() noexcept;

/// Makes a std::error_code from a camure::errc (found by ADL).
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// The exception thrown by the throwing overloads of the C++ API.
class CAMURE_API error : public std::system_error {
public:
  explicit error(std::error_code ec) : std::system_error(ec) {}
  error(std::error_code ec, const std::string &what) : std::system_error(ec, what) {}
  error(errc e, const std::string &what) : std::system_error(make_error_code(e), what) {}
  ~error() override;
};

/// Throws camure::error(ec, context) if ec is set. Helper for the throwing overloads.
CAMURE_API void throw_if(const std::error_code &ec, const char *context);

} // namespace camure

template <> struct std::is_error_code_enum<camure::errc> : std::true_type {};
