// Resolving the program to run as execvp would, before any rank is forked.
#pragma once

#include <string>

namespace camure::launcher {

struct ResolvedProgram {
  std::string path;  ///< absolute or PATH-found path to exec; empty on failure
  std::string error; ///< one-line reason when path is empty
};

/// Resolves `program` like execvp: a name with a '/' is taken as a path (relative to `cwd`),
/// otherwise each directory of `path_env` is searched. The result must be a regular file that
/// is executable by us.
ResolvedProgram resolve_program(const std::string &program, const std::string &path_env, const std::string &cwd);

} // namespace camure::launcher
