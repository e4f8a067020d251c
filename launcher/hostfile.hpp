// Host lists: -H host[:slots],... and host files (Open MPI "h slots=N max_slots=M", MPICH "h:N").
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace camure::launcher {

/// One host of the job, in host-list order (repeated names are merged, slots added).
struct HostEntry {
  std::string name;
  unsigned slots = 1;     ///< 1 when not given
  unsigned max_slots = 0; ///< 0 = no hard limit
};

/// Parses `-H a,b:4,c`. Errors: one line in `why`, returns false.
bool parse_host_list(std::string_view text, std::vector<HostEntry> &hosts, std::string &why);

/// Parses a host file's text. `file` names it in errors: "FILE:LINE: problem".
/// Lines: `name [slots=N] [max_slots=M]`, `name:N`, comments from '#', blank lines.
bool parse_hostfile(std::string_view text, const std::string &file, std::vector<HostEntry> &hosts, std::string &why);

/// Reads and parses a host file; errors name the file (and line).
bool read_hostfile(const std::string &path, std::vector<HostEntry> &hosts, std::string &why);

/// Is `name` a plausible host name or address ([A-Za-z0-9._-:] or a bracketed IPv6)?
bool valid_host_name(std::string_view name);

} // namespace camure::launcher
