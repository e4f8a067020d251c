// camure::session::Endpoint parsing and formatting ("1.2.3.4:5", "[::1]:5").
#include <camure/session.hpp>

#include <arpa/inet.h>

#include <charconv>

namespace camure::session {

Endpoint Endpoint::parse(std::string_view text, std::error_code &ec) {
  ec.clear();
  std::string_view addr, port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      ec = make_error_code(errc::invalid_argument);
      return {};
    }
    addr = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      ec = make_error_code(errc::invalid_argument);
      return {};
    }
    addr = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned p = 0;
  auto [ptr, err] = std::from_chars(port.data(), port.data() + port.size(), p);
  std::string a(addr);
  unsigned char buf[16];
  const bool v6 = a.find(':') != std::string::npos;
  // IPv6 may carry a zone ("fe80::1%eth0"): validate the address part, keep the zone.
  const auto pct = a.find('%');
  const std::string bare = v6 && pct != std::string::npos ? a.substr(0, pct) : a;
  const bool zone_ok = !v6 || pct == std::string::npos || (pct + 1 < a.size() && a.size() - pct <= 16);
  if (port.empty() || err != std::errc() || ptr != port.data() + port.size() || p > 65535 || !zone_ok ||
      ::inet_pton(v6 ? AF_INET6 : AF_INET, bare.c_str(), buf) != 1) {
    ec = make_error_code(errc::invalid_argument);
    return {};
  }
  return Endpoint{std::move(a), static_cast<std::uint16_t>(p)};
}

Endpoint Endpoint::parse(std::string_view text) {
  std::error_code ec;
  auto e = parse(text, ec);
  throw_if(ec, ("bad endpoint '" + std::string(text) + "' (want 1.2.3.4:5 or [::1]:5)").c_str());
  return e;
}

std::string Endpoint::to_string() const {
  return is_v6() ? "[" + address + "]:" + std::to_string(port) : address + ":" + std::to_string(port);
}

} // namespace camure::session
