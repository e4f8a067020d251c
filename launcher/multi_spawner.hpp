// MultiSpawner: one Spawner per host behind the single Spawner interface Job drives.
#pragma once

#include "launcher/spawner.hpp"

#include <memory>
#include <vector>

namespace camure::launcher {

/// Owns the per-host spawners (a LocalSpawner for this host, RemoteSpawners for the others),
/// launches them all (hosts are contacted in parallel: remote launches only start the agents)
/// and routes per-rank calls to the host that has the rank.
class MultiSpawner final : public Spawner {
public:
  explicit MultiSpawner(int nranks) : owner_(static_cast<std::size_t>(nranks), nullptr) {}

  /// Adds a host's spawner with its part of the job (its ranks).
  void add(std::unique_ptr<Spawner> spawner, JobSpec part);

  std::error_code launch(const JobSpec &job, std::string &why) override;
  void signal_all(int sig) override;
  int running() const override;
  void reap() override;
  int stdin_sink(int rank) override;
  void close_stdin(int rank) override;
  void send_control(int rank, std::string_view line) override;
  bool is_local(int rank) const override;

private:
  Spawner *owner(int rank) const;
  struct Part {
    std::unique_ptr<Spawner> spawner;
    JobSpec spec;
  };
  std::vector<Part> parts_;
  std::vector<Spawner *> owner_;
};

} // namespace camure::launcher
