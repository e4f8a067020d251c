// Program lookup: PATH search and executability checks with one-line reasons.
#include "launcher/program_path.hpp"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

namespace camure::launcher {

namespace {

/// 0 if `p` is an executable regular file, else an errno-like reason code.
int check_executable(const std::string &p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return errno;
  if (S_ISDIR(st.st_mode)) return EISDIR;
  if (!S_ISREG(st.st_mode)) return EACCES;
  if (::access(p.c_str(), X_OK) != 0) return errno;
  return 0;
}

std::string reason(int err) {
  if (err == EISDIR) return "is a directory";
  if (err == EACCES) return "is not executable (permission denied)";
  if (err == ENOENT) return "does not exist";
  return std::strerror(err);
}

} // namespace

ResolvedProgram resolve_program(const std::string &program, const std::string &path_env, const std::string &cwd) {
  ResolvedProgram r;
  if (program.empty()) {
    r.error = "empty program name";
    return r;
  }
  if (program.find('/') != std::string::npos) {
    std::string p = program[0] == '/' ? program : cwd + "/" + program;
    if (int err = check_executable(p)) {
      r.error = "program '" + program + "' " + reason(err);
      return r;
    }
    r.path = p;
    return r;
  }
  const std::string search = path_env.empty() ? "/usr/local/bin:/usr/bin:/bin" : path_env;
  int first_err = 0;
  std::size_t pos = 0;
  for (;;) {
    std::size_t colon = search.find(':', pos);
    std::string dir = search.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos);
    if (dir.empty()) dir = cwd; // an empty PATH entry means the current directory
    else if (dir[0] != '/') dir = cwd + "/" + dir;
    std::string p = dir + "/" + program;
    int err = check_executable(p);
    if (err == 0) {
      r.path = p;
      return r;
    }
    if (err != ENOENT && err != ENOTDIR && first_err == 0) first_err = err;
    if (colon == std::string::npos) break;
    pos = colon + 1;
  }
  r.error = first_err ? "program '" + program + "' found in PATH but " + reason(first_err)
                      : "program '" + program + "' not found in PATH";
  return r;
}

} // namespace camure::launcher
