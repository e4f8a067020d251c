// How busy the machine is right now: one reading of the kernel's runnable-task count.
#pragma once

namespace camure::common {

/// Tasks runnable on the whole machine right now (/proc/loadavg's "running/total" field,
/// the caller included); 0 when it cannot be read. One read of /proc per call.
unsigned runnable_tasks() noexcept;

} // namespace camure::common
