// camurerun bindings: reported on stderr and really applied (each rank checks its affinity).
#include "support/probe/camurerun_process.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sched.h>

using camure::test::CamurerunProcess;
using camure::test::lines_of;
using namespace std::chrono_literals;

namespace {

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  ::sched_getaffinity(0, sizeof set, &set);
  std::vector<int> out;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) out.push_back(c);
  return out;
}

/// rank -> cpulist from "camurerun: rank R on host H ... (cpus L)" lines.
std::map<int, std::string> reported(const std::string &err) {
  std::map<int, std::string> res;
  for (const auto &l : lines_of(err)) {
    int rank = -1;
    if (std::sscanf(l.c_str(), "camurerun: rank %d on host", &rank) != 1) continue;
    const auto pos = l.rfind("(cpus ");
    if (pos == std::string::npos) continue;
    res[rank] = l.substr(pos + 6, l.size() - pos - 7);
  }
  return res;
}

/// rank -> cpulist the rank itself saw.
std::map<int, std::string> observed(const std::string &out) {
  std::map<int, std::string> res;
  for (const auto &l : lines_of(out)) {
    int rank = -1;
    char list[256] = {};
    if (std::sscanf(l.c_str(), "affinity %d %255s", &rank, list) == 2) res[rank] = list;
  }
  return res;
}

} // namespace

/// Number of cpus in one core here (learned from camurerun itself; 1 without SMT).
static std::size_t cpus_per_core() {
  CamurerunProcess p({"-n", "1", "--bind-to", "core", "--report-bindings", "/bin/true"});
  if (p.finish() != 0) return 1;
  const std::string list = reported(p.err())[0];
  std::size_t n = 0;
  // cpulist like "0" or "0-1" or "0,4": count members
  std::size_t pos = 0;
  while (pos <= list.size()) {
    const std::size_t comma = std::min(list.find(',', pos), list.size());
    const std::string item = list.substr(pos, comma - pos);
    const auto dash = item.find('-');
    n += dash == std::string::npos ? 1 : std::stoul(item.substr(dash + 1)) - std::stoul(item.substr(0, dash)) + 1;
    pos = comma + 1;
  }
  return std::max<std::size_t>(n, 1);
}

TEST(LauncherBinding, CoreBindingIsReportedAndApplied) {
  const auto cpus = allowed_cpus();
  const int n = static_cast<int>(std::min<std::size_t>(std::max<std::size_t>(cpus.size() / cpus_per_core(), 1), 4));
  CamurerunProcess p({"-n", std::to_string(n), "--bind-to", "core", "--report-bindings", PROBE_PATH, "affinity"});
  ASSERT_EQ(p.finish(), 0) << p.err();
  auto rep = reported(p.err());
  auto obs = observed(p.out());
  ASSERT_EQ(rep.size(), static_cast<std::size_t>(n)) << p.err();
  ASSERT_EQ(obs.size(), static_cast<std::size_t>(n)) << p.out();
  std::set<std::string> distinct;
  for (int r = 0; r < n; ++r) {
    EXPECT_EQ(rep[r], obs[r]) << "rank " << r;
    distinct.insert(obs[r]);
    EXPECT_NE(p.err().find("rank " + std::to_string(r) + " on host"), std::string::npos);
  }
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(n)) << "each rank has its own core";
}

TEST(LauncherBinding, OversubscribedDefaultIsUnboundAndCoversAllCpus) {
  const auto cpus = allowed_cpus();
  const int n = static_cast<int>(cpus.size()) * 2 + 1;
  CamurerunProcess p({"-n", std::to_string(n), "--report-bindings", PROBE_PATH, "affinity"});
  ASSERT_EQ(p.finish(), 0) << p.err();
  auto rep = reported(p.err());
  auto obs = observed(p.out());
  ASSERT_EQ(obs.size(), static_cast<std::size_t>(n));
  for (int r = 0; r < n; ++r) {
    EXPECT_EQ(rep[r], obs[r]);
    EXPECT_EQ(obs[r], obs[0]);
  }
  EXPECT_NE(p.err().find("not bound"), std::string::npos);
}

TEST(LauncherBinding, OversubscribedDefaultKeepsARestrictedCpuset) {
  // More ranks than allowed cpus: unbound without consulting the topology, but still only on
  // the cpus camurerun may use.
  const int only = allowed_cpus().back();
  CamurerunProcess::Config cfg;
  cfg.only_cpu = only;
  CamurerunProcess p({"-n", "2", "--report-bindings", PROBE_PATH, "affinity"}, cfg);
  ASSERT_EQ(p.finish(), 0) << p.err();
  auto rep = reported(p.err());
  auto obs = observed(p.out());
  ASSERT_EQ(obs.size(), 2u) << p.out();
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(obs[r], std::to_string(only));
    EXPECT_EQ(rep[r], std::to_string(only));
  }
  EXPECT_NE(p.err().find("not bound"), std::string::npos) << p.err();
}

TEST(LauncherBinding, BindToNoneLeavesTheInheritedAffinity) {
  CamurerunProcess p({"-n", "2", "--bind-to", "none", "--report-bindings", PROBE_PATH, "affinity"});
  ASSERT_EQ(p.finish(), 0) << p.err();
  auto rep = reported(p.err());
  auto obs = observed(p.out());
  for (int r = 0; r < 2; ++r) EXPECT_EQ(rep[r], obs[r]);
}

TEST(LauncherBinding, BindingHonoursCamurerunsOwnCpuset) {
  const auto cpus = allowed_cpus();
  const int only = cpus.back();
  CamurerunProcess::Config cfg;
  cfg.only_cpu = only;
  {
    CamurerunProcess p({"-n", "1", "--bind-to", "core", "--report-bindings", PROBE_PATH, "affinity"}, cfg);
    ASSERT_EQ(p.finish(), 0) << p.err();
    EXPECT_EQ(observed(p.out())[0], std::to_string(only));
    EXPECT_EQ(reported(p.err())[0], std::to_string(only));
  }
  {
    // Two ranks bound to cores with a single allowed cpu: an error before anything starts.
    CamurerunProcess p({"-n", "2", "--bind-to", "core", PROBE_PATH, "affinity"}, cfg);
    EXPECT_EQ(p.finish(), 2);
    EXPECT_EQ(lines_of(p.err()).size(), 1u) << p.err();
    EXPECT_NE(p.err().find("--oversubscribe"), std::string::npos) << p.err();
    EXPECT_EQ(p.out(), "");
  }
  {
    CamurerunProcess p({"-n", "2", "--bind-to", "core", "--oversubscribe", "--report-bindings", PROBE_PATH,
                        "affinity"},
                       cfg);
    ASSERT_EQ(p.finish(), 0) << p.err();
    auto obs = observed(p.out());
    EXPECT_EQ(obs[0], std::to_string(only));
    EXPECT_EQ(obs[1], std::to_string(only));
  }
}

TEST(LauncherBinding, PackageAndNumaBindingsAreApplied) {
  for (const char *level : {"package", "numa", "hwthread"}) {
    CamurerunProcess p({"-n", "1", "--bind-to", level, "--report-bindings", PROBE_PATH, "affinity"});
    ASSERT_EQ(p.finish(), 0) << level << ": " << p.err();
    EXPECT_EQ(reported(p.err())[0], observed(p.out())[0]) << level;
    EXPECT_NE(p.err().find(std::string("bound to ") + level), std::string::npos) << p.err();
  }
}
