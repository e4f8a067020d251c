// Unit tests of topic publish/subscribe in one process: delivery, filtering, lifetime, loss.
#include "runtime/shm/topic_layout.hpp"

#include "support/child.hpp"
#include "support/wait.hpp"

#include <camure/topic.hpp>

#include <gtest/gtest.h>

#include <mutex>

using namespace camure;
using namespace camure::topic;
using namespace std::chrono_literals;

namespace {

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }
std::string text(const std::vector<std::byte> &v) { return {reinterpret_cast<const char *>(v.data()), v.size()}; }

struct TopicFixture : ::testing::Test {
  std::string name = test::unique_name("topic");
  rmp::Ring ring;
  TopicFixture() {
    rmp::RingOptions o;
    o.capacity = 64 * 1024;
    ring = rmp::Ring::create(name, o);
  }
  ~TopicFixture() override { rmp::Ring::remove(name); }
};

} // namespace

TEST(TopicLayout, HeaderIsPinned) {
  EXPECT_EQ(sizeof(detail::TopicHeader), 8u);
  EXPECT_EQ(detail::kTopicTag, 0x31435054u);
}

TEST_F(TopicFixture, DeliversMatchingMessagesInOrderAndFiltersTheRest) {
  auto exact = Subscriber::create(ring, "/a");
  auto tree = Subscriber::create(ring, "/a", true);
  auto child = Subscriber::create(ring, "/a/b");
  auto pub = Publisher::create(ring);
  pub.publish("/a", bytes("1"));
  pub.publish("/ab", bytes("2"));
  pub.publish("/a/b", bytes("3"));
  pub.publish("/a", bytes("4"), true);
  Message m;
  ASSERT_TRUE(exact.receive(m, 1s).ok());
  EXPECT_EQ(text(m.payload), "1");
  ASSERT_TRUE(exact.receive(m, 1s).ok());
  EXPECT_EQ(text(m.payload), "4");
  EXPECT_EQ(exact.receive(m, 0ms).status, ReceiveStatus::timeout);

  std::vector<std::string> got;
  tree.poll([&](const Message &x) { got.push_back(x.topic + "=" + text(x.payload)); }, 0ms);
  EXPECT_EQ(got, (std::vector<std::string>{"/a=1", "/a/b=3", "/a=4"}));

  ASSERT_TRUE(child.receive(m, 1s).ok());
  EXPECT_EQ(text(m.payload), "3");
  ASSERT_TRUE(child.receive(m, 1s).ok());
  EXPECT_EQ(text(m.payload), "4");
  EXPECT_TRUE(m.posted_to_descendants);
}

TEST_F(TopicFixture, SubscriptionSeesOnlyLaterMessages) {
  auto pub = Publisher::create(ring);
  pub.publish("/x", bytes("before"));
  auto sub = Subscriber::create(ring, "/x");
  pub.publish("/x", bytes("after"));
  Message m;
  ASSERT_TRUE(sub.receive(m, 1s).ok());
  EXPECT_EQ(text(m.payload), "after");
  EXPECT_EQ(sub.receive(m, 0ms).status, ReceiveStatus::timeout);
}

TEST_F(TopicFixture, RejectsInvalidTopics) {
  std::error_code ec;
  Subscriber::create(ring, "", false, ec);
  EXPECT_EQ(ec, errc::invalid_argument);
  Subscriber::create(ring, "a/b", false, ec);
  EXPECT_EQ(ec, errc::invalid_argument);
  auto pub = Publisher::create(ring);
  pub.publish("", bytes("x"), false, ec);
  EXPECT_EQ(ec, errc::invalid_argument);
  EXPECT_THROW(pub.publish("/a/", bytes("x")), camure::error);
}

TEST_F(TopicFixture, ForeignRingMessagesAreSkipped) {
  auto sub = Subscriber::create(ring, "/", true);
  auto w = rmp::Writer::create(ring);
  w.write(bytes("not a topic message"));
  w.write(bytes("TPC1")); // right tag prefix, too short
  auto pub = Publisher::create(ring);
  pub.publish("/ok", bytes("y"));
  Message m;
  ASSERT_TRUE(sub.receive(m, 1s).ok());
  EXPECT_EQ(m.topic, "/ok");
  EXPECT_EQ(sub.foreign_messages(), 2u);
}

TEST_F(TopicFixture, OverrunSubscriberGetsTheLossCount) {
  auto sub = Subscriber::create(ring, "/t");
  auto pub = Publisher::create(ring);
  const std::string big(1000, 'z');
  for (int i = 0; i < 200; ++i) pub.publish(i % 2 ? "/t" : "/u", bytes(big));
  Message m;
  const ReceiveResult r = sub.receive(m, 1s);
  ASSERT_EQ(r.status, ReceiveStatus::lost);
  EXPECT_EQ(r.lost, 200u); // the reader resumes at the head: every message so far is gone
  pub.publish("/t", bytes("fresh"));
  ASSERT_TRUE(sub.receive(m, 1s).ok());
  EXPECT_EQ(text(m.payload), "fresh");
}

TEST_F(TopicFixture, CallbackSubscriptionDeliversOnItsThreadAndStops) {
  std::mutex mu;
  std::vector<std::string> got;
  auto s = Subscription::start(ring, "/cb", true, [&](const Message &m) {
    std::lock_guard<std::mutex> g(mu);
    got.push_back(text(m.payload));
  });
  auto pub = Publisher::create(ring);
  pub.publish("/cb/1", bytes("a"));
  pub.publish("/other", bytes("b"));
  pub.publish("/cb", bytes("c"));
  ASSERT_TRUE(POLL_FOR(([&] {
                         std::lock_guard<std::mutex> g(mu);
                         return got.size() == 2;
                       }()),
                       5s));
  s.stop();
  std::lock_guard<std::mutex> g(mu);
  EXPECT_EQ(got, (std::vector<std::string>{"a", "c"}));
}
