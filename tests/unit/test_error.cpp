// Unit tests for camure::errc, its category and camure::error.
#include <camure/error.hpp>

#include <gtest/gtest.h>

TEST(Error, CategoryNameAndMessages) {
  std::error_code ec = camure::errc::timeout;
  EXPECT_STREQ(ec.category().name(), "camure");
  EXPECT_EQ(ec.message(), "timed out");
  EXPECT_NE(std::error_code(camure::errc::messages_lost).message().find("lost"), std::string::npos);
  EXPECT_NE(camure::error_category().message(9999).find("unknown"), std::string::npos);
}

TEST(Error, ThrowIfThrowsOnlyOnError) {
  EXPECT_NO_THROW(camure::throw_if({}, "nothing"));
  try {
    camure::throw_if(camure::errc::peer_lost, "barrier");
    FAIL() << "throw_if did not throw";
  } catch (const camure::error &e) {
    EXPECT_EQ(e.code(), camure::errc::peer_lost);
    EXPECT_NE(std::string(e.what()).find("barrier"), std::string::npos);
  }
}
