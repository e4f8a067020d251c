// Mapping and binding computation on fake topologies (no hwloc, no syscalls).
#include "runtime/topology/binding.hpp"

#include <camure/error.hpp>

#include <gtest/gtest.h>

using namespace camure::topology;

namespace {

BindingPlan plan_or_fail(const Topology &t, const BindingRequest &r) {
  std::error_code ec;
  std::string why;
  BindingPlan p = compute_bindings(t, r, ec, why);
  EXPECT_FALSE(ec) << why;
  return p;
}

std::string why_fails(const Topology &t, const BindingRequest &r) {
  std::error_code ec;
  std::string why;
  compute_bindings(t, r, ec, why);
  EXPECT_EQ(ec, camure::errc::invalid_argument);
  return why;
}

std::vector<std::string> lists(const BindingPlan &p) {
  std::vector<std::string> out;
  for (const auto &r : p.ranks) out.push_back(r.cpus.to_list());
  return out;
}

} // namespace

TEST(TopologyBinding, SyntheticMachineHasTheRightObjects) {
  // 2 packages x 1 numa x 4 cores x 2 threads: PUs 0..15, core c has PUs 2c, 2c+1.
  const Topology t = Topology::synthetic(2, 1, 4, 2);
  EXPECT_EQ(t.objects(Level::hwthread).size(), 16u);
  EXPECT_EQ(t.objects(Level::core).size(), 8u);
  EXPECT_EQ(t.objects(Level::numa).size(), 2u);
  EXPECT_EQ(t.objects(Level::package).size(), 2u);
  EXPECT_EQ(t.objects(Level::machine).size(), 1u);
  EXPECT_EQ(t.objects(Level::core)[1].to_list(), "2-3");
  EXPECT_EQ(t.objects(Level::package)[1].to_list(), "8-15");
}

TEST(TopologyBinding, DefaultBindsOneRankPerCoreWhileTheyFit) {
  const Topology t = Topology::synthetic(1, 1, 4, 2);
  BindingRequest r;
  r.ranks = 4;
  const BindingPlan p = plan_or_fail(t, r);
  EXPECT_TRUE(p.bound);
  EXPECT_EQ(p.level, Level::core);
  EXPECT_EQ(lists(p), (std::vector<std::string>{"0-1", "2-3", "4-5", "6-7"}));
  EXPECT_EQ(describe(p.ranks[2]), "core 2 (cpus 4-5)");
}

TEST(TopologyBinding, DefaultDoesNotBindAnOversubscribedJob) {
  const Topology t = Topology::synthetic(1, 1, 2, 1);
  BindingRequest r;
  r.ranks = 16;
  const BindingPlan p = plan_or_fail(t, r);
  EXPECT_FALSE(p.bound);
  ASSERT_EQ(p.ranks.size(), 16u);
  for (const auto &rb : p.ranks) {
    EXPECT_FALSE(rb.bound);
    EXPECT_EQ(rb.cpus.to_list(), "0-1");
  }
  EXPECT_EQ(describe(p.ranks[0]), "not bound (cpus 0-1)");
}

TEST(TopologyBinding, ExplicitCoreBindingBeyondTheCoresNeedsOversubscribe) {
  const Topology t = Topology::synthetic(1, 1, 2, 1);
  BindingRequest r;
  r.ranks = 3;
  r.bind_to = Level::core;
  const std::string why = why_fails(t, r);
  EXPECT_NE(why.find("--oversubscribe"), std::string::npos) << why;
  r.oversubscribe = true;
  EXPECT_EQ(lists(plan_or_fail(t, r)), (std::vector<std::string>{"0", "1", "0"}));
}

TEST(TopologyBinding, HwthreadsCountAsSlotsWhenAsked) {
  const Topology t = Topology::synthetic(1, 1, 2, 2);
  BindingRequest r;
  r.ranks = 4;
  // Without --use-hwthread-cpus, 4 ranks on 2 cores is oversubscribed: unbound by default.
  EXPECT_FALSE(plan_or_fail(t, r).bound);
  r.use_hwthreads = true;
  r.map_by = Level::hwthread;
  const BindingPlan p = plan_or_fail(t, r);
  EXPECT_TRUE(p.bound);
  EXPECT_EQ(p.level, Level::hwthread);
  EXPECT_EQ(lists(p), (std::vector<std::string>{"0", "1", "2", "3"}));
}

TEST(TopologyBinding, MapByPackageAlternatesPackagesAndFillsCores) {
  const Topology t = Topology::synthetic(2, 1, 2, 1); // cores 0,1 in package 0; 2,3 in package 1
  BindingRequest r;
  r.ranks = 4;
  r.map_by = Level::package;
  r.bind_to = Level::core;
  EXPECT_EQ(lists(plan_or_fail(t, r)), (std::vector<std::string>{"0", "2", "1", "3"}));
}

TEST(TopologyBinding, BindToPackageGivesTheWholePackage) {
  const Topology t = Topology::synthetic(2, 1, 2, 2);
  BindingRequest r;
  r.ranks = 4;
  r.bind_to = Level::package;
  // map-by core: ranks 0,1 on cores 0,1 (package 0), ranks 2,3 on cores 2,3 (package 1).
  const BindingPlan p = plan_or_fail(t, r);
  EXPECT_EQ(lists(p), (std::vector<std::string>{"0-3", "0-3", "4-7", "4-7"}));
  EXPECT_EQ(p.ranks[3].object, 1u);
}

TEST(TopologyBinding, BindToNumaOnATwoNodePackage) {
  const Topology t = Topology::synthetic(1, 2, 2, 1);
  BindingRequest r;
  r.ranks = 2;
  r.map_by = Level::numa;
  r.bind_to = Level::numa;
  EXPECT_EQ(lists(plan_or_fail(t, r)), (std::vector<std::string>{"0-1", "2-3"}));
}

TEST(TopologyBinding, MapByNodeBindsCoresInOrder) {
  const Topology t = Topology::synthetic(2, 1, 2, 1);
  BindingRequest r;
  r.ranks = 3;
  r.map_by = Level::machine;
  r.bind_to = Level::core;
  EXPECT_EQ(lists(plan_or_fail(t, r)), (std::vector<std::string>{"0", "1", "2"}));
}

TEST(TopologyBinding, BindNoneIsNeverAnError) {
  const Topology t = Topology::synthetic(1, 1, 1, 1);
  BindingRequest r;
  r.ranks = 64;
  r.bind_none = true;
  const BindingPlan p = plan_or_fail(t, r);
  EXPECT_FALSE(p.bound);
  EXPECT_EQ(p.ranks.size(), 64u);
}

TEST(TopologyBinding, RestrictedTopologyUsesOnlyAllowedCpus) {
  const Topology full = Topology::synthetic(1, 1, 4, 1);
  const Topology t = full.restricted_to(CpuSet({1, 3}));
  EXPECT_EQ(t.objects(Level::core).size(), 2u);
  BindingRequest r;
  r.ranks = 2;
  EXPECT_EQ(lists(plan_or_fail(t, r)), (std::vector<std::string>{"1", "3"}));
  r.ranks = 3;
  r.bind_to = Level::core;
  why_fails(t, r);
}

TEST(TopologyBinding, BadRequestsAreErrors) {
  const Topology t = Topology::synthetic(1, 1, 2, 1);
  BindingRequest r;
  r.ranks = 0;
  why_fails(t, r);
  r.ranks = 1;
  r.bind_to = Level::machine;
  why_fails(t, r);
  why_fails(Topology(), BindingRequest{});
}
