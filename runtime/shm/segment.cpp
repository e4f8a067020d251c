// Segment create / staged open / unlink, with the versioned header published last (READY).
#include "runtime/shm/segment.hpp"

#include "runtime/shm/futex.hpp"

#include <camure/error.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace camure::shm {
namespace {

using clock = std::chrono::steady_clock;

std::error_code sys_ec(int e) {
  if (e == ENOMEM || e == ENOSPC || e == EFBIG) return make_error_code(errc::no_memory);
  if (e == ENOENT) return make_error_code(errc::not_found);
  if (e == EEXIST) return make_error_code(errc::already_exists);
  return make_error_code(errc::system_error);
}

void close_fd(int fd) noexcept {
  if (fd >= 0) ::close(fd);
}

std::uint64_t wall_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

std::byte *map(int fd, std::size_t size) noexcept {
  void *p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  return p == MAP_FAILED ? nullptr : static_cast<std::byte *>(p);
}

// Short back-off while waiting for a file to appear or grow: these are one-time attach waits.
void backoff(unsigned &round) {
  if (round < 50) {
    std::this_thread::yield();
  } else {
    std::this_thread::sleep_for(std::chrono::microseconds(std::min(100u * (round - 49), 2000u)));
  }
  ++round;
}

} // namespace

Segment::Segment(Segment &&o) noexcept
    : name_(std::move(o.name_)), base_(o.base_), size_(o.size_), fd_(o.fd_) {
  o.base_ = nullptr;
  o.size_ = 0;
  o.fd_ = -1;
}

Segment &Segment::operator=(Segment &&o) noexcept {
  if (this != &o) {
    reset();
    name_ = std::move(o.name_);
    base_ = o.base_;
    size_ = o.size_;
    fd_ = o.fd_;
    o.base_ = nullptr;
    o.size_ = 0;
    o.fd_ = -1;
  }
  return *this;
}

Segment::~Segment() { reset(); }

void Segment::reset() noexcept {
  if (base_) ::munmap(base_, size_);
  close_fd(fd_);
  base_ = nullptr;
  size_ = 0;
  fd_ = -1;
}

bool Segment::valid_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 200) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

std::string Segment::path_for(std::string_view name) {
  std::string p = "/";
  p += segment_prefix;
  p += name;
  return p;
}

Segment Segment::create(std::string_view name, const SegmentSpec &spec, const SegmentBuilder &build,
                        std::error_code &ec) {
  ec.clear();
  if (!valid_name(name) || spec.size < sizeof(SegmentHeader) || spec.magic == 0) {
    ec = make_error_code(errc::invalid_argument);
    return {};
  }
  const std::string path = path_for(name);
  const int fd = ::shm_open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    ec = sys_ec(errno);
    return {};
  }
  ::fchmod(fd, 0600); // the umask may only narrow it, but be explicit
  auto fail = [&](std::error_code e) {
    ::shm_unlink(path.c_str());
    close_fd(fd);
    ec = e;
    return Segment{};
  };
  // posix_fallocate reserves tmpfs pages now, so a full /dev/shm fails here, not with SIGBUS later.
  if (::ftruncate(fd, static_cast<off_t>(spec.size)) != 0) return fail(sys_ec(errno));
  if (const int e = ::posix_fallocate(fd, 0, static_cast<off_t>(spec.size)); e != 0 && e != EOPNOTSUPP)
    return fail(sys_ec(e));
  std::byte *base = map(fd, spec.size);
  if (!base) return fail(sys_ec(errno));
  Segment seg(std::string(name), base, spec.size, fd);
  SegmentHeader &h = seg.header();
  // Identity first (an opener that sees the magic can refuse a mismatch at once), READY last.
  h.layout_version = spec.layout_version;
  h.header_bytes = sizeof(SegmentHeader);
  h.total_size = spec.size;
  h.creator_pid = static_cast<std::int32_t>(::getpid());
  h.creator_start_time = process_start_time(::getpid());
  h.created_unix_ns = wall_ns();
  std::atomic_ref<std::uint64_t>(h.magic).store(spec.magic, std::memory_order_release);
  if (build) {
    if (std::error_code be = build(base, spec.size)) {
      seg.reset();
      ::shm_unlink(path.c_str());
      ec = be;
      return {};
    }
  }
  h.state.store(static_cast<std::uint32_t>(SegmentState::ready), std::memory_order_release);
  futex::wake_all(h.state);
  return seg;
}

