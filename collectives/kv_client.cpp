// Key/value requests on the control channel: one request line, one reply line.
#include "collectives/kv_client.hpp"

#include <camure/error.hpp>

#include <cerrno>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace camure::collectives {
namespace {

// Slack on top of a get's own timeout for the reply to travel back (launcher -> proxy -> rank).
constexpr auto reply_slack = std::chrono::seconds(10);

} // namespace

std::string KvClient::request(const std::string &line, std::chrono::milliseconds reply_within, std::error_code &ec,
                              std::string &detail) {
  ec.clear();
  if (fd_ < 0) {
    ec = errc::not_initialized;
    detail = "no control channel to camurerun (CAMURE_CONTROL_FD)";
    return {};
  }
  for (;;) {
    const ssize_t w = ::send(fd_, line.data(), line.size(), MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w != static_cast<ssize_t>(line.size())) {
      ec = errc::closed;
      detail = "control channel: cannot send a key/value request (camurerun gone?)";
      return {};
    }
    break;
  }
  const auto deadline = std::chrono::steady_clock::now() + reply_within;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      ec = errc::timeout;
      detail = "control channel: no reply from camurerun to a key/value request";
      return {};
    }
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char buf[4096 + 256];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      ec = errc::closed;
      detail = "control channel closed while waiting for a key/value reply";
      return {};
    }
    std::string reply(buf, static_cast<std::size_t>(n));
    while (!reply.empty() && (reply.back() == '\n' || reply.back() == '\r')) reply.pop_back();
    return reply;
  }
}

void KvClient::put(const std::string &key, const std::string &value, std::error_code &ec, std::string &detail) {
  const std::string reply = request("put " + key + " " + value + "\n", reply_slack, ec, detail);
  if (ec) return;
  if (reply == "ok " + key) return;
  if (reply == "err " + key + " exists") {
    ec = errc::already_exists;
    detail = "key/value store: " + key + " already holds a different value";
  } else if (reply.rfind("err ", 0) == 0) {
    ec = errc::invalid_argument;
    detail = "key/value store refused put " + key + ": " + reply;
  } else {
    ec = errc::protocol_error;
    detail = "key/value store: unexpected reply to put " + key + ": " + reply.substr(0, 80);
  }
}

std::string KvClient::get(const std::string &key, std::chrono::milliseconds timeout, std::error_code &ec,
                          std::string &detail) {
  const std::string reply =
      request("get " + key + " " + std::to_string(timeout.count()) + "\n", timeout + reply_slack, ec, detail);
  if (ec) return {};
  const std::string val_prefix = "val " + key + " ";
  if (reply.rfind(val_prefix, 0) == 0) return reply.substr(val_prefix.size());
  if (reply == "err " + key + " timeout") {
    ec = errc::timeout;
    detail = "key/value store: " + key + " did not appear within " + std::to_string(timeout.count()) + " ms";
  } else if (reply.rfind("err ", 0) == 0) {
    ec = errc::invalid_argument;
    detail = "key/value store refused get " + key + ": " + reply;
  } else {
    ec = errc::protocol_error;
    detail = "key/value store: unexpected reply to get " + key + ": " + reply.substr(0, 80);
  }
  return {};
}

} // namespace camure::collectives
