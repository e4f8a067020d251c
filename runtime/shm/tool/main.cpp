// camure-shm: list camure shared-memory segments with their state, remove one, or clean stale ones.
#include "runtime/shm/ring_layout.hpp"
#include "runtime/shm/segment.hpp"

#include <camure/error.hpp>

#include <algorithm>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

using namespace camure::shm;
namespace rl = camure::shm::ring;

constexpr const char *kShmDir = "/dev/shm";

void usage(std::FILE *out) {
  std::fprintf(out,
               "usage: camure-shm <command> [args]\n"
               "\n"
               "Lists and removes camure shared-memory segments (/dev/shm/camure.*).\n"
               "\n"
               "commands:\n"
               "  list            show every camure segment: name, kind, size, state, creator pid and\n"
               "                  whether it is alive, processes mapping it, and for RMP rings the live\n"
               "                  writers and readers, head sequence and repairs\n"
               "  rm NAME...      remove the named segments (NAME with or without the 'camure.' prefix)\n"
               "  clean [-n] [PREFIX]\n"
               "                  remove stale segments: creator dead and no process maps them\n"
               "                  (-n / --dry-run: only print what would be removed; PREFIX: only\n"
               "                  segments whose name starts with it)\n"
               "  -h, --help      this text\n"
               "\n"
               "exit status: 0 ok, 1 an operation failed, 2 bad usage\n");
}

struct Info {
  std::string name; // without prefix
  std::uint64_t file_size = 0;
  bool header_ok = false;
  std::uint64_t magic = 0;
  std::uint32_t version = 0;
  std::uint32_t state = 0;
  std::int32_t creator = 0;
  bool creator_alive = false;
  bool is_ring = false;
  std::uint64_t capacity = 0, head_seq = 0, repairs = 0;
  unsigned writers = 0, readers = 0;
  unsigned users = 0; // processes mapping the file
};

// Processes (other than this one) that map each /dev/shm/camure.* file.
std::map<std::string, std::set<int>> mapping_processes() {
  std::map<std::string, std::set<int>> users;
  DIR *d = ::opendir("/proc");
  if (!d) return users;
  const int self = ::getpid();
  while (dirent *e = ::readdir(d)) {
    char *end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (!end || *end != '\0' || pid <= 0 || pid == self) continue;
    std::ifstream maps(std::string("/proc/") + e->d_name + "/maps");
    std::string line;
    const std::string needle = std::string(kShmDir) + "/" + std::string(segment_prefix);
    while (std::getline(maps, line)) {
      const auto at = line.find(needle);
      if (at == std::string::npos || line.find("(deleted)") != std::string::npos) continue;
      users[line.substr(at + needle.size())].insert(static_cast<int>(pid));
    }
  }
  ::closedir(d);
  return users;
}

bool slot_locked(int fd, std::uint64_t offset) {
  flock fl{};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = static_cast<off_t>(offset);
  fl.l_len = 1;
  if (::fcntl(fd, F_OFD_GETLK, &fl) != 0) return false;
  return fl.l_type != F_UNLCK;
}

Info inspect(const std::string &name, const std::map<std::string, std::set<int>> &users) {
  Info info;
  info.name = name;
  if (auto it = users.find(name); it != users.end()) info.users = static_cast<unsigned>(it->second.size());
  const std::string path = std::string(kShmDir) + "/" + std::string(segment_prefix) + name;
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return info;
  struct stat st{};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return info;
  }
  info.file_size = static_cast<std::uint64_t>(st.st_size);
  if (info.file_size >= sizeof(SegmentHeader)) {
    void *p = ::mmap(nullptr, info.file_size, PROT_READ, MAP_SHARED, fd, 0);
    if (p != MAP_FAILED) {
      const auto *h = static_cast<const SegmentHeader *>(p);
      info.header_ok = h->header_bytes == sizeof(SegmentHeader) && h->total_size == info.file_size;
      info.magic = h->magic;
      info.version = h->layout_version;
      info.state = h->state.load(std::memory_order_acquire);
      info.creator = h->creator_pid;
      info.creator_alive = creator_alive(*h);
      if (info.header_ok && info.magic == rl::kRingMagic && info.version == rl::kRingLayoutVersion &&
          info.file_size >= rl::kSlotsOffset) {
        const auto *base = static_cast<const std::byte *>(p);
        const auto *ctl = reinterpret_cast<const rl::RingControl *>(base + rl::kControlOffset);
        const rl::RingConfig &c = ctl->config;
        if (c.slots_offset == rl::kSlotsOffset && c.max_participants <= rl::kMaxParticipants &&
            info.file_size >= rl::segment_size_for(c.capacity, c.max_participants)) {
          info.is_ring = true;
          info.capacity = c.capacity;
          info.head_seq = ctl->commit.head_seq.load(std::memory_order_acquire);
          info.repairs = ctl->counters.repairs.load(std::memory_order_relaxed);
          const auto *slots = reinterpret_cast<const rl::ParticipantSlot *>(base + c.slots_offset);
          for (std::uint32_t i = 0; i < c.max_participants; ++i) {
            const std::uint32_t kind = slots[i].kind.load(std::memory_order_acquire);
            if (kind == rl::kSlotFree) continue;
            if (!slot_locked(fd, c.slots_offset + std::uint64_t{i} * sizeof(rl::ParticipantSlot))) continue;
            if (kind == rl::kSlotWriter) ++info.writers;
            if (kind == rl::kSlotReader) ++info.readers;
          }
        }
      }
      ::munmap(p, info.file_size);
    }
  }
  ::close(fd);
  return info;
}