Segment Segment::open(std::string_view name, const SegmentSpec &spec, clock::time_point deadline,
                      std::error_code &ec) {
  ec.clear();
  if (!valid_name(name)) {
    ec = make_error_code(errc::invalid_argument);
    return {};
  }
  const std::string path = path_for(name);
  unsigned round = 0;
  int fd = -1;
  // Stage 1: the name exists.
  for (;;) {
    fd = ::shm_open(path.c_str(), O_RDWR | O_CLOEXEC, 0);
    if (fd >= 0) break;
    if (errno != ENOENT) {
      ec = sys_ec(errno);
      return {};
    }
    if (clock::now() >= deadline) {
      ec = make_error_code(errc::not_found);
      return {};
    }
    backoff(round);
  }
  // Stage 2: the creator has sized it and written the identity; check it before anything else.
  struct stat st{};
  SegmentHeader *h = nullptr;
  std::byte *hmap = nullptr;
  auto fail = [&](errc e) {
    if (hmap) ::munmap(hmap, sizeof(SegmentHeader));
    close_fd(fd);
    ec = make_error_code(e);
    return Segment{};
  };
  for (;;) {
    if (::fstat(fd, &st) != 0) return fail(errc::system_error);
    if (static_cast<std::uint64_t>(st.st_size) >= sizeof(SegmentHeader)) {
      if (!hmap) {
        hmap = map(fd, sizeof(SegmentHeader));
        if (!hmap) return fail(errc::system_error);
        h = reinterpret_cast<SegmentHeader *>(hmap);
      }
      const std::uint64_t magic = std::atomic_ref<std::uint64_t>(h->magic).load(std::memory_order_acquire);
      if (magic != 0) {
        if (magic != spec.magic) return fail(errc::bad_magic);
        if (h->layout_version != spec.layout_version) return fail(errc::version_mismatch);
        if (h->header_bytes != sizeof(SegmentHeader)) return fail(errc::version_mismatch);
        if (h->total_size != static_cast<std::uint64_t>(st.st_size)) return fail(errc::size_mismatch);
        if (spec.size != 0 && h->total_size != spec.size) return fail(errc::size_mismatch);
        break;
      }
    }
    if (clock::now() >= deadline) return fail(errc::not_ready);
    backoff(round);
  }
  // Stage 3: READY. The creator wakes the state futex when it publishes.
  while (h->state.load(std::memory_order_acquire) != static_cast<std::uint32_t>(SegmentState::ready)) {
    if (clock::now() >= deadline) return fail(errc::not_ready);
    const auto slice = std::min(deadline, clock::now() + std::chrono::milliseconds(10));
    futex::wait(h->state, static_cast<std::uint32_t>(SegmentState::building), slice);
  }
  const std::size_t size = static_cast<std::size_t>(h->total_size);
  ::munmap(hmap, sizeof(SegmentHeader));
  hmap = nullptr;
  std::byte *base = map(fd, size);
  if (!base) return fail(errc::no_memory);
  return Segment(std::string(name), base, size, fd);
}

Segment Segment::create_or_open(std::string_view name, const SegmentSpec &spec, const SegmentBuilder &build,
                                clock::time_point deadline, bool &created, std::error_code &ec) {
  created = false;
  for (;;) {
    Segment s = create(name, spec, build, ec);
    if (!ec) {
      created = true;
      return s;
    }
    if (ec != errc::already_exists) return {};
    s = open(name, spec, deadline, ec);
    // The segment can vanish between our create and open (its owner unlinked it): try again.
    if (ec == errc::not_found && clock::now() < deadline) continue;
    return s;
  }
}

std::error_code Segment::unlink(std::string_view name) {
  if (!valid_name(name)) return make_error_code(errc::invalid_argument);
  if (::shm_unlink(path_for(name).c_str()) != 0) return sys_ec(errno);
  return {};
}

std::uint64_t process_start_time(int pid) noexcept {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = std::fopen(path, "re");
  if (!f) return 0;
  char buf[1024];
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // The command name (field 2) may contain spaces and parentheses: fields restart after the last ')'.
  const char *p = std::strrchr(buf, ')');
  if (!p) return 0;
  ++p;
  // After ')' come fields 3..; start time is field 22, i.e. the 20th field after the ')'.
  for (int field = 3; field < 22 && *p; ++field) {
    while (*p == ' ') ++p;
    while (*p && *p != ' ') ++p;
  }
  while (*p == ' ') ++p;
  return std::strtoull(p, nullptr, 10);
}

bool creator_alive(const SegmentHeader &h) noexcept {
  const int pid = h.creator_pid;
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno != EPERM) return false;
  const std::uint64_t st = process_start_time(pid);
  return h.creator_start_time == 0 || st == 0 || st == h.creator_start_time;
}

} // namespace camure::shm
