// How busy the machine is right now: one reading of the kernel's runnable-task count, and the
// cpus it has to run them on.
#pragma once

namespace camure::common {

/// Tasks runnable on the whole machine right now (/proc/loadavg's "running/total" field,
/// the caller included); 0 when it cannot be read. One read of /proc per call.
unsigned runnable_tasks() noexcept;

/// Online cpus of the machine (not just this process's affinity), at least 1; read once.
unsigned online_cpus() noexcept;

/// Whether a runnable_tasks() reading says that someone is waiting for a cpu: more runnable
/// tasks than the machine has cpus. A reading of 0 (unreadable) says no.
inline bool more_runnable_than_cpus(unsigned runnable) noexcept { return runnable > online_cpus(); }

} // namespace camure::common
