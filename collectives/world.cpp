// The C++ API: camure::World and camure::Subscription over the runtime, throwing and ec forms.
#include <camure/camure.hpp>

#include "collectives/control.hpp"
#include "collectives/last_error.hpp"
#include "collectives/runtime.hpp"
#include "collectives/topic_hub.hpp"

#include <camure/camure.h>

#include <exception>

namespace camure {
namespace {

using collectives::current;
using collectives::Runtime;

// Records the detail (also visible through camure_last_error_detail) and builds the exception.
[[noreturn]] void raise(std::error_code ec, const char *what) {
  std::string detail = collectives::last_error();
  throw error(ec, detail.empty() ? std::string(what) : detail);
}

Runtime *need(const char *what, std::error_code &ec) noexcept {
  Runtime *rt = current();
  if (rt == nullptr) collectives::fail(ec, errc::not_initialized, what, "camure is not initialised");
  return rt;
}

} // namespace

// ---- Subscription ----------------------------------------------------------------------

Subscription::Subscription(Subscription &&) noexcept = default;

Subscription &Subscription::operator=(Subscription &&o) noexcept {
  if (this != &o) {
    close();
    state_ = std::move(o.state_);
  }
  return *this;
}

Subscription::~Subscription() { close(); }

void Subscription::close() noexcept {
  if (state_) collectives::TopicHub::close(*state_);
  state_.reset();
}

std::optional<Message> Subscription::receive(std::chrono::nanoseconds timeout, std::error_code &ec) noexcept {
  ec.clear();
  try {
    collectives::clear_last_error();
    if (!state_) {
      collectives::fail(ec, errc::invalid_argument, "Subscription::receive", "the subscription is closed");
      return std::nullopt;
    }
    if (state_->callback) {
      collectives::fail(ec, errc::invalid_argument, "Subscription::receive", "this is a callback subscription");
      return std::nullopt;
    }
    if (need("Subscription::receive", ec) == nullptr) return std::nullopt;
    if (state_->pending) { // left by the C API after a truncation
      std::optional<Message> m = std::move(state_->pending);
      state_->pending.reset();
      return m;
    }
    std::string detail;
    auto m = collectives::TopicHub::receive(*state_, timeout, ec, detail);
    if (ec) collectives::fail(ec, ec, "Subscription::receive", detail);
    return m;
  } catch (const std::bad_alloc &) {
    collectives::fail(ec, errc::no_memory, "Subscription::receive");
    return std::nullopt;
  }
}

std::optional<Message> Subscription::receive(std::chrono::nanoseconds timeout) {
  std::error_code ec;
  auto m = receive(timeout, ec);
  if (ec) raise(ec, "Subscription::receive");
  return m;
}

// ---- World -------------------------------------------------------------------------------

World::World() {
  std::error_code ec;
  *this = init(ec);
  if (ec) raise(ec, "camure::World");
}

World::World(int &argc, char **&argv) {
  std::error_code ec;
  *this = init(argc, argv, ec);
  if (ec) raise(ec, "camure::World");
}

World World::init(std::error_code &ec) noexcept {
  World w{empty_tag{}};
  const int rc = camure_init(nullptr, nullptr);
  if (rc != 0) {
    ec = make_error_code(static_cast<errc>(-rc));
    return w;
  }
  ec.clear();
  w.adopt();
  return w;
}

World World::init(int &argc, char **&argv, std::error_code &ec) noexcept {
  World w{empty_tag{}};
  const int rc = camure_init(&argc, &argv);
  if (rc != 0) {
    ec = make_error_code(static_cast<errc>(-rc));
    return w;
  }
  ec.clear();
  w.adopt();
  return w;
}

void World::adopt() noexcept {
  const auto &job = current()->job();
  owns_ = true;
  rank_ = job.rank;
  size_ = job.size;
  local_rank_ = job.local_rank;
  local_size_ = job.local_size;
  node_id_ = job.node_id;
}

World::World(World &&o) noexcept
    : owns_(o.owns_), rank_(o.rank_), size_(o.size_), local_rank_(o.local_rank_), local_size_(o.local_size_),
      node_id_(o.node_id_) {
  o.owns_ = false;
}

World &World::operator=(World &&o) noexcept {
  if (this != &o) {
    if (owns_) {
      std::error_code ignored;
      finalize(ignored);
    }
    owns_ = o.owns_;
    rank_ = o.rank_;
    size_ = o.size_;
    local_rank_ = o.local_rank_;
    local_size_ = o.local_size_;
    node_id_ = o.node_id_;
    o.owns_ = false;
  }
  return *this;
}

World::~World() {
  if (!owns_) return;
  if (std::uncaught_exceptions() > 0) {
    // Unwinding: the other ranks may be waiting in a collective this rank will never join, so
    // the final barrier could wait forever. Leave, and make their collectives fail instead.
    owns_ = false;
    if (Runtime *rt = current()) rt->abandon();
    collectives::uninstall().reset();
    return;
  }
  std::error_code ignored;
  finalize(ignored);
}

void World::finalize(std::error_code &ec) noexcept {
  ec.clear();
  if (!owns_) {
    collectives::fail(ec, errc::not_initialized, "World::finalize", "this World is not initialised");
    return;
  }
  owns_ = false;
  const int rc = camure_finalize();
  if (rc != 0) ec = make_error_code(static_cast<errc>(-rc));
}

void World::finalize() {
  std::error_code ec;
  finalize(ec);
  if (ec) raise(ec, "World::finalize");
}

void World::barrier(std::error_code &ec) noexcept {
  const int rc = camure_barrier();
  ec = rc == 0 ? std::error_code{} : make_error_code(static_cast<errc>(-rc));
}

void World::barrier() {
  std::error_code ec;
  barrier(ec);
  if (ec) raise(ec, "World::barrier");
}

void World::bcast(std::span<std::byte> data, int root, std::error_code &ec) noexcept {
  const int rc = camure_bcast(data.data(), data.size(), root);
  ec = rc == 0 ? std::error_code{} : make_error_code(static_cast<errc>(-rc));
}

void World::bcast(std::span<std::byte> data, int root) {
  std::error_code ec;
  bcast(data, root, ec);
  if (ec) raise(ec, "World::bcast");
}

void World::publish(std::string_view topic, std::span<const std::byte> data, bool to_descendants,
                    std::error_code &ec) noexcept {
  ec.clear();
  collectives::clear_last_error();
  Runtime *rt = need("World::publish", ec);
  if (rt == nullptr) return;
  std::string detail;
  ec = rt->topics().publish(topic, data, to_descendants, detail);
  if (ec) collectives::fail(ec, ec, "World::publish", detail);
}

void World::publish(std::string_view topic, std::span<const std::byte> data, bool to_descendants) {
  std::error_code ec;
  publish(topic, data, to_descendants, ec);
  if (ec) raise(ec, "World::publish");
}

Subscription World::subscribe(std::string_view topic, bool with_descendants, TopicCallback callback,
                              std::error_code &ec) noexcept {
  ec.clear();
  collectives::clear_last_error();
  Runtime *rt = need("World::subscribe", ec);
  if (rt == nullptr) return {};
  std::string detail;
  auto state = rt->topics().subscribe(topic, with_descendants, std::move(callback), ec, detail);
  if (ec) {
    collectives::fail(ec, ec, "World::subscribe", detail);
    return {};
  }
  return Subscription(std::move(state));
}

Subscription World::subscribe(std::string_view topic, bool with_descendants, TopicCallback callback) {
  if (!callback) throw error(errc::invalid_argument, "World::subscribe: empty callback");
  std::error_code ec;
  auto s = subscribe(topic, with_descendants, std::move(callback), ec);
  if (ec) raise(ec, "World::subscribe");
  return s;
}

Subscription World::subscribe(std::string_view topic, bool with_descendants, std::error_code &ec) noexcept {
  return subscribe(topic, with_descendants, TopicCallback{}, ec);
}

Subscription World::subscribe(std::string_view topic, bool with_descendants) {
  std::error_code ec;
  auto s = subscribe(topic, with_descendants, ec);
  if (ec) raise(ec, "World::subscribe");
  return s;
}

double World::wtime() noexcept { return collectives::monotonic_seconds(); }

void World::abort(int exit_code) noexcept { camure_abort(exit_code); __builtin_unreachable(); }

} // namespace camure
