// Named POSIX shared-memory segments with a versioned header and a staged, deadline-bounded attach.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>

namespace camure::shm {

/// Every camure segment lives in /dev/shm under this prefix ("/camure.<name>"), so the
/// camure-shm tool can find them and nothing else is ever touched.
inline constexpr std::string_view segment_prefix = "camure.";

/// Values of SegmentHeader::state.
enum class SegmentState : std::uint32_t {
  building = 0, ///< creator is sizing and building the layout (file is zero-filled)
  ready = 1,    ///< layout built and published; openers may use it
};

/// The first 64 bytes of every camure segment. Little-endian host byte order (segments never
/// leave the host). Field offsets are pinned by static_asserts and a unit test.
struct SegmentHeader {
  std::uint64_t magic;              ///< layout-specific magic, e.g. "CAMRMP\0\1"
  std::uint32_t layout_version;     ///< layout-specific version
  std::uint32_t header_bytes;       ///< sizeof(SegmentHeader) of the creator
  std::uint64_t total_size;         ///< bytes of the whole segment, header included
  std::int32_t creator_pid;         ///< pid of the creating process
  std::atomic<std::uint32_t> state; ///< SegmentState; futex word the creator wakes on READY
  std::uint64_t creator_start_time; ///< creator's start time (clock ticks since boot) for pid-reuse checks
  std::uint64_t created_unix_ns;    ///< wall-clock creation time (informational)
  std::uint8_t reserved[16];        ///< zero
};
static_assert(sizeof(SegmentHeader) == 64);
static_assert(offsetof(SegmentHeader, magic) == 0);
static_assert(offsetof(SegmentHeader, layout_version) == 8);
static_assert(offsetof(SegmentHeader, header_bytes) == 12);
static_assert(offsetof(SegmentHeader, total_size) == 16);
static_assert(offsetof(SegmentHeader, creator_pid) == 24);
static_assert(offsetof(SegmentHeader, state) == 28);
static_assert(offsetof(SegmentHeader, creator_start_time) == 32);
static_assert(offsetof(SegmentHeader, created_unix_ns) == 40);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

/// What an opener expects to find. size 0 accepts any size (the segment says how big it is).
struct SegmentSpec {
  std::uint64_t magic = 0;
  std::uint32_t layout_version = 0;
  std::uint64_t size = 0;
};

/// Builds a layout in a freshly created, zero-filled mapping (base points at the header;
/// the builder must not touch the first 64 bytes). Returns an error to abort creation.
using SegmentBuilder = std::function<std::error_code(std::byte *base, std::size_t size)>;

/// A mapped segment (RAII: unmaps on destruction, never unlinks implicitly).
///
/// @code
///   std::error_code ec;
///   auto seg = Segment::create("job42-barrier", {kMagic, 1, 4096}, build, ec);
///   auto peer = Segment::open("job42-barrier", {kMagic, 1, 4096}, deadline, ec);
/// @endcode
class Segment {
public:
  Segment() = default;
  Segment(Segment &&o) noexcept;
  Segment &operator=(Segment &&o) noexcept;
  Segment(const Segment &) = delete;
  Segment &operator=(const Segment &) = delete;
  ~Segment();

  /// Creates "/camure.<name>" exclusively (O_EXCL, mode 0600), sizes it to spec.size, writes the
  /// header, runs build(), then publishes READY and wakes waiting openers.
  /// Errors: invalid_argument (bad name, size < 64), already_exists, no_memory, system_error,
  /// or whatever build() returns (the half-built segment is then unlinked).
  static Segment create(std::string_view name, const SegmentSpec &spec, const SegmentBuilder &build,
                        std::error_code &ec);

  /// Opens an existing segment and waits (until deadline) for it to exist and be READY.
  /// Refuses a segment whose magic, version or size differ from spec.
  /// Errors: not_found (never appeared before the deadline), not_ready (exists but the creator
  /// never published READY), bad_magic, version_mismatch, size_mismatch, invalid_argument,
  /// system_error.
  static Segment open(std::string_view name, const SegmentSpec &spec,
                      std::chrono::steady_clock::time_point deadline, std::error_code &ec);

  /// Creates the segment, or opens it if it already exists (another process won the race).
  /// created is set to whether this call created it.
  static Segment create_or_open(std::string_view name, const SegmentSpec &spec, const SegmentBuilder &build,
                                std::chrono::steady_clock::time_point deadline, bool &created,
                                std::error_code &ec);

  /// Removes "/camure.<name>" from the namespace (mappings stay valid). not_found if absent.
  static std::error_code unlink(std::string_view name);

  /// Checks a segment name: non-empty, at most 200 characters of [A-Za-z0-9._-].
  static bool valid_name(std::string_view name) noexcept;
  /// The shm_open path for a name: "/camure.<name>".
  static std::string path_for(std::string_view name);

  bool valid() const noexcept { return base_ != nullptr; }
  explicit operator bool() const noexcept { return valid(); }
  std::byte *base() const noexcept { return base_; }
  std::size_t size() const noexcept { return size_; }
  const std::string &name() const noexcept { return name_; }
  SegmentHeader &header() const noexcept { return *reinterpret_cast<SegmentHeader *>(base_); }
  /// The kernel file descriptor of the segment (kept open for OFD locks), or -1.
  int fd() const noexcept { return fd_; }
  /// Unmaps and closes now.
  void reset() noexcept;

private:
  Segment(std::string name, std::byte *base, std::size_t size, int fd) noexcept
      : name_(std::move(name)), base_(base), size_(size), fd_(fd) {}
  std::string name_;
  std::byte *base_ = nullptr;
  std::size_t size_ = 0;
  int fd_ = -1;
};

/// Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat), 0 if unknown.
std::uint64_t process_start_time(int pid) noexcept;

/// True if the process that created a segment (pid + start time) is still running.
bool creator_alive(const SegmentHeader &h) noexcept;

} // namespace camure::shm
