// Removing a job's shared-memory segments (/dev/shm/camure-<JOB_ID>-*).
#pragma once

#include <string>

namespace camure::launcher {

/// Unlinks every /dev/shm entry named "camure-<job_id>-*". Returns how many were removed.
/// Async-signal-unsafe (uses opendir); call from a normal context or a janitor process.
int remove_job_segments(const std::string &job_id, const std::string &shm_dir = "/dev/shm");

} // namespace camure::launcher
