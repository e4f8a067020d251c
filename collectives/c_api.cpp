// The C API: thin, exception-free wrappers over the runtime with errno-style codes and details.
#include <camure/camure.h>

#include "collectives/control.hpp"
#include "collectives/last_error.hpp"
#include "collectives/runtime.hpp"
#include "collectives/topic_hub.hpp"

#include <camure/error.hpp>

#include <cstdlib>
#include <cstring>
#include <new>

using camure::errc;
using namespace camure::collectives;

struct camure_subscription {
  std::shared_ptr<camure::detail::SubscriptionState> state;
};

namespace {

int to_c(std::error_code ec) noexcept {
  if (!ec) return CAMURE_SUCCESS;
  if (ec.category() == camure::error_category()) return -ec.value();
  if (ec == std::errc::not_enough_memory) return CAMURE_ERR_NO_MEMORY;
  return CAMURE_ERR_SYSTEM;
}

int fail(errc e, std::string detail) noexcept {
  try {
    set_last_error(std::move(detail));
  } catch (...) {
  }
  return -static_cast<int>(e);
}

int fail(std::error_code ec, std::string detail) noexcept {
  try {
    set_last_error(std::move(detail));
  } catch (...) {
  }
  return to_c(ec);
}

// Runs f() with the usual guards: clears the detail, maps exceptions to codes.
template <class F> int guarded(const char *what, F &&f) noexcept {
  try {
    clear_last_error();
    return f();
  } catch (const std::bad_alloc &) {
    return fail(errc::no_memory, std::string(what) + ": out of memory");
  } catch (const std::exception &e) {
    return fail(errc::internal, std::string(what) + ": " + e.what());
  } catch (...) {
    return fail(errc::internal, std::string(what) + ": unknown exception");
  }
}

Runtime *need_runtime(const char *what, int &rc) noexcept {
  Runtime *rt = current();
  if (rt == nullptr) rc = fail(errc::not_initialized, std::string(what) + ": camure_init was not called (or camure_finalize was)");
  return rt;
}

} // namespace

