// Latency benchmark points of camure-bench-rmp: blocked subscriber, busy poll, futex floor, UDP wake.
#pragma once

#include <string>

namespace camure::bench {

struct LatencySummary {
  double blocked_median_us = 0, futex_median_us = 0, udp_median_us = 0;
};

/// Runs the four latency points (same run, same method) and prints their RESULT lines.
bool run_latency(unsigned samples, const std::string &name_prefix, LatencySummary &out);

} // namespace camure::bench
