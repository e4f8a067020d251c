// The calling thread's detail message for its last failed camure call (C API context).
#pragma once

#include <string>
#include <system_error>

namespace camure::collectives {

/// Sets the thread's detail message.
void set_last_error(std::string detail);
/// Clears the thread's detail message (start of each C call).
void clear_last_error();
/// The thread's detail message; "" if none. Valid until the thread's next set/clear.
const char *last_error() noexcept;

/// Convenience: sets ec and the detail "<context>: <detail or ec.message()>".
void fail(std::error_code &ec, std::error_code code, const std::string &context, const std::string &detail = {});

} // namespace camure::collectives
