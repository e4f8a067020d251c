// The rank's line to camurerun: abort the job, monotonic clock.
#pragma once

namespace camure::collectives {

/// Tells camurerun (control fd, "abort <code>\n") to end the job, then exits with code.
/// control_fd < 0: just exits. Async-signal-safe apart from the final _exit.
[[noreturn]] void abort_job(int control_fd, int exit_code) noexcept;

/// Seconds on CLOCK_MONOTONIC.
double monotonic_seconds() noexcept;

} // namespace camure::collectives
