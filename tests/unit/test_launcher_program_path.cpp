// Program lookup like execvp: PATH search, relative paths, non-executables.
#include "launcher/program_path.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace camure::launcher;
namespace fs = std::filesystem;

namespace {

struct Scratch {
  fs::path dir = fs::temp_directory_path() / ("camure-path-" + std::to_string(::getpid()));
  Scratch() {
    fs::remove_all(dir);
    fs::create_directories(dir / "bin1");
    fs::create_directories(dir / "bin2");
    fs::create_directories(dir / "bin2" / "subdir");
    file(dir / "bin1" / "tool", false);
    file(dir / "bin2" / "tool", true);
    file(dir / "bin2" / "only", true);
  }
  ~Scratch() { fs::remove_all(dir); }
  static void file(const fs::path &p, bool exec) {
    std::ofstream(p) << "#!/bin/sh\n";
    fs::permissions(p, exec ? fs::perms::owner_all : (fs::perms::owner_read | fs::perms::owner_write));
  }
};

} // namespace

TEST(LauncherProgramPath, SearchesPathSkippingNonExecutables) {
  Scratch s;
  const std::string path = (s.dir / "bin1").string() + ":" + (s.dir / "bin2").string();
  EXPECT_EQ(resolve_program("tool", path, "/").path, (s.dir / "bin2" / "tool").string());
  EXPECT_EQ(resolve_program("only", path, "/").path, (s.dir / "bin2" / "only").string());
}

TEST(LauncherProgramPath, NotFoundAndNotExecutableAreDistinguished) {
  Scratch s;
  auto r = resolve_program("missing", (s.dir / "bin2").string(), "/");
  EXPECT_TRUE(r.path.empty());
  EXPECT_NE(r.error.find("not found in PATH"), std::string::npos) << r.error;
  r = resolve_program("tool", (s.dir / "bin1").string(), "/");
  EXPECT_TRUE(r.path.empty());
  EXPECT_NE(r.error.find("not executable"), std::string::npos) << r.error;
}

TEST(LauncherProgramPath, NamesWithSlashAreRelativeToCwd) {
  Scratch s;
  auto r = resolve_program("bin2/only", "", s.dir.string());
  EXPECT_EQ(r.path, (s.dir / "bin2/only").string()) << r.error;
  r = resolve_program("./bin1/tool", "", s.dir.string());
  EXPECT_NE(r.error.find("not executable"), std::string::npos) << r.error;
  r = resolve_program("bin2/subdir", "", s.dir.string());
  EXPECT_NE(r.error.find("directory"), std::string::npos) << r.error;
  r = resolve_program("/no/such/file", "", "/");
  EXPECT_NE(r.error.find("does not exist"), std::string::npos) << r.error;
  EXPECT_FALSE(resolve_program("", "/bin", "/").error.empty());
}

TEST(LauncherProgramPath, EmptyPathEntryMeansTheCurrentDirectory) {
  Scratch s;
  auto r = resolve_program("only", ":/nonexistent", (s.dir / "bin2").string());
  EXPECT_EQ(r.path, (s.dir / "bin2" / "only").string()) << r.error;
}
