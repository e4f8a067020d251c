// MultiSpawner: routing of per-rank calls to the host spawner that owns the rank.
#include "launcher/multi_spawner.hpp"

namespace camure::launcher {

void MultiSpawner::add(std::unique_ptr<Spawner> spawner, JobSpec part) {
  for (const auto &r : part.ranks)
    if (r.rank >= 0 && static_cast<std::size_t>(r.rank) < owner_.size()) owner_[static_cast<std::size_t>(r.rank)] = spawner.get();
  parts_.push_back(Part{std::move(spawner), std::move(part)});
}

Spawner *MultiSpawner::owner(int rank) const {
  if (rank < 0 || static_cast<std::size_t>(rank) >= owner_.size()) return nullptr;
  return owner_[static_cast<std::size_t>(rank)];
}

std::error_code MultiSpawner::launch(const JobSpec &, std::string &why) {
  // Remote hosts first: their agents connect while we fork the local ranks.
  for (int pass = 0; pass < 2; ++pass) {
    for (auto &p : parts_) {
      if (p.spawner->is_local(p.spec.ranks.empty() ? -1 : p.spec.ranks.front().rank) != (pass == 1)) continue;
      if (auto ec = p.spawner->launch(p.spec, why)) return ec;
    }
  }
  return {};
}

void MultiSpawner::signal_all(int sig) {
  for (auto &p : parts_) p.spawner->signal_all(sig);
}

int MultiSpawner::running() const {
  int n = 0;
  for (const auto &p : parts_) n += p.spawner->running();
  return n;
}

void MultiSpawner::reap() {
  for (auto &p : parts_) p.spawner->reap();
}

int MultiSpawner::stdin_sink(int rank) {
  Spawner *s = owner(rank);
  return s ? s->stdin_sink(rank) : -1;
}

void MultiSpawner::close_stdin(int rank) {
  if (Spawner *s = owner(rank)) s->close_stdin(rank);
}

void MultiSpawner::send_control(int rank, std::string_view line) {
  if (Spawner *s = owner(rank)) s->send_control(rank, line);
}

bool MultiSpawner::is_local(int rank) const {
  Spawner *s = owner(rank);
  return s && s->is_local(rank);
}

} // namespace camure::launcher
