// Host list and host file parsing (pure; the file read is the only I/O).
#include "launcher/hostfile.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace camure::launcher {

namespace {

constexpr unsigned kMaxSlots = 1u << 20;

/// 'text' (built by appending: GCC 12 warns falsely about "'" + std::string(...)).
std::string q(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('\'');
  for (char c : text) out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c); // one line
  out.push_back('\'');
  return out;
}

bool parse_count(std::string_view s, unsigned &out) {
  if (s.empty() || s.size() > 7) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size() && out > 0 && out <= kMaxSlots;
}

void add_host(std::vector<HostEntry> &hosts, HostEntry h) {
  for (auto &e : hosts) {
    if (e.name == h.name) {
      e.slots += h.slots;
      if (h.max_slots) e.max_slots = e.max_slots ? e.max_slots + h.max_slots : 0;
      return;
    }
  }
  hosts.push_back(std::move(h));
}

/// "name" or "name:N" (a bare IPv6 address has several colons: then no slot suffix unless
/// bracketed as [addr]:N).
bool split_name_slots(std::string_view item, std::string &name, unsigned &slots, std::string &why) {
  slots = 1;
  std::string_view n = item;
  if (!item.empty() && item.front() == '[') {
    const auto close = item.find(']');
    if (close == std::string_view::npos) {
      why = q(item) + ": missing ']'";
      return false;
    }
    n = item.substr(1, close - 1);
    std::string_view rest = item.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':' || !parse_count(rest.substr(1), slots)) {
        why = q(item) + ": bad slot count";
        return false;
      }
    }
  } else if (std::count(item.begin(), item.end(), ':') == 1) {
    const auto colon = item.find(':');
    n = item.substr(0, colon);
    if (!parse_count(item.substr(colon + 1), slots)) {
      why = q(item) + ": slot count " + q(item.substr(colon + 1)) +
            " is not a number from 1 to " + std::to_string(kMaxSlots);
      return false;
    }
  }
  if (!valid_host_name(n)) {
    why = q(n) + " is not a host name";
    return false;
  }
  name = std::string(n);
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

} // namespace

bool valid_host_name(std::string_view name) {
  if (name.empty() || name.size() > 253 || name.front() == '-') return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
          c == '_' || c == ':'))
      return false;
  return true;
}

bool parse_host_list(std::string_view text, std::vector<HostEntry> &hosts, std::string &why) {
  if (text.empty()) {
    why = "-H: empty host list";
    return false;
  }
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const auto comma = text.find(',', pos);
    const std::string_view item = text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    HostEntry h;
    std::string err;
    if (item.empty()) {
      why = "-H: empty host name in " + q(text);
      return false;
    }
    if (!split_name_slots(item, h.name, h.slots, err)) {
      why = "-H: " + err;
      return false;
    }
    add_host(hosts, std::move(h));
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return true;
}

bool parse_hostfile(std::string_view text, const std::string &file, std::vector<HostEntry> &hosts, std::string &why) {
  const std::size_t before = hosts.size();
  std::size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    ++line_no;
    auto nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    auto fail = [&](const std::string &problem) {
      why = file + ":" + std::to_string(line_no) + ": " + problem;
      return false;
    };
    if (line.find('\0') != std::string_view::npos) return fail("contains a NUL byte");
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    // Tokens separated by blanks.
    std::vector<std::string_view> tok;
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      const std::size_t start = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
      if (i > start) tok.push_back(line.substr(start, i - start));
    }
    HostEntry h;
    std::string err;
    if (!split_name_slots(tok[0], h.name, h.slots, err)) return fail(err);
    const bool mpich_form = tok[0].find(':') != std::string_view::npos && tok[0].front() != '[' &&
                            std::count(tok[0].begin(), tok[0].end(), ':') == 1;
    bool have_slots = false;
    for (std::size_t t = 1; t < tok.size(); ++t) {
      const auto eq = tok[t].find('=');
      if (eq == std::string_view::npos) return fail("unexpected " + q(tok[t]) + " (expected slots=N or max_slots=N)");
      const std::string_view key = tok[t].substr(0, eq), val = tok[t].substr(eq + 1);
      unsigned v = 0;
      if (key == "slots" || key == "cpu" || key == "cpus" || key == "count") {
        if (mpich_form) return fail("slots given twice (" + q(tok[0]) + " and " + q(tok[t]) + ")");
        if (!parse_count(val, v)) return fail("slots " + q(val) + " is not a number from 1 to " + std::to_string(kMaxSlots));
        h.slots = v;
        have_slots = true;
      } else if (key == "max_slots" || key == "max-slots") {
        if (!parse_count(val, v)) return fail("max_slots " + q(val) + " is not a number from 1 to " + std::to_string(kMaxSlots));
        h.max_slots = v;
      } else {
        return fail("unknown attribute " + q(key) + " (slots, max_slots)");
      }
    }
    if (h.max_slots && h.slots > h.max_slots) {
      if (have_slots || mpich_form)
        return fail("slots " + std::to_string(h.slots) + " exceed max_slots " + std::to_string(h.max_slots));
    }
    add_host(hosts, std::move(h));
  }
  if (hosts.size() == before) {
    why = file + ": no hosts in the file";
    return false;
  }
  return true;
}

bool read_hostfile(const std::string &path, std::vector<HostEntry> &hosts, std::string &why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = path + ": cannot open the host file: " + std::strerror(errno);
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    why = path + ": cannot read the host file";
    return false;
  }
  return parse_hostfile(ss.str(), path, hosts, why);
}

} // namespace camure::launcher
