// Affinity: sched_getaffinity into a CpuSet, and a preallocated mask for sched_setaffinity.
#include "runtime/topology/affinity.hpp"

#include <camure/error.hpp>

#include <cerrno>
#include <sched.h>

namespace camure::topology {

namespace {
constexpr std::size_t kBitsPerWord = sizeof(unsigned long) * 8;
}

CpuSet current_affinity(std::error_code &ec) {
  ec.clear();
  for (std::size_t ncpus = 1024; ncpus <= (1u << 20); ncpus *= 2) {
    std::vector<unsigned long> words(ncpus / kBitsPerWord, 0);
    const std::size_t bytes = words.size() * sizeof(unsigned long);
    if (::sched_getaffinity(0, bytes, reinterpret_cast<cpu_set_t *>(words.data())) == 0) {
      std::vector<unsigned> cpus;
      for (std::size_t w = 0; w < words.size(); ++w)
        for (std::size_t b = 0; b < kBitsPerWord; ++b)
          if (words[w] & (1UL << b)) cpus.push_back(static_cast<unsigned>(w * kBitsPerWord + b));
      return CpuSet(std::move(cpus));
    }
    if (errno != EINVAL) break;
  }
  ec = make_error_code(errc::system_error);
  return {};
}

AffinityMask::AffinityMask(const CpuSet &cpus) {
  if (cpus.empty()) return;
  const std::size_t max_cpu = cpus.cpus().back();
  words_.assign(max_cpu / kBitsPerWord + 1, 0);
  for (unsigned c : cpus.cpus()) words_[c / kBitsPerWord] |= 1UL << (c % kBitsPerWord);
}

int AffinityMask::apply() const noexcept {
  if (words_.empty()) return 0;
  const std::size_t bytes = words_.size() * sizeof(unsigned long);
  if (::sched_setaffinity(0, bytes, reinterpret_cast<const cpu_set_t *>(words_.data())) != 0) return errno;
  return 0;
}

} // namespace camure::topology
