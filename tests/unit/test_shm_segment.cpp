// Unit tests of runtime/shm/segment: create/open, staged attach refusing mismatches, deadlines.
#include "runtime/shm/segment.hpp"

#include "support/child.hpp"

#include <camure/error.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace camure;
using namespace camure::shm;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t kMagic = 0x5445535453454731ull; // "TESTSEG1"

struct Cleanup {
  std::string name;
  ~Cleanup() { Segment::unlink(name); }
};

std::chrono::steady_clock::time_point in(std::chrono::milliseconds d) { return std::chrono::steady_clock::now() + d; }

} // namespace

TEST(ShmSegment, HeaderLayoutIsPinned) {
  EXPECT_EQ(sizeof(SegmentHeader), 64u);
  EXPECT_EQ(offsetof(SegmentHeader, magic), 0u);
  EXPECT_EQ(offsetof(SegmentHeader, layout_version), 8u);
  EXPECT_EQ(offsetof(SegmentHeader, header_bytes), 12u);
  EXPECT_EQ(offsetof(SegmentHeader, total_size), 16u);
  EXPECT_EQ(offsetof(SegmentHeader, creator_pid), 24u);
  EXPECT_EQ(offsetof(SegmentHeader, state), 28u);
  EXPECT_EQ(offsetof(SegmentHeader, creator_start_time), 32u);
}

TEST(ShmSegment, CreateThenOpenSeesBuiltLayoutAndMode0600) {
  Cleanup c{test::unique_name("seg")};
  std::error_code ec;
  auto seg = Segment::create(c.name, {kMagic, 3, 4096}, [](std::byte *base, std::size_t size) {
    std::memset(base + 64, 0xAB, size - 64);
    return std::error_code{};
  }, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(seg.size(), 4096u);
  EXPECT_EQ(seg.header().creator_pid, ::getpid());
  EXPECT_TRUE(creator_alive(seg.header()));
  struct stat st{};
  ASSERT_EQ(::fstat(seg.fd(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto peer = Segment::open(c.name, {kMagic, 3, 4096}, in(1s), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(std::to_integer<int>(peer.base()[100]), 0xAB);
  auto any_size = Segment::open(c.name, {kMagic, 3, 0}, in(1s), ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(any_size.size(), 4096u);

  auto dup = Segment::create(c.name, {kMagic, 3, 4096}, nullptr, ec);
  EXPECT_EQ(ec, errc::already_exists);
  EXPECT_FALSE(dup.valid());
}

TEST(ShmSegment, OpenRefusesWrongMagicVersionAndSize) {
  Cleanup c{test::unique_name("seg")};
  std::error_code ec;
  auto seg = Segment::create(c.name, {kMagic, 3, 8192}, nullptr, ec);
  ASSERT_FALSE(ec);
  Segment::open(c.name, {kMagic + 1, 3, 8192}, in(1s), ec);
  EXPECT_EQ(ec, errc::bad_magic);
  Segment::open(c.name, {kMagic, 4, 8192}, in(1s), ec);
  EXPECT_EQ(ec, errc::version_mismatch);
  Segment::open(c.name, {kMagic, 3, 4096}, in(1s), ec);
  EXPECT_EQ(ec, errc::size_mismatch);
}

TEST(ShmSegment, OpenOfMissingSegmentTimesOutAsNotFound) {
  std::error_code ec;
  const auto t0 = std::chrono::steady_clock::now();
  auto s = Segment::open(test::unique_name("missing"), {kMagic, 1, 0}, in(50ms), ec);
  EXPECT_EQ(ec, errc::not_found);
  EXPECT_FALSE(s.valid());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 50ms);
}

TEST(ShmSegment, OpenOfNeverReadySegmentFailsWithNotReadyAtDeadline) {
  // A "creator" that sized the file and wrote the magic but never published READY.
  Cleanup c{test::unique_name("seg")};
  const std::string path = Segment::path_for(c.name);
  const int fd = ::shm_open(path.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 4096), 0);
  void *p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(p, MAP_FAILED);
  auto *h = static_cast<SegmentHeader *>(p);
  h->layout_version = 1;
  h->header_bytes = sizeof(SegmentHeader);
  h->total_size = 4096;
  h->magic = kMagic;
  std::error_code ec;
  Segment::open(c.name, {kMagic, 1, 4096}, in(50ms), ec);
  EXPECT_EQ(ec, errc::not_ready);
  // A size-zero file (creator died before ftruncate) is also not ready, not garbage.
  Cleanup c2{test::unique_name("seg")};
  const int fd2 = ::shm_open(Segment::path_for(c2.name).c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  ASSERT_GE(fd2, 0);
  Segment::open(c2.name, {kMagic, 1, 4096}, in(50ms), ec);
  EXPECT_EQ(ec, errc::not_ready);
  ::munmap(p, 4096);
  ::close(fd);
  ::close(fd2);
}

TEST(ShmSegment, OpenWaitsForACreatorThatPublishesLater) {
  Cleanup c{test::unique_name("seg")};
  test::Child creator([&] {
    std::error_code ec;
    auto seg = Segment::create(c.name, {kMagic, 1, 4096}, [](std::byte *b, std::size_t) {
      b[64] = std::byte{42};
      return std::error_code{};
    }, ec);
    return ec ? 1 : 0;
  });
  std::error_code ec;
  auto seg = Segment::open(c.name, {kMagic, 1, 4096}, in(10s), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(std::to_integer<int>(seg.base()[64]), 42);
  EXPECT_EQ(creator.exit_code(), 0);
}

TEST(ShmSegment, BuilderErrorAbortsAndUnlinks) {
  const std::string name = test::unique_name("seg");
  std::error_code ec;
  Segment::create(name, {kMagic, 1, 4096}, [](std::byte *, std::size_t) {
    return make_error_code(errc::internal);
  }, ec);
  EXPECT_EQ(ec, errc::internal);
  EXPECT_EQ(Segment::unlink(name), errc::not_found);
}

TEST(ShmSegment, RejectsBadNamesAndSizes) {
  std::error_code ec;
  Segment::create("", {kMagic, 1, 4096}, nullptr, ec);
  EXPECT_EQ(ec, errc::invalid_argument);
  Segment::create("a/b", {kMagic, 1, 4096}, nullptr, ec);
  EXPECT_EQ(ec, errc::invalid_argument);
  Segment::create(test::unique_name("seg"), {kMagic, 1, 16}, nullptr, ec);
  EXPECT_EQ(ec, errc::invalid_argument);
  Segment::open("bad name", {kMagic, 1, 0}, in(0ms), ec);
  EXPECT_EQ(ec, errc::invalid_argument);
}

TEST(ShmSegment, CreateOrOpenRacesResolveToOneCreator) {
  Cleanup c{test::unique_name("seg")};
  bool created1 = false, created2 = false;
  std::error_code ec1, ec2;
  auto a = Segment::create_or_open(c.name, {kMagic, 1, 4096}, nullptr, in(1s), created1, ec1);
  auto b = Segment::create_or_open(c.name, {kMagic, 1, 4096}, nullptr, in(1s), created2, ec2);
  ASSERT_FALSE(ec1);
  ASSERT_FALSE(ec2);
  EXPECT_TRUE(created1);
  EXPECT_FALSE(created2);
}
