// The control-channel key/value store: put/get, conflicts, waiting gets, timeouts, ordering.
#include "launcher/kv_store.hpp"

#include <gtest/gtest.h>

using namespace camure::launcher;
using namespace std::chrono_literals;

namespace {
using TP = KvStore::Clock::time_point;
const TP t0{};
std::vector<std::string> lines(const std::vector<KvStore::Reply> &v, int rank = -1) {
  std::vector<std::string> out;
  for (const auto &r : v)
    if (rank < 0 || r.rank == rank) out.push_back(std::to_string(r.rank) + ":" + r.line);
  return out;
}
} // namespace

TEST(LauncherKvStore, PutThenGet) {
  KvStore kv;
  EXPECT_EQ(lines(kv.request(1, "put camure.coord 10.77.1.1:4000", t0)), (std::vector<std::string>{"1:ok camure.coord"}));
  EXPECT_EQ(lines(kv.request(2, "get camure.coord 1000", t0)),
            (std::vector<std::string>{"2:val camure.coord 10.77.1.1:4000"}));
}

TEST(LauncherKvStore, SecondPutSameValueOkDifferentValueExists) {
  KvStore kv;
  kv.request(0, "put k v1", t0);
  EXPECT_EQ(lines(kv.request(1, "put k v1", t0)), (std::vector<std::string>{"1:ok k"}));
  EXPECT_EQ(lines(kv.request(1, "put k v2", t0)), (std::vector<std::string>{"1:err k exists"}));
  EXPECT_EQ(*kv.value("k"), "v1");
}

TEST(LauncherKvStore, GetWaitsUntilPut) {
  KvStore kv;
  EXPECT_TRUE(kv.request(3, "get k 5000", t0).empty());
  ASSERT_TRUE(kv.next_deadline());
  EXPECT_EQ(*kv.next_deadline(), t0 + 5000ms);
  const auto r = kv.request(0, "put k v", t0 + 10ms);
  EXPECT_EQ(lines(r), (std::vector<std::string>{"0:ok k", "3:val k v"}));
  EXPECT_FALSE(kv.next_deadline());
}

TEST(LauncherKvStore, GetTimesOut) {
  KvStore kv;
  EXPECT_TRUE(kv.request(1, "get nope 100", t0).empty());
  EXPECT_TRUE(kv.expire(t0 + 99ms).empty());
  EXPECT_EQ(lines(kv.expire(t0 + 100ms)), (std::vector<std::string>{"1:err nope timeout"}));
  EXPECT_EQ(lines(kv.request(1, "get nope 0", t0)), (std::vector<std::string>{"1:err nope timeout"}));
}

TEST(LauncherKvStore, RepliesKeepRequestOrderPerRank) {
  KvStore kv;
  kv.set("b", "2");
  EXPECT_TRUE(kv.request(1, "get a 1000", t0).empty());
  EXPECT_TRUE(kv.request(1, "get b 1000", t0).empty()); // waits behind "get a"
  EXPECT_EQ(lines(kv.request(2, "get b 1000", t0)), (std::vector<std::string>{"2:val b 2"}));
  EXPECT_EQ(lines(kv.request(0, "put a 1", t0), 1), (std::vector<std::string>{"1:val a 1", "1:val b 2"}));
}

TEST(LauncherKvStore, InvalidRequests) {
  KvStore kv;
  for (const char *bad : {"put k", "put k v extra", "put bad/key v", "get k", "get k x", "get k -1"}) {
    const auto r = kv.request(0, bad, t0);
    ASSERT_EQ(r.size(), 1u) << bad;
    EXPECT_NE(r[0].line.find("invalid"), std::string::npos) << bad << " -> " << r[0].line;
  }
  EXPECT_FALSE(kv.set(std::string(129, 'k'), "v"));
  EXPECT_FALSE(kv.set("k", std::string(4097, 'v')));
  EXPECT_TRUE(kv.set("k", std::string(4096, 'v')));
  EXPECT_TRUE(KvStore::is_request("get x 1"));
  EXPECT_FALSE(KvStore::is_request("abort 3"));
}

TEST(LauncherKvStore, ForgottenRankGetsNoReply) {
  KvStore kv;
  kv.request(4, "get k 1000", t0);
  kv.forget(4);
  EXPECT_EQ(lines(kv.request(0, "put k v", t0)), (std::vector<std::string>{"0:ok k"}));
}
