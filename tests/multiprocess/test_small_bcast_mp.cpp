// Multiprocess tests of the small-bcast path through camurerun: mixed sizes (both sides of the
// cell threshold) and roots with content checks at N = 1..16, mismatched sizes, dead root/reader.
#include "multiprocess/test_runtime_support.hpp"

#include <gtest/gtest.h>

#include <dirent.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using camure::test::sanitized;

using camure::test::RunResult;

RunResult camurerun(int n, std::vector<std::string> args, int timeout_s = 240) {
  std::vector<std::string> argv{CAMURERUN, "-n", std::to_string(n), "--timeout", std::to_string(timeout_s)};
  argv.insert(argv.end(), args.begin(), args.end());
  return camure::test::run(argv, {}, std::chrono::seconds(timeout_s + 30));
}

bool shm_has(const std::string &s) {
  bool found = false;
  if (DIR *d = ::opendir("/dev/shm")) {
    while (dirent *e = ::readdir(d))
      if (std::string(e->d_name).find(s) != std::string::npos) found = true;
    ::closedir(d);
  }
  return found;
}

// By hand (no camurerun, which would end the job when a rank dies): every survivor exits 0.
void expect_survivors_ok(int n, const char *mode, const char *tag) {
  // Built by appending: GCC 12's -Wrestrict misfires on a chain of + at -O3.
  std::string job = "sb";
  job.append(tag); // job ids are [A-Za-z0-9]
  job.append(std::to_string(::getpid()));
  std::string out;
  bool timed_out = false;
  auto st = camure::test::run_ranks(n, {PROG_SMALL, mode}, job, out, std::chrono::seconds(60), timed_out);
  ASSERT_FALSE(timed_out) << "survivors hung: " << out;
  ASSERT_EQ(st.size(), static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < st.size(); ++i) EXPECT_EQ(st[i], 0) << "rank " << i << ": " << out;
  EXPECT_FALSE(shm_has(job)) << "segments left behind";
}

class SmallBcastJob : public ::testing::TestWithParam<int> {};

TEST_P(SmallBcastJob, MixedSizesAndRootsArriveIntactInOrder) {
  const int n = GetParam();
  // 1 MiB bcasts are in the mix; keep the sanitizer runs short.
  const int iters = sanitized ? (n >= 8 ? 60 : 150) : 400;
  for (const char *seed : {"1", "20261121"}) {
    auto r = camurerun(n, {PROG_SMALL, "mix", seed, std::to_string(iters)});
    EXPECT_EQ(r.status, 0) << "seed " << seed << ": " << r.output;
  }
}

INSTANTIATE_TEST_SUITE_P(N, SmallBcastJob, ::testing::Values(1, 2, 4, 8, 16),
                         [](const ::testing::TestParamInfo<int> &i) {
                           std::string name = "n";
                           name.append(std::to_string(i.param)); // not "n" + ...: GCC 12 -Wrestrict at -O3
                           return name;
                         });

TEST(SmallBcastMismatch, EitherSideOfTheThresholdIsInvalidArgumentNeverWrongData) {
  // {root's size, last rank's size}: both small, small vs ring, ring vs small.
  const std::vector<std::pair<const char *, const char *>> cases{{"100", "60"}, {"8", "8000"}, {"70000", "8"}};
  for (const auto &[a, b] : cases) {
    auto r = camurerun(3, {PROG_SMALL, "mismatch", a, b}, 60);
    EXPECT_EQ(r.status, 0) << a << " vs " << b << ": " << r.output;
  }
}

TEST(SmallBcastPeerLost, DeadRootGivesPeerLost) { expect_survivors_ok(3, "die_root", "root"); }

TEST(SmallBcastPeerLost, DeadReaderStopsTheRootWhenItWrapsTheCells) { expect_survivors_ok(3, "die_reader", "reader"); }

} // namespace
