// CpuSet: cpulist formatting and parsing.
#include "runtime/topology/cpuset.hpp"

#include <gtest/gtest.h>

using camure::topology::CpuSet;

TEST(TopologyCpuSet, FormatsRanges) {
  EXPECT_EQ(CpuSet().to_list(), "");
  EXPECT_EQ(CpuSet({3}).to_list(), "3");
  EXPECT_EQ(CpuSet({0, 1, 2, 3, 8, 10, 11}).to_list(), "0-3,8,10-11");
  EXPECT_EQ(CpuSet({5, 1, 5, 0}).to_list(), "0-1,5");
}

TEST(TopologyCpuSet, ParsesWhatItFormats) {
  for (const char *text : {"", "0", "0-3,8,10-11", "1,3,5", "0-63"}) {
    auto s = CpuSet::parse_list(text);
    ASSERT_TRUE(s.has_value()) << text;
    EXPECT_EQ(s->to_list(), text);
  }
  EXPECT_EQ(CpuSet::parse_list("0-1\n")->to_list(), "0-1");
}

TEST(TopologyCpuSet, RejectsMalformedLists) {
  for (const char *text : {"a", "1-", "-1", "3-1", "1,,2", "1;2", "0-99999999", "1 2"})
    EXPECT_FALSE(CpuSet::parse_list(text).has_value()) << text;
}

TEST(TopologyCpuSet, AddAndContains) {
  CpuSet s;
  s.add(4);
  s.add(2);
  s.add(4);
  EXPECT_EQ(s.size(), 2u);
  EXPECT_TRUE(s.contains(2));
  EXPECT_FALSE(s.contains(3));
  s.add(CpuSet({3, 9}));
  EXPECT_EQ(s.to_list(), "2-4,9");
}
