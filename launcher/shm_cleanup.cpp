// Removing a job's shared-memory segments by name prefix.
#include "launcher/shm_cleanup.hpp"

#include <dirent.h>
#include <unistd.h>

namespace camure::launcher {

int remove_job_segments(const std::string &job_id, const std::string &shm_dir) {
  if (job_id.empty()) return 0;
  // The runtime names its segments camure-<job>-*; the shm layer stores a segment named N as
  // the file camure.N, so both spellings are the job's.
  const std::string prefix = "camure-" + job_id + "-";
  const std::string shm_prefix = "camure." + prefix;
  DIR *d = ::opendir(shm_dir.c_str());
  if (!d) return 0;
  int removed = 0;
  while (dirent *e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind(prefix, 0) != 0 && name.rfind(shm_prefix, 0) != 0) continue;
    if (::unlink((shm_dir + "/" + name).c_str()) == 0) ++removed;
  }
  ::closedir(d);
  return removed;
}

} // namespace camure::launcher
