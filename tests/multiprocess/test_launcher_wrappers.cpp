// camurecc / camurecxx: --showme shows camure's flags; a program compiles, links and runs.
#include "support/probe/camurerun_process.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace std::chrono_literals;

namespace {

/// Runs a shell command; returns (exit code, stdout+stderr).
std::pair<int, std::string> sh(const std::string &cmd) {
  std::string out;
  FILE *f = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!f) return {-1, ""};
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const int st = ::pclose(f);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

std::filesystem::path scratch() {
  auto d = std::filesystem::temp_directory_path() / ("camure-wrap-" + std::to_string(::getpid()));
  std::filesystem::create_directories(d);
  return d;
}

} // namespace

TEST(LauncherWrappers, ShowmePrintsIncludeAndLinkFlags) {
  auto [code, out] = sh(std::string(CAMURECXX_PATH) + " --showme app.cpp -o app");
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find(std::string("-I") + CAMURE_SOURCE_DIR + "/include"), std::string::npos) << out;
  EXPECT_NE(out.find("-lcamure"), std::string::npos) << out;
  EXPECT_NE(out.find("-Wl,-rpath,"), std::string::npos) << out;
  EXPECT_NE(out.find("-std=c++20"), std::string::npos) << out;
  EXPECT_NE(out.find("app.cpp -o app"), std::string::npos) << out;

  auto [c2, compile_only] = sh(std::string(CAMURECC_PATH) + " --showme -c app.c");
  ASSERT_EQ(c2, 0);
  EXPECT_EQ(compile_only.find("-lcamure"), std::string::npos) << "no link flags with -c: " << compile_only;
  EXPECT_NE(compile_only.find("-I"), std::string::npos);

  auto [c3, bad] = sh(std::string(CAMURECC_PATH) + " --showme:bogus");
  EXPECT_EQ(c3, 2) << bad;
}

TEST(LauncherWrappers, CxxProgramBuildsAgainstLibcamureAndRuns) {
  const auto dir = scratch();
  std::ofstream(dir / "app.cpp") << "#include <camure/error.hpp>\n#include <cstdio>\n"
                                    "int main() {\n"
                                    "  auto ec = camure::make_error_code(camure::errc::timeout);\n"
                                    "  std::printf(\"%s %s\\n\", ec.category().name(), ec ? \"set\" : \"clear\");\n"
                                    "  return 0;\n}\n";
  auto [code, out] = sh(std::string(CAMURECXX_PATH) + " " + (dir / "app.cpp").string() + " -o " + (dir / "app").string());
  ASSERT_EQ(code, 0) << out;
  auto [rc, run] = sh((dir / "app").string());
  EXPECT_EQ(rc, 0) << run;
  EXPECT_EQ(run, "camure set\n");
  std::filesystem::remove_all(dir);
}

TEST(LauncherWrappers, CProgramCompilesWithCamurecc) {
  const auto dir = scratch();
  std::ofstream(dir / "app.c") << "#include <stdio.h>\nint main(void) { puts(\"c ok\"); return 0; }\n";
  auto [code, out] = sh(std::string(CAMURECC_PATH) + " " + (dir / "app.c").string() + " -o " + (dir / "capp").string());
  ASSERT_EQ(code, 0) << out;
  auto [rc, run] = sh((dir / "capp").string());
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(run, "c ok\n");
  std::filesystem::remove_all(dir);
}
