// KvStore: put/get with per-rank reply ordering and get timeouts.
#include "launcher/kv_store.hpp"

#include <algorithm>
#include <charconv>

namespace camure::launcher {

namespace {
/// Splits "a b c" into at most `n` blank-separated words; false if the count differs.
bool words(std::string_view line, std::size_t n, std::vector<std::string_view> &out) {
  out.clear();
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    const std::size_t s = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > s) out.push_back(line.substr(s, i - s));
  }
  return out.size() == n;
}

bool valid_value(std::string_view v) {
  if (v.empty() || v.size() > KvStore::kMaxValue) return false;
  for (char c : v)
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == '\0') return false;
  return true;
}
} // namespace

bool KvStore::is_request(std::string_view line) { return line.rfind("put ", 0) == 0 || line.rfind("get ", 0) == 0; }

bool KvStore::valid_key(std::string_view key) {
  if (key.empty() || key.size() > kMaxKey) return false;
  for (char c : key)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return false;
  return true;
}

bool KvStore::set(const std::string &key, const std::string &value) {
  if (!valid_key(key) || !valid_value(value)) return false;
  auto [it, inserted] = data_.emplace(key, value);
  return inserted || it->second == value;
}

std::optional<std::string> KvStore::value(const std::string &key) const {
  auto it = data_.find(key);
  if (it == data_.end()) return std::nullopt;
  return it->second;
}

bool KvStore::answer(int rank, const Pending &p, Clock::time_point now, bool expired, std::vector<Reply> &out) {
  std::vector<std::string_view> w;
  std::string_view line = p.line;
  if (line.rfind("put ", 0) == 0) {
    if (!words(line, 3, w) || !valid_key(w[1]) || !valid_value(w[2])) {
      words(line, 2, w);
      out.push_back({rank, "err " + std::string(w.size() > 1 && valid_key(w[1]) ? w[1] : "-") + " invalid"});
      return true;
    }
    const std::string key(w[1]);
    auto [it, inserted] = data_.emplace(key, std::string(w[2]));
    out.push_back({rank, (inserted || it->second == w[2] ? "ok " : "err ") + key + (inserted || it->second == w[2] ? "" : " exists")});
    return true;
  }
  // get <key> <timeout_ms>
  unsigned long ms = 0;
  bool ok = words(line, 3, w) && valid_key(w[1]);
  if (ok) {
    auto [q, ec] = std::from_chars(w[2].data(), w[2].data() + w[2].size(), ms);
    ok = ec == std::errc{} && q == w[2].data() + w[2].size();
  }
  if (!ok) {
    words(line, 2, w);
    out.push_back({rank, "err " + std::string(w.size() > 1 && valid_key(w[1]) ? w[1] : "-") + " invalid"});
    return true;
  }
  const std::string key(w[1]);
  if (auto it = data_.find(key); it != data_.end()) {
    out.push_back({rank, "val " + key + " " + it->second});
    return true;
  }
  if (expired || now >= p.deadline) {
    out.push_back({rank, "err " + key + " timeout"});
    return true;
  }
  return false;
}

void KvStore::drain(int rank, Clock::time_point now, std::vector<Reply> &out) {
  auto it = queues_.find(rank);
  if (it == queues_.end()) return;
  auto &q = it->second;
  while (!q.empty() && answer(rank, q.front(), now, false, out)) q.pop_front();
  if (q.empty()) queues_.erase(it);
}

std::vector<KvStore::Reply> KvStore::request(int rank, std::string_view line, Clock::time_point now) {
  std::vector<Reply> out;
  Pending p{std::string(line), now};
  std::vector<std::string_view> w;
  if (line.rfind("get ", 0) == 0 && words(line, 3, w)) {
    unsigned long ms = 0;
    auto [q, ec] = std::from_chars(w[2].data(), w[2].data() + w[2].size(), ms);
    if (ec == std::errc{}) p.deadline = now + std::chrono::milliseconds(std::min(ms, 24ul * 3600 * 1000));
  }
  const bool was_put = line.rfind("put ", 0) == 0;
  queues_[rank].push_back(std::move(p));
  drain(rank, now, out);
  if (was_put) {
    // A new key may unblock gets of other ranks.
    std::vector<int> ranks;
    for (const auto &[r, q] : queues_) ranks.push_back(r);
    for (int r : ranks) drain(r, now, out);
  }
  return out;
}

std::vector<KvStore::Reply> KvStore::expire(Clock::time_point now) {
  std::vector<Reply> out;
  std::vector<int> ranks;
  for (const auto &[r, q] : queues_)
    if (!q.empty() && now >= q.front().deadline) ranks.push_back(r);
  for (int r : ranks) drain(r, now, out);
  return out;
}

std::optional<KvStore::Clock::time_point> KvStore::next_deadline() const {
  std::optional<Clock::time_point> best;
  for (const auto &[r, q] : queues_)
    if (!q.empty() && (!best || q.front().deadline < *best)) best = q.front().deadline;
  return best;
}

} // namespace camure::launcher
