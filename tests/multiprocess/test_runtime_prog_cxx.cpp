// Multiprocess check program in C++ for camure::World; run by test_runtime_* through camurerun.
// Usage: prog MODE [args]. Exit 0 when every check passed; otherwise prints why and exits 1.
#include <camure/camure.hpp>

#include "rank_check.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

namespace {

using camure::test::die;
using camure::test::g_rank;

std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// 64-bit words of a pattern unique to (root, size).
void fill(std::vector<std::uint64_t> &v, int root) {
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = mix((std::uint64_t(root) << 40) ^ (v.size() << 1) ^ i);
}

void check_bcast(camure::World &w, std::size_t words, int root) {
  std::vector<std::uint64_t> v(words), expect(words);
  fill(expect, root);
  if (w.rank() == root)
    v = expect;
  else
    std::fill(v.begin(), v.end(), 0xEEEEEEEEEEEEEEEEull);
  w.bcast(std::span(v), root); // typed span form, throwing
  if (v != expect) {
    std::size_t i = 0;
    while (v[i] == expect[i]) ++i;
    die("bcast of " + std::to_string(words) + " words from root " + std::to_string(root) + ": word " +
            std::to_string(i) + " differs",
        __LINE__);
  }
}

int mode_barrier(camure::World &w, int rounds, const char *path) {
  const int fd = ::open(path, O_RDWR | O_CREAT, 0600);
  CHECK(fd >= 0, path);
  CHECK(::ftruncate(fd, w.size() * 8) == 0, "ftruncate");
  void *p = ::mmap(nullptr, w.size() * 8, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHECK(p != MAP_FAILED, "mmap");
  ::close(fd);
  auto *slots = static_cast<std::int64_t *>(p);
  w.barrier();
  for (int k = 1; k <= rounds; ++k) {
    std::atomic_ref<std::int64_t>(slots[w.rank()]).store(k);
    std::error_code ec;
    w.barrier(ec); // the error_code form
    CHECK(!ec, ec.message());
    for (int r = 0; r < w.size(); ++r) {
      const auto v = std::atomic_ref<std::int64_t>(slots[r]).load();
      CHECK(v == k || v == k + 1, "after barrier " + std::to_string(k) + " rank " + std::to_string(r) + " is at " +
                                      std::to_string(v));
    }
  }
  ::munmap(p, w.size() * 8);
  return 0;
}

// big_roots: "all" = every root; "ends" = first and last; "first"; else first, middle and last.
int mode_bcast(camure::World &w, const std::string &big_roots) {
  const std::size_t sizes[] = {0, 1, (1u << 20) / 8, (64u << 20) / 8};
  for (int s = 0; s < 4; ++s)
    for (int root = 0; root < w.size(); ++root) {
      const bool end = root == 0 || root == w.size() - 1;
      if (s == 3 && big_roots == "ends" && !end) continue;
      if (s == 3 && big_roots == "first" && root != 0) continue;
      if (s == 3 && big_roots.empty() && !end && root != w.size() / 2) continue;
      check_bcast(w, sizes[s], root);
    }
  // Byte-granular sizes through the std::byte span with error codes.
  for (int i = 0; i < 40; ++i) {
    const int root = (i * 7) % w.size();
    std::vector<std::byte> b(1 + i * 1531, std::byte{0});
    if (w.rank() == root)
      for (std::size_t j = 0; j < b.size(); ++j) b[j] = std::byte(j * 31 + root);
    std::error_code ec;
    w.bcast(std::span(b), root, ec);
    CHECK(!ec, ec.message());
    for (std::size_t j = 0; j < b.size(); ++j) CHECK(b[j] == std::byte(j * 31 + root), "byte " + std::to_string(j));
  }
  return 0;
}

int mode_pubsub(camure::World &w, int msgs) {
  const int n = w.size();
  auto poll = w.subscribe("/all", true);
  std::mutex mu;
  std::vector<int> next_cb(n, 0);
  std::atomic<int> cb_got{0}, cb_bad{0}, cb_root{0};
  auto cb = w.subscribe("/cb", true, [&](const camure::Message &m) {
    if (m.topic == "/") { // the to-descendants message below
      ++cb_root;
      return;
    }
    int v[2];
    if (m.lost != 0 || m.data.size() != sizeof v) {
      ++cb_bad;
      return;
    }
    std::memcpy(v, m.data.data(), sizeof v);
    std::lock_guard lock(mu);
    if (v[0] < 0 || v[0] >= n || v[1] != next_cb[v[0]] || m.topic != "/cb/" + std::to_string(v[0])) {
      ++cb_bad;
      return;
    }
    ++next_cb[v[0]];
    ++cb_got;
  });
  w.barrier();
  for (int i = 0; i < msgs; ++i) {
    const int v[2] = {w.rank(), i};
    w.publish("/all/" + std::to_string(w.rank()), std::as_bytes(std::span(v)));
    w.publish("/cb/" + std::to_string(w.rank()), std::as_bytes(std::span(v)));
    w.publish("/allx", std::as_bytes(std::span(v))); // never matches "/all"
  }
  w.publish("/", std::as_bytes(std::span(&n, 1)), true); // to every descendant: "/all" and "/cb" see it
  std::vector<int> next(n, 0);
  int roots_seen = 0;
  for (int got = 0; got < n * msgs + n; ++got) {
    auto m = poll.receive(std::chrono::seconds(10));
    CHECK(m.has_value(), "message " + std::to_string(got) + " of " + std::to_string(n * msgs + n));
    CHECK(m->lost == 0, "lost");
    if (m->topic == "/") {
      ++roots_seen;
      continue;
    }
    int v[2];
    CHECK(m->data.size() == sizeof v, "size");
    std::memcpy(v, m->data.data(), sizeof v);
    CHECK(v[0] >= 0 && v[0] < n && v[1] == next[v[0]], "order from " + std::to_string(v[0]));
    CHECK(m->topic == "/all/" + std::to_string(v[0]), m->topic);
    ++next[v[0]];
  }
  CHECK(roots_seen == n, "to-descendants messages seen: " + std::to_string(roots_seen));
  std::error_code ec;
  CHECK(!poll.receive(std::chrono::milliseconds(0), ec).has_value() && !ec, "nothing more");
  const auto until = camure::World::wtime() + 10;
  while ((cb_got.load() < n * msgs || cb_root.load() < n) && camure::World::wtime() < until) ::usleep(1000);
  CHECK(cb_got.load() == n * msgs && cb_root.load() == n && cb_bad.load() == 0,
        "callbacks " + std::to_string(cb_got.load()) + " root " + std::to_string(cb_root.load()) + " bad " +
            std::to_string(cb_bad.load()));
  cb.close();
  poll.close();
  CHECK(!poll.receive(std::chrono::milliseconds(0), ec).has_value() && ec == camure::errc::invalid_argument,
        "receive on a closed subscription");
  return 0;
}

int mode_errors() {
  std::error_code ec;
  {
    camure::World none{camure::World::init(ec)};
    CHECK(!ec && none, "init with ec");
    camure::World twice = camure::World::init(ec);
    CHECK(ec == camure::errc::already_exists && !twice, "second World");
    std::vector<int> v(4);
    none.bcast(std::span(v), none.size(), ec);
    CHECK(ec == camure::errc::invalid_argument, "bad root via ec");
    bool threw = false;
    try {
      none.bcast(std::span(v), -1);
    } catch (const camure::error &e) {
      threw = e.code() == camure::errc::invalid_argument && std::string(e.what()).find("root") != std::string::npos;
    }
    CHECK(threw, "bad root throws invalid_argument naming the root");
    none.publish("no-slash", std::as_bytes(std::span(v)), false, ec);
    CHECK(ec == camure::errc::invalid_argument, "bad topic");
    none.finalize(ec);
    CHECK(!ec, ec.message());
    none.barrier(ec);
    CHECK(ec == camure::errc::not_initialized, "barrier after finalize");
  }
  return 0;
}

// Rank 1 throws out of the World's scope; the others must get peer_lost from the broken flag
// while rank 1 is still alive (it waits for rank 0's marker file before it exits).
int mode_throw(const char *marker) {
  int rank = -1;
  try {
    camure::World w;
    rank = w.rank();
    g_rank = rank;
    w.barrier();
    if (rank == 1) throw std::runtime_error("application error");
    std::error_code ec;
    w.barrier(ec);
    CHECK(ec == camure::errc::peer_lost, "barrier after rank 1 left: " + ec.message());
    if (rank == 0) {
      const int fd = ::open(marker, O_CREAT | O_WRONLY, 0600);
      CHECK(fd >= 0, "marker");
      ::close(fd);
    }
    return 0;
  } catch (const std::runtime_error &) {
    const auto until = camure::World::wtime() + 30;
    while (::access(marker, F_OK) != 0 && camure::World::wtime() < until) ::usleep(1000);
    return ::access(marker, F_OK) == 0 ? 0 : 1;
  }
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s barrier ROUNDS FILE | bcast [all] | pubsub MSGS | errors\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  try {
    if (mode == "errors") return mode_errors();
    if (mode == "throw" && argc >= 3) return mode_throw(argv[2]);
    camure::World world(argc, argv);
    g_rank = world.rank();
    int rc = 2;
    if (mode == "barrier" && argc >= 4)
      rc = mode_barrier(world, std::atoi(argv[2]), argv[3]);
    else if (mode == "bcast")
      rc = mode_bcast(world, argc >= 3 ? argv[2] : "");
    else if (mode == "pubsub" && argc >= 3)
      rc = mode_pubsub(world, std::atoi(argv[2]));
    else
      std::fprintf(stderr, "bad mode %s\n", mode.c_str());
    if (rc == 0) world.finalize();
    return rc;
  } catch (const camure::error &e) {
    std::fprintf(stderr, "rank %d: camure::error: %s\n", g_rank, e.what());
    return 1;
  }
}
