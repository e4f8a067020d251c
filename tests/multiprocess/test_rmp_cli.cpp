// camure-shm CLI: list shows live participants, clean removes only stale segments, bad input exits 2.
#include "support/child.hpp"

#include <camure/rmp.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <sys/wait.h>

using namespace camure;
using namespace camure::rmp;
using namespace std::chrono_literals;

namespace {

struct CliRun {
  int status = -1;
  std::string out;
};

CliRun run(const std::string &args) {
  CliRun r;
  const std::string cmd = std::string(CAMURE_SHM_TOOL) + " " + args + " 2>&1";
  FILE *p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string line_of(const std::string &out, const std::string &name) {
  const auto at = out.find(name + " ");
  if (at == std::string::npos) return {};
  return out.substr(at, out.find('\n', at) - at);
}

} // namespace

TEST(RmpCli, ListShowsLiveWritersAndReaders) {
  const std::string name = test::unique_name("cli");
  Ring ring = Ring::create(name, {});
  Writer w = Writer::create(ring);
  Reader r1 = Reader::create(ring);
  Reader r2 = Reader::create(ring);
  w.write(std::as_bytes(std::span("abc", 3)));
  const CliRun l = run("list");
  EXPECT_EQ(l.status, 0);
  const std::string line = line_of(l.out, name);
  ASSERT_FALSE(line.empty()) << l.out;
  char kind[16], state[16], alive[8];
  unsigned long long size = 0, head = 0, repairs = 0;
  int creator = 0;
  unsigned users = 0, writers = 0, readers = 0;
  ASSERT_EQ(std::sscanf(line.c_str() + name.size(), " %15s %llu %15s %d %7s %u %u %u %llu %llu", kind, &size, state,
                        &creator, alive, &users, &writers, &readers, &head, &repairs),
            10)
      << line;
  EXPECT_STREQ(kind, "rmp");
  EXPECT_STREQ(state, "ready");
  EXPECT_EQ(creator, ::getpid());
  EXPECT_STREQ(alive, "yes");
  EXPECT_EQ(writers, 1u);
  EXPECT_EQ(readers, 2u);
  EXPECT_EQ(head, 1u);
  Ring::remove(name);
}

TEST(RmpCli, CleanRemovesOnlyStaleSegments) {
  const std::string scope = test::unique_name("cliclean") + "-";
  const std::string live = scope + "live";
  const std::string dead = scope + "dead";
  Ring keep = Ring::create(live, {});
  test::Child creator([&] {
    Ring r = Ring::create(dead, {});
    return r.valid() ? 0 : 1;
  });
  ASSERT_EQ(creator.exit_code(), 0);
  // Scoped to this test's names: never touches segments of tests running in parallel.
  const CliRun dry = run("clean --dry-run " + scope);
  EXPECT_EQ(dry.status, 0);
  EXPECT_NE(dry.out.find(dead), std::string::npos) << dry.out;
  EXPECT_EQ(dry.out.find(live), std::string::npos) << dry.out;
  const CliRun c = run("clean " + scope);
  EXPECT_EQ(c.status, 0);
  EXPECT_EQ(Ring::remove(dead), errc::not_found);
  EXPECT_FALSE(Ring::remove(live)); // still there: its creator (this process) is alive
}

TEST(RmpCli, RmAndBadInput) {
  const std::string name = test::unique_name("cli-rm");
  { Ring r = Ring::create(name, {}); }
  EXPECT_EQ(run("rm camure." + name).status, 0);
  EXPECT_EQ(Ring::remove(name), errc::not_found);
  EXPECT_EQ(run("rm " + name).status, 1); // gone: an operation failed
  EXPECT_EQ(run("").status, 2);
  EXPECT_EQ(run("frobnicate").status, 2);
  EXPECT_EQ(run("rm").status, 2);
  EXPECT_EQ(run("rm ../etc/passwd").status, 2);
  EXPECT_EQ(run("list extra").status, 2);
  EXPECT_EQ(run("clean --force").status, 2);
  EXPECT_EQ(run("clean a/b").status, 2);
  const CliRun h = run("--help");
  EXPECT_EQ(h.status, 0);
  EXPECT_NE(h.out.find("usage: camure-shm"), std::string::npos);
}
