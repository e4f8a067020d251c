// Unit tests for camure::session::Endpoint parsing and formatting.
#include <gtest/gtest.h>

#include <camure/session.hpp>

using camure::session::Endpoint;

TEST(NetEndpoint, ParsesIpv4AndIpv6) {
  auto a = Endpoint::parse("127.0.0.1:4000");
  EXPECT_EQ(a.address, "127.0.0.1");
  EXPECT_EQ(a.port, 4000);
  EXPECT_FALSE(a.is_v6());
  auto b = Endpoint::parse("[::1]:5");
  EXPECT_EQ(b.address, "::1");
  EXPECT_EQ(b.port, 5);
  EXPECT_TRUE(b.is_v6());
  EXPECT_EQ(b.to_string(), "[::1]:5");
  auto c = Endpoint::parse("[fe80::1%eth0]:7");
  EXPECT_EQ(c.address, "fe80::1%eth0");
  EXPECT_EQ(Endpoint::parse("0.0.0.0:0").port, 0);
}

TEST(NetEndpoint, RejectsMalformedInputWithAnError) {
  for (const char *bad : {"", "127.0.0.1", "127.0.0.1:", ":80", "127.0.0.1:65536", "127.0.0.1:-1", "1.2.3:4",
                          "example.com:80", "::1:80", "[::1]", "[::1]80", "[::1:80", "1.2.3.4:80x", "[fe80::1%]:1"}) {
    std::error_code ec;
    Endpoint::parse(bad, ec);
    EXPECT_EQ(ec, camure::errc::invalid_argument) << bad;
    EXPECT_THROW(Endpoint::parse(bad), camure::error) << bad;
  }
}
