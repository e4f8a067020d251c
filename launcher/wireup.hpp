// Wire-up values of a job: session key, multicast group, host addresses, which hosts are local.
#pragma once

#include <string>
#include <string_view>

namespace camure::launcher {

/// 32 random bytes (libsodium) as 64 lowercase hex characters.
std::string make_session_key_hex();

/// A per-job `group:port`: group in 239.77.0.0/16 (not .0/.255 hosts), port in 20000-60000.
std::string choose_mcast();

/// Checks `--mcast-addr group:port` (IPv4 multicast group, port 1-65535).
bool valid_mcast(std::string_view text);

/// Is `name` this host: localhost, 127.x.x.x, ::1, our hostname, or one of our addresses?
bool is_local_host(std::string_view name);

/// `--iface` on this host: an IP address of ours, or an interface name -> its IPv4 (else IPv6)
/// address. "" and a one-line `why` when it cannot be resolved here.
std::string resolve_iface(const std::string &iface, std::string &why);

/// The local address this host uses to reach `host` (a UDP connect, nothing is sent); "" if
/// the name cannot be resolved or routed.
std::string route_address_to(const std::string &host);

/// Field 3 of SSH_CONNECTION (the address the ssh connection came in on), or "".
std::string ssh_connection_local_address();

/// This host's name (gethostname), "localhost" if unavailable.
std::string host_name();

} // namespace camure::launcher