extern "C" {

int camure_init(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return guarded("camure_init", [&]() -> int {
    if (current() != nullptr) return fail(errc::already_exists, "camure_init: already initialised");
    std::error_code ec;
    std::string detail;
    auto rt = Runtime::create(ec, detail);
    if (ec) return fail(ec, "camure_init: " + detail);
    if ((ec = install(std::move(rt)))) return fail(ec, "camure_init: already initialised");
    return CAMURE_SUCCESS;
  });
}

int camure_finalize(void) {
  return guarded("camure_finalize", [&]() -> int {
    int rc = 0;
    if (need_runtime("camure_finalize", rc) == nullptr) return rc;
    std::string detail;
    const std::error_code ec = current()->finalize(detail);
    uninstall().reset();
    return ec ? fail(ec, "camure_finalize: " + detail) : CAMURE_SUCCESS;
  });
}

int camure_initialized(void) { return current() != nullptr ? 1 : 0; }

int camure_rank(void) {
  int rc = 0;
  const Runtime *rt = need_runtime("camure_rank", rc);
  return rt ? rt->job().rank : rc;
}

int camure_size(void) {
  int rc = 0;
  const Runtime *rt = need_runtime("camure_size", rc);
  return rt ? rt->job().size : rc;
}

int camure_local_rank(void) {
  int rc = 0;
  const Runtime *rt = need_runtime("camure_local_rank", rc);
  return rt ? rt->job().local_rank : rc;
}

int camure_local_size(void) {
  int rc = 0;
  const Runtime *rt = need_runtime("camure_local_size", rc);
  return rt ? rt->job().local_size : rc;
}

int camure_node_id(void) {
  int rc = 0;
  const Runtime *rt = need_runtime("camure_node_id", rc);
  return rt ? rt->job().node_id : rc;
}

int camure_barrier(void) {
  return guarded("camure_barrier", [&]() -> int {
    int rc = 0;
    Runtime *rt = need_runtime("camure_barrier", rc);
    if (rt == nullptr) return rc;
    std::string detail;
    const std::error_code ec = rt->barrier(detail);
    return ec ? fail(ec, "camure_barrier: " + detail) : CAMURE_SUCCESS;
  });
}

int camure_bcast(void *buf, size_t bytes, int root) {
  return guarded("camure_bcast", [&]() -> int {
    int rc = 0;
    Runtime *rt = need_runtime("camure_bcast", rc);
    if (rt == nullptr) return rc;
    const int size = rt->job().size;
    if (root < 0 || root >= size)
      return fail(errc::invalid_argument,
                  "camure_bcast: root " + std::to_string(root) + " out of range [0, " + std::to_string(size) + ")");
    if (buf == nullptr && bytes > 0) return fail(errc::invalid_argument, "camure_bcast: buf is NULL but bytes > 0");
    std::string detail;
    const std::error_code ec = rt->bcast(std::span(static_cast<std::byte *>(buf), bytes), root, detail);
    return ec ? fail(ec, "camure_bcast: " + detail) : CAMURE_SUCCESS;
  });
}

double camure_wtime(void) { return monotonic_seconds(); }

void camure_abort(int exit_code) {
  int fd = -1;
  if (const Runtime *rt = current()) {
    fd = rt->job().control_fd;
  } else if (const char *v = std::getenv("CAMURE_CONTROL_FD"); v != nullptr && *v != '\0') {
    char *end = nullptr;
    const long l = std::strtol(v, &end, 10);
    if (end != v && *end == '\0' && l >= 0 && l < (1 << 30)) fd = static_cast<int>(l);
  }
  abort_job(fd, exit_code);
}

const char *camure_strerror(int err) {
  switch (err) {
  case CAMURE_SUCCESS: return "success";
  case CAMURE_ERR_TIMEOUT: return "timed out";
  case CAMURE_ERR_PEER_LOST: return "peer lost (a rank died)";
  case CAMURE_ERR_VERSION_MISMATCH: return "version mismatch";
  case CAMURE_ERR_BAD_MAGIC: return "not a camure object (bad magic)";
  case CAMURE_ERR_SIZE_MISMATCH: return "size mismatch";
  case CAMURE_ERR_INVALID_ARGUMENT: return "invalid argument";
  case CAMURE_ERR_NOT_FOUND: return "not found";
  case CAMURE_ERR_ALREADY_EXISTS: return "already exists";
  case CAMURE_ERR_MESSAGE_TOO_LARGE: return "message too large";
  case CAMURE_ERR_MESSAGES_LOST: return "messages lost (subscriber overrun)";
  case CAMURE_ERR_CLOSED: return "closed";
  case CAMURE_ERR_COORDINATOR_LOST: return "session coordinator lost";
  case CAMURE_ERR_EVICTED: return "evicted from the session";
  case CAMURE_ERR_AUTH_FAILED: return "authentication failed";
  case CAMURE_ERR_SYSTEM: return "system call failed";
  case CAMURE_ERR_NO_MEMORY: return "out of memory";
  case CAMURE_ERR_NOT_INITIALIZED: return "not initialized";
  case CAMURE_ERR_INTERNAL: return "internal error";
  case CAMURE_ERR_WOULD_BLOCK: return "operation would block";
  case CAMURE_ERR_TRUNCATED: return "buffer too small, message truncated";
  case CAMURE_ERR_BUSY: return "resource busy";
  case CAMURE_ERR_NOT_READY: return "not ready";
  case CAMURE_ERR_OWNER_DIED: return "lock owner died; state repaired";
  case CAMURE_ERR_ABORTED: return "job aborted";
  case CAMURE_ERR_PROTOCOL: return "protocol error";
  case CAMURE_ERR_UNSUPPORTED: return "unsupported";
  default: return err > 0 ? "not an error code (positive value)" : "unknown camure error";
  }
}

const char *camure_last_error_detail(void) { return last_error(); }

int camure_publish(const char *topic, const void *data, size_t bytes, unsigned flags) {
  return guarded("camure_publish", [&]() -> int {
    int rc = 0;
    Runtime *rt = need_runtime("camure_publish", rc);
    if (rt == nullptr) return rc;
    if (topic == nullptr) return fail(errc::invalid_argument, "camure_publish: topic is NULL");
    if (data == nullptr && bytes > 0) return fail(errc::invalid_argument, "camure_publish: data is NULL but bytes > 0");
    if ((flags & ~CAMURE_TOPIC_TO_DESCENDANTS) != 0)
      return fail(errc::invalid_argument, "camure_publish: unknown flags " + std::to_string(flags));
    std::string detail;
    const std::error_code ec =
        rt->topics().publish(topic, std::span(static_cast<const std::byte *>(data), bytes),
                             (flags & CAMURE_TOPIC_TO_DESCENDANTS) != 0, detail);
    return ec ? fail(ec, "camure_publish: " + detail) : CAMURE_SUCCESS;
  });
}

static int subscribe_common(const char *what, const char *topic, unsigned flags, camure::TopicCallback cb,
                            camure_subscription **out) noexcept {
  return guarded(what, [&]() -> int {
    int rc = 0;
    Runtime *rt = need_runtime(what, rc);
    if (rt == nullptr) return rc;
    if (out == nullptr) return fail(errc::invalid_argument, std::string(what) + ": out is NULL");
    *out = nullptr;
    if (topic == nullptr) return fail(errc::invalid_argument, std::string(what) + ": topic is NULL");
    if ((flags & ~CAMURE_TOPIC_WITH_DESCENDANTS) != 0)
      return fail(errc::invalid_argument, std::string(what) + ": unknown flags " + std::to_string(flags));
    std::error_code ec;
    std::string detail;
    auto state = rt->topics().subscribe(topic, (flags & CAMURE_TOPIC_WITH_DESCENDANTS) != 0, std::move(cb), ec, detail);
    if (ec) return fail(ec, std::string(what) + ": " + detail);
    *out = new camure_subscription{std::move(state)};
    return CAMURE_SUCCESS;
  });
}

int camure_subscribe(const char *topic, unsigned flags, camure_subscription **out) {
  return subscribe_common("camure_subscribe", topic, flags, {}, out);
}

int camure_subscribe_callback(const char *topic, unsigned flags, camure_topic_callback callback, void *user,
                              camure_subscription **out) {
  if (callback == nullptr) {
    clear_last_error();
    if (out != nullptr) *out = nullptr;
    return fail(errc::invalid_argument, "camure_subscribe_callback: callback is NULL");
  }
  camure::TopicCallback cb = [callback, user](const camure::Message &m) {
    callback(m.topic.c_str(), m.data.data(), m.data.size(), static_cast<unsigned long long>(m.lost), user);
  };
  return subscribe_common("camure_subscribe_callback", topic, flags, std::move(cb), out);
}

int camure_receive(camure_subscription *sub, void *buf, size_t capacity, size_t *bytes, char *topic_buf,
                   size_t topic_capacity, double timeout_seconds) {
  return guarded("camure_receive", [&]() -> int {
    int rc = 0;
    if (need_runtime("camure_receive", rc) == nullptr) return rc;
    if (sub == nullptr || !sub->state) return fail(errc::invalid_argument, "camure_receive: subscription is NULL or closed");
    if (sub->state->callback)
      return fail(errc::invalid_argument, "camure_receive: this is a callback subscription");
    if (buf == nullptr && capacity > 0) return fail(errc::invalid_argument, "camure_receive: buf is NULL but capacity > 0");
    if (timeout_seconds != timeout_seconds) return fail(errc::invalid_argument, "camure_receive: timeout is NaN");
    auto &st = *sub->state;
    if (!st.pending) {
      std::chrono::nanoseconds timeout = std::chrono::nanoseconds::max();
      if (timeout_seconds >= 0 && timeout_seconds < 1e9)
        timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(timeout_seconds));
      std::error_code ec;
      std::string detail;
      st.pending = TopicHub::receive(st, timeout, ec, detail);
      if (ec) return fail(ec, "camure_receive: " + detail);
      if (!st.pending) {
        if (timeout_seconds == 0) return fail(errc::would_block, "camure_receive: no message");
        return fail(errc::timeout, "camure_receive: no message within the timeout");
      }
    }
    camure::Message &m = *st.pending;
    if (m.lost > 0) {
      if (bytes != nullptr) *bytes = static_cast<size_t>(m.lost);
      const auto n = m.lost;
      m.lost = 0;
      return fail(errc::messages_lost, "camure_receive: " + std::to_string(n) + " messages lost before the next one");
    }
    if (bytes != nullptr) *bytes = m.data.size();
    if (m.data.size() > capacity)
      return fail(errc::truncated, "camure_receive: message of " + std::to_string(m.data.size()) +
                                       " bytes does not fit the " + std::to_string(capacity) + "-byte buffer");
    if (!m.data.empty()) std::memcpy(buf, m.data.data(), m.data.size());
    if (topic_buf != nullptr && topic_capacity > 0) {
      const size_t n = std::min(topic_capacity - 1, m.topic.size());
      std::memcpy(topic_buf, m.topic.data(), n);
      topic_buf[n] = '\0';
    }
    st.pending.reset();
    return CAMURE_SUCCESS;
  });
}

int camure_unsubscribe(camure_subscription *sub) {
  return guarded("camure_unsubscribe", [&]() -> int {
    if (sub == nullptr) return CAMURE_SUCCESS;
    if (sub->state) TopicHub::close(*sub->state);
    delete sub;
    return CAMURE_SUCCESS;
  });
}

} // extern "C"
