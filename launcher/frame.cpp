// Frame protocol: field encoding and stream reassembly.
#include "launcher/frame.hpp"

namespace camure::launcher {

namespace {
void put_u32(std::string &b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
std::uint32_t get_u32(const char *p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}
} // namespace

FrameWriter::FrameWriter(FrameType type) {
  buf_.assign(kFrameHeaderBytes, '\0');
  buf_.push_back(static_cast<char>(type));
}

FrameWriter &FrameWriter::u32(std::uint32_t v) {
  put_u32(buf_, v);
  return *this;
}

FrameWriter &FrameWriter::str(std::string_view s) {
  put_u32(buf_, static_cast<std::uint32_t>(s.size()));
  buf_.append(s);
  return *this;
}

FrameWriter &FrameWriter::strs(const std::vector<std::string> &v) {
  put_u32(buf_, static_cast<std::uint32_t>(v.size()));
  for (const auto &s : v) str(s);
  return *this;
}

std::string FrameWriter::finish() {
  std::string len;
  put_u32(len, static_cast<std::uint32_t>(buf_.size() - kFrameHeaderBytes));
  buf_.replace(0, kFrameHeaderBytes, len);
  return std::move(buf_);
}

std::uint32_t FrameParser::u32() {
  if (!ok_ || p_.size() < 4) {
    ok_ = false;
    return 0;
  }
  const std::uint32_t v = get_u32(p_.data());
  p_.remove_prefix(4);
  return v;
}

std::string FrameParser::str() {
  const std::uint32_t n = u32();
  if (!ok_ || p_.size() < n) {
    ok_ = false;
    return {};
  }
  std::string s(p_.substr(0, n));
  p_.remove_prefix(n);
  return s;
}

std::vector<std::string> FrameParser::strs() {
  const std::uint32_t n = u32();
  std::vector<std::string> v;
  // Each string needs at least 4 bytes: a bogus count cannot make us allocate much.
  if (!ok_ || n > p_.size() / 4) {
    ok_ = false;
    return v;
  }
  v.reserve(n);
  for (std::uint32_t i = 0; i < n && ok_; ++i) v.push_back(str());
  return v;
}

std::optional<Frame> FrameReader::next() {
  if (error_) return std::nullopt;
  const std::size_t avail = buf_.size() - pos_;
  if (avail < kFrameHeaderBytes) {
    if (pos_ > 0) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    return std::nullopt;
  }
  const std::uint32_t len = get_u32(buf_.data() + pos_);
  if (len == 0 || len > kMaxFrameBytes) {
    error_ = true;
    return std::nullopt;
  }
  if (avail < kFrameHeaderBytes + len) return std::nullopt;
  Frame f;
  f.type = static_cast<FrameType>(static_cast<unsigned char>(buf_[pos_ + kFrameHeaderBytes]));
  f.payload.assign(buf_, pos_ + kFrameHeaderBytes + 1, len - 1);
  pos_ += kFrameHeaderBytes + len;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  return f;
}

std::string encode_job(const JobMessage &m) {
  FrameWriter w(FrameType::job);
  w.str(m.job_id).str(m.host).u32(static_cast<std::uint32_t>(m.node_id)).u32(static_cast<std::uint32_t>(m.num_nodes));
  w.u32(static_cast<std::uint32_t>(m.size)).str(m.program).strs(m.argv).str(m.wdir).str(m.fallback_wdir);
  w.u32(static_cast<std::uint32_t>(m.stdin_rank)).strs(m.exports).strs(m.extra_env).str(m.iface);
  w.str(m.map_by).str(m.bind_to);
  w.u32((m.oversubscribe ? 1u : 0u) | (m.use_hwthreads ? 2u : 0u) | (m.report_bindings ? 4u : 0u));
  w.u32(m.grace_ms).u32(static_cast<std::uint32_t>(m.ranks.size()));
  for (const auto &r : m.ranks) w.u32(static_cast<std::uint32_t>(r.rank)).u32(static_cast<std::uint32_t>(r.local_rank));
  w.strs(m.subtree).strs(m.agent).str(m.proxy).u32(m.launch_timeout_ms);
  return w.finish();
}

bool decode_job(std::string_view payload, JobMessage &m) {
  FrameParser p(payload);
  m.job_id = p.str();
  m.host = p.str();
  m.node_id = static_cast<int>(p.u32());
  m.num_nodes = static_cast<int>(p.u32());
  m.size = static_cast<int>(p.u32());
  m.program = p.str();
  m.argv = p.strs();
  m.wdir = p.str();
  m.fallback_wdir = p.str();
  m.stdin_rank = static_cast<int>(p.u32());
  m.exports = p.strs();
  m.extra_env = p.strs();
  m.iface = p.str();
  m.map_by = p.str();
  m.bind_to = p.str();
  const std::uint32_t flags = p.u32();
  m.oversubscribe = flags & 1u;
  m.use_hwthreads = flags & 2u;
  m.report_bindings = flags & 4u;
  m.grace_ms = p.u32();
  const std::uint32_t n = p.u32();
  if (!p.ok() || n > payload.size() / 8) return false;
  m.ranks.clear();
  for (std::uint32_t i = 0; i < n; ++i) {
    ProxyRank r;
    r.rank = static_cast<int>(p.u32());
    r.local_rank = static_cast<int>(p.u32());
    m.ranks.push_back(r);
  }
  m.subtree = p.strs();
  m.agent = p.strs();
  m.proxy = p.str();
  m.launch_timeout_ms = p.u32();
  if (!p.done() || m.argv.empty() || m.program.empty() || m.size <= 0) return false;
  for (const auto &r : m.ranks)
    if (r.rank < 0 || r.rank >= m.size) return false;
  return true;
}

std::vector<int> subtree_ranks(const JobMessage &m) {
  std::vector<int> out;
  for (const auto &r : m.ranks) out.push_back(r.rank);
  for (const auto &child : m.subtree) {
    FrameReader rd;
    rd.feed(child);
    auto f = rd.next();
    JobMessage c;
    if (f && f->type == FrameType::job && decode_job(f->payload, c)) {
      auto more = subtree_ranks(c);
      out.insert(out.end(), more.begin(), more.end());
    }
  }
  return out;
}

} // namespace camure::launcher
