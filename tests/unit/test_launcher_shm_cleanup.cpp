// Unit tests for remove_job_segments: both spellings of a job's segments go, nothing else does.
#include "launcher/shm_cleanup.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;

TEST(LauncherShmCleanup, RemovesBothSpellingsOfTheJobsSegmentsOnly) {
  char tmpl[] = "/tmp/camure-shmclean-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  for (const char *n : {"camure-job1-a", "camure.camure-job1-n0-bus", "camure-job12-a",
                        "camure.camure-job2-x", "camure.other", "unrelated"})
    std::ofstream(dir / n) << "x";

  EXPECT_EQ(camure::launcher::remove_job_segments("job1", dir.string()), 2);
  EXPECT_FALSE(fs::exists(dir / "camure-job1-a"));
  EXPECT_FALSE(fs::exists(dir / "camure.camure-job1-n0-bus"));
  for (const char *n : {"camure-job12-a", "camure.camure-job2-x", "camure.other", "unrelated"})
    EXPECT_TRUE(fs::exists(dir / n)) << n;
  EXPECT_EQ(camure::launcher::remove_job_segments("", dir.string()), 0);
  fs::remove_all(dir);
}