std::vector<std::string> segment_names() {
  std::vector<std::string> names;
  DIR *d = ::opendir(kShmDir);
  if (!d) return names;
  while (dirent *e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n.rfind(segment_prefix, 0) == 0 && n.size() > segment_prefix.size())
      names.push_back(n.substr(segment_prefix.size()));
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

const char *state_name(const Info &i) {
  if (!i.header_ok) return i.file_size < sizeof(SegmentHeader) ? "empty" : "invalid";
  return i.state == static_cast<std::uint32_t>(SegmentState::ready) ? "ready" : "building";
}

bool stale(const Info &i) { return !i.creator_alive && i.users == 0 && i.writers == 0 && i.readers == 0; }

int cmd_list() {
  const auto users = mapping_processes();
  const auto names = segment_names();
  std::printf("%-40s %-6s %12s %-8s %8s %-5s %5s %7s %7s %12s %7s\n", "NAME", "KIND", "SIZE", "STATE", "CREATOR",
              "ALIVE", "USERS", "WRITERS", "READERS", "HEAD_SEQ", "REPAIRS");
  for (const auto &n : names) {
    const Info i = inspect(n, users);
    if (i.is_ring)
      std::printf("%-40s %-6s %12llu %-8s %8d %-5s %5u %7u %7u %12llu %7llu\n", n.c_str(), "rmp",
                  static_cast<unsigned long long>(i.file_size), state_name(i), i.creator, i.creator_alive ? "yes" : "no",
                  i.users, i.writers, i.readers, static_cast<unsigned long long>(i.head_seq),
                  static_cast<unsigned long long>(i.repairs));
    else
      std::printf("%-40s %-6s %12llu %-8s %8d %-5s %5u %7s %7s %12s %7s\n", n.c_str(), i.header_ok ? "other" : "?",
                  static_cast<unsigned long long>(i.file_size), state_name(i), i.creator, i.creator_alive ? "yes" : "no",
                  i.users, "-", "-", "-", "-");
  }
  if (names.empty()) std::printf("(no camure segments)\n");
  return 0;
}

std::string strip(std::string n) {
  if (n.rfind(std::string(kShmDir) + "/", 0) == 0) n = n.substr(std::strlen(kShmDir) + 1);
  if (n.rfind(segment_prefix, 0) == 0) n = n.substr(segment_prefix.size());
  return n;
}

int cmd_rm(const std::vector<std::string> &args) {
  if (args.empty()) {
    std::fprintf(stderr, "camure-shm rm: missing segment name (see camure-shm --help)\n");
    return 2;
  }
  for (const auto &a : args)
    if (!Segment::valid_name(strip(a))) {
      std::fprintf(stderr, "camure-shm rm: invalid segment name '%s'\n", a.c_str());
      return 2;
    }
  int rc = 0;
  for (const auto &a : args) {
    const std::string n = strip(a);
    if (const std::error_code ec = Segment::unlink(n)) {
      std::fprintf(stderr, "camure-shm rm: %s: %s\n", n.c_str(), ec.message().c_str());
      rc = 1;
    } else {
      std::printf("removed %s\n", n.c_str());
    }
  }
  return rc;
}

int cmd_clean(bool dry_run, const std::string &prefix) {
  const auto users = mapping_processes();
  int rc = 0;
  unsigned removed = 0;
  for (const auto &n : segment_names()) {
    if (n.rfind(prefix, 0) != 0) continue;
    const Info i = inspect(n, users);
    if (!stale(i)) continue;
    if (dry_run) {
      std::printf("would remove %s (creator %d dead, no users)\n", n.c_str(), i.creator);
      continue;
    }
    if (const std::error_code ec = Segment::unlink(n); ec && ec != camure::errc::not_found) {
      std::fprintf(stderr, "camure-shm clean: %s: %s\n", n.c_str(), ec.message().c_str());
      rc = 1;
    } else {
      std::printf("removed %s (creator %d dead, no users)\n", n.c_str(), i.creator);
      ++removed;
    }
  }
  if (!dry_run) std::printf("%u stale segment(s) removed\n", removed);
  return rc;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fprintf(stderr, "camure-shm: missing command (list, rm, clean; see --help)\n");
    return 2;
  }
  const std::string cmd = args.front();
  args.erase(args.begin());
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    usage(stdout);
    return 0;
  }
  if (cmd == "list") {
    if (!args.empty()) {
      std::fprintf(stderr, "camure-shm list: unexpected argument '%s'\n", args.front().c_str());
      return 2;
    }
    return cmd_list();
  }
  if (cmd == "rm") return cmd_rm(args);
  if (cmd == "clean") {
    bool dry = false;
    std::string prefix;
    for (const auto &a : args) {
      if (a == "-n" || a == "--dry-run") {
        dry = true;
      } else if (prefix.empty() && !a.empty() && a[0] != '-' && Segment::valid_name(strip(a))) {
        prefix = strip(a);
      } else {
        std::fprintf(stderr, "camure-shm clean: unexpected argument '%s'\n", a.c_str());
        return 2;
      }
    }
    return cmd_clean(dry, prefix);
  }
  std::fprintf(stderr, "camure-shm: unknown command '%s' (see camure-shm --help)\n", cmd.c_str());
  return 2;
}
