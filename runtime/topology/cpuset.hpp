// CpuSet: a sorted set of OS cpu numbers with Linux cpulist text form ("0-3,8,10-11").
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace camure::topology {

/// A set of OS (physical) cpu numbers, kept sorted and unique. Plain value type.
class CpuSet {
public:
  CpuSet() = default;
  /// Builds from any list of cpu numbers (duplicates and order do not matter).
  explicit CpuSet(std::vector<unsigned> cpus);

  void add(unsigned cpu);
  void add(const CpuSet &other);
  bool contains(unsigned cpu) const;
  bool empty() const { return cpus_.empty(); }
  std::size_t size() const { return cpus_.size(); }
  const std::vector<unsigned> &cpus() const { return cpus_; }

  /// Linux cpulist form: "0-3,8". Empty set gives "".
  std::string to_list() const;
  /// Parses a cpulist ("0-3,8"); nullopt on malformed text.
  static std::optional<CpuSet> parse_list(std::string_view text);

  friend bool operator==(const CpuSet &, const CpuSet &) = default;

private:
  std::vector<unsigned> cpus_;
};

} // namespace camure::topology
