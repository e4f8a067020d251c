// Check program for the small-bcast path, run through camurerun (or by hand) by test_small_bcast_mp.
// Usage: prog mix SEED ITERS | mismatch ROOT_BYTES LAST_RANK_BYTES | die_root | die_reader
// Exit 0 when every check passed; otherwise prints why and exits 1.
#include <camure/camure.h>

#include "rank_check.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using camure::test::die;
using camure::test::g_rank;

std::string err(int rc) { return std::string(camure_strerror(rc)) + " (" + camure_last_error_detail() + ")"; }

// splitmix64: the same sequence on every rank from the same seed.
std::uint64_t next(std::uint64_t &s) {
  std::uint64_t x = (s += 0x9E3779B97F4A7C15ull);
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

unsigned char byte_of(std::uint64_t iter, int root, std::size_t i) {
  return static_cast<unsigned char>((iter * 31 + static_cast<std::uint64_t>(root) * 7 + i * 13 + (i >> 8)) & 0xFF);
}

// Bcasts of sizes on both sides of the cell threshold, from changing roots, in runs of
// back-to-back calls (the root runs ahead over the cells) with barriers in between; every rank
// checks every byte.
int mode_mix(std::uint64_t seed, long iters) {
  const int size = camure_size();
  const std::size_t sizes[] = {0, 1, 8, 64, 1000, 1024, 4095, 4096, 4097, 8192, 65536, 1u << 20};
  std::vector<unsigned char> buf;
  for (long it = 0; it < iters; ++it) {
    const std::size_t n = sizes[next(seed) % (sizeof sizes / sizeof sizes[0])];
    const int root = static_cast<int>(next(seed) % static_cast<std::uint64_t>(size));
    buf.assign(n, 0xEE);
    if (g_rank == root)
      for (std::size_t i = 0; i < n; ++i) buf[i] = byte_of(static_cast<std::uint64_t>(it), root, i);
    const int rc = camure_bcast(buf.data(), n, root);
    CHECK(rc == 0, "bcast " + std::to_string(it) + " of " + std::to_string(n) + " B from " + std::to_string(root) +
                       ": " + err(rc));
    for (std::size_t i = 0; i < n; ++i)
      CHECK(buf[i] == byte_of(static_cast<std::uint64_t>(it), root, i),
            "bcast " + std::to_string(it) + " of " + std::to_string(n) + " B from " + std::to_string(root) +
                ": byte " + std::to_string(i) + " differs");
    if (next(seed) % 8 == 0) CHECK(camure_barrier() == 0, "barrier");
  }
  return 0;
}

// Root 0 sends root_bytes; the last rank asks for last_bytes, everyone else for root_bytes. The
// last rank must get invalid_argument; the others the data or the error that broke the job.
int mode_mismatch(std::size_t root_bytes, std::size_t last_bytes) {
  const int size = camure_size();
  CHECK(camure_barrier() == 0, "first barrier");
  const bool last = g_rank == size - 1;
  const std::size_t n = last ? last_bytes : root_bytes;
  std::vector<unsigned char> buf(n, g_rank == 0 ? 0x5A : 0xEE);
  const int rc = camure_bcast(buf.data(), n, 0);
  if (last) {
    CHECK(rc == CAMURE_ERR_INVALID_ARGUMENT, "mismatched size gave " + err(rc));
  } else {
    CHECK(rc == 0 || rc == CAMURE_ERR_INVALID_ARGUMENT, "bcast gave " + err(rc));
    if (rc == 0)
      for (std::size_t i = 0; i < n; ++i) CHECK(buf[i] == 0x5A, "byte " + std::to_string(i) + " differs");
  }
  std::fflush(stdout);
  _exit(0); // the job's collectives are broken: finalize's barrier would fail by design
}

// Rank 0 dies; the others' small bcast from it must fail with peer_lost, not hang.
int mode_die_root() {
  CHECK(camure_barrier() == 0, "first barrier");
  if (g_rank == 0) _exit(0);
  std::uint64_t v = 0;
  const int rc = camure_bcast(&v, sizeof v, 0);
  CHECK(rc == CAMURE_ERR_PEER_LOST, "bcast from a dead root gave " + err(rc));
  _exit(0);
}

// Rank 1 dies; root 0 runs small bcasts back to back. Once it wraps around the cells it needs
// rank 1's done counter: it and every other survivor must end with peer_lost, not hang.
int mode_die_reader() {
  CHECK(camure_barrier() == 0, "first barrier");
  if (g_rank == 1) _exit(0);
  int rc = 0;
  for (int i = 0; i < 4 * 256 && rc == 0; ++i) { // more than small_bcast_cells
    std::uint64_t v = g_rank == 0 ? 0x1234u + static_cast<unsigned>(i) : 0;
    rc = camure_bcast(&v, sizeof v, 0);
    if (rc == 0) CHECK(v == 0x1234u + static_cast<unsigned>(i), "value of bcast " + std::to_string(i));
  }
  CHECK(rc == CAMURE_ERR_PEER_LOST, "bcasts with a dead reader ended with " + err(rc));
  _exit(0);
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s mix SEED ITERS | mismatch ROOT_BYTES LAST_BYTES | die_root | die_reader\n",
                 argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  int rc = camure_init(&argc, &argv);
  if (rc != 0) {
    std::fprintf(stderr, "camure_init: %s\n", err(rc).c_str());
    return 3;
  }
  g_rank = camure_rank();
  if (mode == "mix" && argc >= 4)
    rc = mode_mix(std::strtoull(argv[2], nullptr, 10), std::atol(argv[3]));
  else if (mode == "mismatch" && argc >= 4)
    rc = mode_mismatch(std::strtoull(argv[2], nullptr, 10), std::strtoull(argv[3], nullptr, 10));
  else if (mode == "die_root")
    rc = mode_die_root();
  else if (mode == "die_reader")
    rc = mode_die_reader();
  else {
    std::fprintf(stderr, "bad mode %s\n", mode.c_str());
    return 2;
  }
  if (rc != 0) return rc;
  rc = camure_finalize();
  CHECK(rc == 0, "finalize: " + err(rc));
  return 0;
}
