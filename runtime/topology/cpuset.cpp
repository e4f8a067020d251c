// CpuSet: sorted OS cpu numbers, cpulist formatting and parsing.
#include "runtime/topology/cpuset.hpp"

#include <algorithm>
#include <charconv>

namespace camure::topology {

CpuSet::CpuSet(std::vector<unsigned> cpus) : cpus_(std::move(cpus)) {
  std::sort(cpus_.begin(), cpus_.end());
  cpus_.erase(std::unique(cpus_.begin(), cpus_.end()), cpus_.end());
}

void CpuSet::add(unsigned cpu) {
  auto it = std::lower_bound(cpus_.begin(), cpus_.end(), cpu);
  if (it == cpus_.end() || *it != cpu) cpus_.insert(it, cpu);
}

void CpuSet::add(const CpuSet &other) {
  for (unsigned c : other.cpus_) add(c);
}

bool CpuSet::contains(unsigned cpu) const {
  return std::binary_search(cpus_.begin(), cpus_.end(), cpu);
}

std::string CpuSet::to_list() const {
  std::string out;
  for (std::size_t i = 0; i < cpus_.size();) {
    std::size_t j = i;
    while (j + 1 < cpus_.size() && cpus_[j + 1] == cpus_[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus_[i]);
    if (j > i) out += '-' + std::to_string(cpus_[j]);
    i = j + 1;
  }
  return out;
}

namespace {
bool parse_uint(std::string_view s, unsigned &v) {
  if (s.empty() || s.size() > 9) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && p == s.data() + s.size();
}
} // namespace

std::optional<CpuSet> CpuSet::parse_list(std::string_view text) {
  CpuSet set;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (text.empty()) return set;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(pos, comma - pos);
    std::size_t dash = item.find('-');
    unsigned lo = 0, hi = 0;
    if (dash == std::string_view::npos) {
      if (!parse_uint(item, lo)) return std::nullopt;
      hi = lo;
    } else if (!parse_uint(item.substr(0, dash), lo) || !parse_uint(item.substr(dash + 1), hi) || hi < lo ||
               hi - lo > 65536) {
      return std::nullopt;
    }
    for (unsigned c = lo; c <= hi; ++c) set.cpus_.push_back(c);
    pos = comma + 1;
    if (comma == text.size()) break;
  }
  return CpuSet(std::move(set.cpus_));
}

} // namespace camure::topology
