// libFuzzer target: the host-file and -H parsers and the rank mapping must never crash, hang
// or accept an entry they cannot describe; every rejection is one line naming the file.
#include "launcher/host_map.hpp"
#include "launcher/hostfile.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char *>(data), size);
  using namespace camure::launcher;
  std::vector<HostEntry> hosts;
  std::string why;
  if (parse_hostfile(text, "fuzz.hosts", hosts, why)) {
    if (hosts.empty()) std::abort();
    for (const auto &h : hosts)
      if (h.slots == 0 || !valid_host_name(h.name)) std::abort();
    HostMap map;
    HostMapRequest req;
    req.np = static_cast<unsigned>(size % 64);
    req.by_node = size % 2;
    req.oversubscribe = size % 3 == 0;
    req.npernode = size % 5 == 0 ? 2 : 0;
    if (map_ranks(hosts, req, map, why)) {
      if (map.host_of_rank.size() != map.np) std::abort();
      for (int h : map.host_of_rank)
        if (h < 0 || static_cast<std::size_t>(h) >= hosts.size()) std::abort();
    }
  } else if (why.rfind("fuzz.hosts", 0) != 0 || why.find('\n') != std::string::npos) {
    std::abort();
  }
  std::vector<HostEntry> list;
  std::string why2;
  if (!parse_host_list(text, list, why2) && (why2.empty() || why2.find('\n') != std::string::npos)) std::abort();
  return 0;
}
