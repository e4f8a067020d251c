// Shared helpers of the RMP multiprocess tests: checksummed, sequence-stamped messages and pipes.
#pragma once

#include <camure/rmp.hpp>

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

namespace camure::test::rmpmsg {

/// Every test message: who wrote it, its per-writer counter, payload length, checksum.
struct Head {
  std::uint32_t writer;
  std::uint32_t len;
  std::uint64_t counter;
  std::uint64_t checksum;
};
static_assert(sizeof(Head) == 24);

inline std::uint64_t fnv(const void *p, std::size_t n, std::uint64_t h = 1469598103934665603ull) {
  const auto *b = static_cast<const unsigned char *>(p);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

inline std::byte pattern_byte(std::uint32_t writer, std::uint64_t counter, std::size_t i) {
  return static_cast<std::byte>((writer * 31u + counter * 17u + i * 7u) & 0xffu);
}

/// Builds a message of payload length len into out.
inline void build(std::vector<std::byte> &out, std::uint32_t writer, std::uint64_t counter, std::uint32_t len) {
  out.resize(sizeof(Head) + len);
  for (std::size_t i = 0; i < len; ++i) out[sizeof(Head) + i] = pattern_byte(writer, counter, i);
  Head h{writer, len, counter, 0};
  std::uint64_t c = fnv(&h, 16);
  c = fnv(out.data() + sizeof(Head), len, c);
  h.checksum = c;
  std::memcpy(out.data(), &h, sizeof h);
}

/// Verifies a received message; returns its head or nullopt if any byte is wrong.
inline std::optional<Head> verify(std::span<const std::byte> m) {
  if (m.size() < sizeof(Head)) return std::nullopt;
  Head h;
  std::memcpy(&h, m.data(), sizeof h);
  if (m.size() != sizeof(Head) + h.len) return std::nullopt;
  std::uint64_t c = fnv(&h, 16);
  c = fnv(m.data() + sizeof(Head), h.len, c);
  if (c != h.checksum) return std::nullopt;
  for (std::size_t i = 0; i < h.len; ++i)
    if (m[sizeof(Head) + i] != pattern_byte(h.writer, h.counter, i)) return std::nullopt;
  return h;
}

/// A pipe for child -> parent signalling (closed on destruction).
struct Pipe {
  int fd[2] = {-1, -1};
  Pipe() {
    if (::pipe(fd) != 0) fd[0] = fd[1] = -1;
  }
  ~Pipe() {
    if (fd[0] >= 0) ::close(fd[0]);
    if (fd[1] >= 0) ::close(fd[1]);
  }
  template <class T> bool put(const T &v) { return ::write(fd[1], &v, sizeof v) == static_cast<ssize_t>(sizeof v); }
  /// Reads one T with a deadline (poll, never sleep).
  template <class T> std::optional<T> get(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    T v{};
    std::size_t got = 0;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (got < sizeof v) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd[0], POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      const ssize_t n = ::read(fd[0], reinterpret_cast<char *>(&v) + got, sizeof v - got);
      if (n <= 0) return std::nullopt;
      got += static_cast<std::size_t>(n);
    }
    return v;
  }
};

} // namespace camure::test::rmpmsg
