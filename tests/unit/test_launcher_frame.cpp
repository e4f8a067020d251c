// Proxy frame protocol: field round trips, reassembly from arbitrary chunks, bad input.
#include "launcher/frame.hpp"

#include <gtest/gtest.h>

using namespace camure::launcher;

TEST(LauncherFrame, FieldsRoundTrip) {
  const std::string f = FrameWriter(FrameType::output).u32(7).u32(2).str(std::string("a\0b\n", 4)).finish();
  FrameReader r;
  r.feed(f);
  auto got = r.next();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->type, FrameType::output);
  FrameParser p(got->payload);
  EXPECT_EQ(p.u32(), 7u);
  EXPECT_EQ(p.u32(), 2u);
  EXPECT_EQ(p.str(), std::string("a\0b\n", 4));
  EXPECT_TRUE(p.done());
  EXPECT_FALSE(r.next());
}

TEST(LauncherFrame, ReassemblesByteByByte) {
  std::string stream;
  for (int i = 0; i < 5; ++i) stream += FrameWriter(FrameType::control).u32(static_cast<std::uint32_t>(i)).str("put k v").finish();
  FrameReader r;
  int seen = 0;
  for (char c : stream) {
    r.feed(std::string_view(&c, 1));
    while (auto f = r.next()) {
      FrameParser p(f->payload);
      EXPECT_EQ(p.u32(), static_cast<std::uint32_t>(seen));
      ++seen;
    }
  }
  EXPECT_EQ(seen, 5);
  EXPECT_TRUE(r.empty());
}

TEST(LauncherFrame, OversizedOrEmptyFrameIsAnError) {
  FrameReader r;
  r.feed(std::string("\xff\xff\xff\x7f", 4));
  EXPECT_FALSE(r.next());
  EXPECT_TRUE(r.error());
  FrameReader z;
  z.feed(std::string(4, '\0'));
  EXPECT_FALSE(z.next());
  EXPECT_TRUE(z.error());
}

TEST(LauncherFrame, TruncatedPayloadFailsParse) {
  const std::string short_str("\x05\x00\x00\x00" "ab", 6), huge_count("\xff\xff\xff\xff", 4);
  FrameParser p(short_str);
  p.str();
  EXPECT_FALSE(p.ok());
  FrameParser q(huge_count);
  q.strs();
  EXPECT_FALSE(q.ok());
}

TEST(LauncherFrame, JobMessageRoundTrip) {
  JobMessage m;
  m.job_id = "abc123";
  m.host = "h2";
  m.node_id = 1;
  m.num_nodes = 4;
  m.size = 8;
  m.program = "/bin/prog";
  m.argv = {"prog", "-n", "5", ""};
  m.wdir = "/tmp";
  m.fallback_wdir = "/work";
  m.stdin_rank = 0;
  m.exports = {"A=1", "B= x y"};
  m.extra_env = {"CAMURE_MCAST=239.77.1.2:3000"};
  m.iface = "eth0";
  m.map_by = "core";
  m.bind_to = "none";
  m.oversubscribe = true;
  m.report_bindings = true;
  m.grace_ms = 1500;
  m.ranks = {{2, 0}, {3, 1}};
  const std::string f = encode_job(m);
  FrameReader r;
  r.feed(f);
  auto got = r.next();
  ASSERT_TRUE(got);
  ASSERT_EQ(got->type, FrameType::job);
  JobMessage d;
  ASSERT_TRUE(decode_job(got->payload, d));
  EXPECT_EQ(d.job_id, m.job_id);
  EXPECT_EQ(d.argv, m.argv);
  EXPECT_EQ(d.exports, m.exports);
  EXPECT_EQ(d.extra_env, m.extra_env);
  EXPECT_EQ(d.node_id, 1);
  EXPECT_EQ(d.num_nodes, 4);
  EXPECT_TRUE(d.oversubscribe);
  EXPECT_FALSE(d.use_hwthreads);
  EXPECT_TRUE(d.report_bindings);
  EXPECT_EQ(d.grace_ms, 1500u);
  ASSERT_EQ(d.ranks.size(), 2u);
  EXPECT_EQ(d.ranks[1].rank, 3);
  EXPECT_EQ(d.ranks[1].local_rank, 1);
  // Every truncation is rejected, never a crash.
  for (std::size_t n = 0; n < got->payload.size(); ++n) {
    JobMessage t;
    EXPECT_FALSE(decode_job(std::string_view(got->payload).substr(0, n), t)) << n;
  }
}

TEST(LauncherFrame, JobWithRankOutsideTheJobIsRejected) {
  JobMessage m;
  m.job_id = "j";
  m.program = std::string(16, 'p');
  m.argv = {"p"};
  m.size = 2;
  m.ranks = {{2, 0}};
  FrameReader r;
  r.feed(encode_job(m));
  auto f = r.next();
  ASSERT_TRUE(f);
  JobMessage d;
  EXPECT_FALSE(decode_job(f->payload, d));
}
