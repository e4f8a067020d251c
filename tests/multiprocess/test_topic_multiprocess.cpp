// Topic pub/sub across processes: publishers and subscribers come and go at run time.
#include "test_rmp_message.hpp"

#include "support/child.hpp"

#include <camure/topic.hpp>

#include <gtest/gtest.h>

#include <memory>

using namespace camure;
using namespace camure::topic;
using namespace camure::test::rmpmsg;
using namespace std::chrono_literals;

namespace {
std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }
} // namespace

TEST(TopicMultiprocess, PublishersAndSubscribersComeAndGo) {
  const std::string name = test::unique_name("topicmp");
  struct Cleanup {
    std::string n;
    ~Cleanup() { rmp::Ring::remove(n); }
  } cleanup{name};
  rmp::RingOptions o;
  o.capacity = 256 * 1024;
  o.backpressure = rmp::Backpressure::block; // nobody may lose anything in this test
  o.block_timeout = 20s;
  rmp::Ring ring = rmp::Ring::create(name, o);
  constexpr int kPerPublisher = 500;

  // Subscriber process: counts what it receives per topic family until "/ctl/stop".
  auto subscriber = [&](const char *topic, bool desc, Pipe &ready, Pipe &result) {
    rmp::Ring r = rmp::Ring::open(name, 10s);
    Subscriber s = Subscriber::create(r, topic, desc);
    Subscriber ctl = Subscriber::create(r, "/ctl");
    ready.put<int>(1);
    int counts[2] = {0, 0}; // [0] = /data/a..., [1] = /data/b...
    Message m;
    for (;;) {
      const ReceiveResult res = s.receive(m, 100ms);
      if (res.status == ReceiveStatus::lost) return 3;
      if (res.ok()) {
        if (m.topic.rfind("/data/a", 0) == 0 && (m.topic.size() == 7 || m.topic[7] == '/')) ++counts[0];
        else if (m.topic.rfind("/data/b", 0) == 0) ++counts[1];
        else return 4;
        continue;
      }
      if (ctl.receive(m, 0ms).ok()) break;
    }
    // Drain anything published before the stop.
    while (s.receive(m, 0ms).ok()) ++counts[m.topic.rfind("/data/b", 0) == 0 ? 1 : 0];
    result.put(counts[0]);
    result.put(counts[1]);
    return 0;
  };
  auto publisher = [&](const char *topic) {
    rmp::Ring r = rmp::Ring::open(name, 10s);
    Publisher p = Publisher::create(r);
    for (int i = 0; i < kPerPublisher; ++i) p.publish(topic, bytes("payload-" + std::to_string(i)));
    return 0;
  };

  Pipe ready1, res1, ready2, res2;
  test::Child sub_a([&] { return subscriber("/data/a", true, ready1, res1); });
  ASSERT_TRUE(ready1.get<int>());
  // Round 1: two publishers, one subscriber.
  {
    test::Child p1([&] { return publisher("/data/a/x"); });
    test::Child p2([&] { return publisher("/data/b"); });
    ASSERT_EQ(p1.exit_code(30s), 0);
    ASSERT_EQ(p2.exit_code(30s), 0);
  }
  // Round 2: a second subscriber joins late; it must not see round 1.
  test::Child sub_b([&] { return subscriber("/data/b", false, ready2, res2); });
  ASSERT_TRUE(ready2.get<int>());
  {
    test::Child p3([&] { return publisher("/data/ab"); }); // matches neither (segment-aware)
    test::Child p4([&] { return publisher("/data/b"); });
    test::Child p5([&] { return publisher("/data/a"); });
    ASSERT_EQ(p3.exit_code(30s), 0);
    ASSERT_EQ(p4.exit_code(30s), 0);
    ASSERT_EQ(p5.exit_code(30s), 0);
  }
  Publisher ctl = Publisher::create(ring);
  ctl.publish("/ctl/stop", {}, false);
  ctl.publish("/ctl", {}, false);
  ASSERT_EQ(sub_a.exit_code(30s), 0);
  ASSERT_EQ(sub_b.exit_code(30s), 0);
  EXPECT_EQ(res1.get<int>(), 2 * kPerPublisher); // /data/a/x + /data/a
  EXPECT_EQ(res1.get<int>(), 0);
  EXPECT_EQ(res2.get<int>(), 0);
  EXPECT_EQ(res2.get<int>(), kPerPublisher); // only round 2's /data/b
}
