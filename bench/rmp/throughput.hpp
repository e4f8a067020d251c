// Throughput benchmark point of camure-bench-rmp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace camure::bench {

struct ThroughputPoint {
  std::size_t size = 8;          ///< payload bytes
  unsigned writers = 1;
  unsigned readers = 1;
  std::uint64_t messages = 0;    ///< total across writers
  std::size_t batch = 64;        ///< messages per write_batch call
  std::size_t capacity = 1 << 22;
  bool drain = true;             ///< readers use Reader::drain (batch) instead of read_into
};

/// Runs one point and prints its RESULT line; false if a process failed.
bool run_throughput(const ThroughputPoint &p, const std::string &name_prefix);

} // namespace camure::bench
