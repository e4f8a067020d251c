// Rank -> host mapping: by slot, by node, -N, oversubscription and max_slots, as mpirun.
#include "launcher/host_map.hpp"

#include <gtest/gtest.h>

using namespace camure::launcher;

namespace {
std::vector<HostEntry> hosts(std::initializer_list<std::pair<const char *, unsigned>> l) {
  std::vector<HostEntry> v;
  for (auto &[n, s] : l) v.push_back(HostEntry{n, s, 0});
  return v;
}
std::vector<int> map_of(const std::vector<HostEntry> &h, HostMapRequest req) {
  HostMap m;
  std::string why;
  EXPECT_TRUE(map_ranks(h, req, m, why)) << why;
  return m.host_of_rank;
}
} // namespace

TEST(LauncherHostMap, BySlotFillsHostsInOrder) {
  EXPECT_EQ(map_of(hosts({{"a", 2}, {"b", 2}, {"c", 2}}), {5, 0, false, false}), (std::vector<int>{0, 0, 1, 1, 2}));
}

TEST(LauncherHostMap, NoCountMeansAllSlots) {
  HostMap m;
  std::string why;
  ASSERT_TRUE(map_ranks(hosts({{"a", 2}, {"b", 3}}), {0, 0, false, false}, m, why));
  EXPECT_EQ(m.np, 5u);
  EXPECT_EQ(m.local_rank, (std::vector<int>{0, 1, 0, 1, 2}));
  EXPECT_EQ(m.num_nodes, 2);
}

TEST(LauncherHostMap, ByNodeRoundRobin) {
  EXPECT_EQ(map_of(hosts({{"a", 2}, {"b", 2}}), {4, 0, true, false}), (std::vector<int>{0, 1, 0, 1}));
  // A host whose slots are used up is skipped.
  EXPECT_EQ(map_of(hosts({{"a", 1}, {"b", 3}}), {4, 0, true, false}), (std::vector<int>{0, 1, 1, 1}));
}

TEST(LauncherHostMap, NperNode) {
  HostMap m;
  std::string why;
  ASSERT_TRUE(map_ranks(hosts({{"a", 4}, {"b", 4}}), {0, 2, false, false}, m, why));
  EXPECT_EQ(m.host_of_rank, (std::vector<int>{0, 0, 1, 1}));
  EXPECT_FALSE(map_ranks(hosts({{"a", 4}, {"b", 4}}), {5, 2, false, false}, m, why));
  EXPECT_NE(why.find("5 ranks"), std::string::npos) << why;
  EXPECT_FALSE(map_ranks(hosts({{"a", 1}, {"b", 4}}), {0, 2, false, false}, m, why));
  EXPECT_NE(why.find("host a"), std::string::npos) << why;
  EXPECT_TRUE(map_ranks(hosts({{"a", 1}, {"b", 4}}), {0, 2, false, true}, m, why)) << why;
}

TEST(LauncherHostMap, OversubscriptionNeedsTheFlag) {
  HostMap m;
  std::string why;
  EXPECT_FALSE(map_ranks(hosts({{"a", 2}, {"b", 2}}), {5, 0, false, false}, m, why));
  EXPECT_NE(why.find("5 ranks"), std::string::npos) << why;
  EXPECT_NE(why.find("4 slots"), std::string::npos) << why;
  ASSERT_TRUE(map_ranks(hosts({{"a", 2}, {"b", 2}}), {6, 0, false, true}, m, why)) << why;
  EXPECT_EQ(m.ranks_of[0].size(), 3u);
  EXPECT_EQ(m.ranks_of[1].size(), 3u);
}

TEST(LauncherHostMap, MaxSlotsIsHard) {
  std::vector<HostEntry> h{{"a", 1, 2}, {"b", 1, 1}};
  HostMap m;
  std::string why;
  ASSERT_TRUE(map_ranks(h, {3, 0, false, true}, m, why)) << why;
  EXPECT_EQ(m.ranks_of[0].size(), 2u);
  EXPECT_FALSE(map_ranks(h, {4, 0, false, true}, m, why));
  EXPECT_NE(why.find("max_slots"), std::string::npos) << why;
}

TEST(LauncherHostMap, HostsWithoutRanksGetNoNodeId) {
  HostMap m;
  std::string why;
  ASSERT_TRUE(map_ranks(hosts({{"a", 2}, {"b", 2}, {"c", 2}}), {3, 0, false, false}, m, why));
  EXPECT_EQ(m.node_id, (std::vector<int>{0, 1, -1}));
  EXPECT_EQ(m.num_nodes, 2);
}
