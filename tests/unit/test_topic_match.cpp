// Unit tests of topic path validation and the hierarchical matching table.
#include <camure/topic.hpp>

#include <gtest/gtest.h>

using camure::topic::matches;
using camure::topic::valid;

TEST(TopicMatch, Validity) {
  EXPECT_TRUE(valid("/"));
  EXPECT_TRUE(valid("/a"));
  EXPECT_TRUE(valid("/a/b/c"));
  EXPECT_TRUE(valid("/ab.c-d_e"));
  EXPECT_FALSE(valid(""));
  EXPECT_FALSE(valid("a"));
  EXPECT_FALSE(valid("a/b"));
  EXPECT_FALSE(valid("/a/"));
  EXPECT_FALSE(valid("//"));
  EXPECT_FALSE(valid("/a//b"));
  EXPECT_FALSE(valid(std::string_view("/a\0b", 4)));
  EXPECT_FALSE(valid("/" + std::string(5000, 'x')));
}

struct Row {
  const char *sub;
  bool recv_desc;
  const char *pub;
  bool post_desc;
  bool expect;
};

TEST(TopicMatch, Table) {
  const Row rows[] = {
      // exact
      {"/a", false, "/a", false, true},
      {"/a", false, "/b", false, false},
      {"/a/b", false, "/a/b", false, true},
      // receive_descendants: segment-aware, never a mere prefix
      {"/a", true, "/a/b", false, true},
      {"/a", true, "/a/b/c", false, true},
      {"/a", true, "/ab", false, false},
      {"/a", true, "/ab/c", false, false},
      {"/a", false, "/a/b", false, false},
      {"/a/b", true, "/a", false, false}, // ancestors are not descendants
      // post_to_descendants
      {"/a/b", false, "/a", true, true},
      {"/a/b/c", false, "/a", true, true},
      {"/ab", false, "/a", true, false},
      {"/a", false, "/a/b", true, false},
      {"/a/b", false, "/a", false, false},
      // the root
      {"/", true, "/a", false, true},
      {"/", true, "/a/b", false, true},
      {"/", false, "/a", false, false},
      {"/", false, "/", false, true},
      {"/", true, "/", false, true},
      {"/a", false, "/", true, true},
      {"/a", false, "/", false, false},
      {"/a", true, "/", false, false},
      // both flags
      {"/a/b", true, "/a", true, true},
      {"/a", true, "/b", true, false},
      // empty and invalid topics never match
      {"", true, "/a", true, false},
      {"/a", true, "", true, false},
      {"", false, "", false, false},
      {"/a/", true, "/a/b", false, false},
  };
  for (const Row &r : rows)
    EXPECT_EQ(matches(r.sub, r.recv_desc, r.pub, r.post_desc), r.expect)
        << "sub=\"" << r.sub << "\" recv_desc=" << r.recv_desc << " pub=\"" << r.pub << "\" post_desc=" << r.post_desc;
}
