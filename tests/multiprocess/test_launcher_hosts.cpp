// camurerun with host lists: local hosts without ssh, the KV store, and the remote path
// (camure-proxy started by a launch agent) including every failure mode, without a cluster:
// the fake agent runs the proxy here, as ssh would on the remote host.
#include "support/probe/camurerun_process.hpp"

#include <gtest/gtest.h>

#include <climits>
#include <csignal>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using camure::test::CamurerunProcess;
using camure::test::lines_of;
using namespace std::chrono_literals;

namespace {

/// A scratch directory with launch agents: `agent` behaves like ssh (runs its command line
/// through a shell, records the proxy's pid), `fail` refuses, `hang` never answers.
class Agents {
public:
  Agents() {
    char tmpl[] = "/tmp/camure-hosts-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    write("agent", "#!/bin/sh\nhost=$1; shift\nexport SSH_CONNECTION='127.0.0.1 40000 127.0.0.1 22'\n"
                   "echo $$ > \"" + dir_ + "/proxy.$host.pid\"\nexec sh -c \"exec $*\"\n");
    write("fail", "#!/bin/sh\necho \"ssh: connect to host $1 port 22: Connection refused\" >&2\nexit 255\n");
    write("hang", "#!/bin/sh\nexec sleep 600\n");
    write("logargs", "#!/bin/sh\nprintf '%s\\n' \"$*\" >> \"" + dir_ + "/args.log\"\nexec \"" + dir_ + "/agent\" \"$@\"\n");
    write("failC", "#!/bin/sh\nif [ \"$1\" = fakeC ]; then echo \"ssh: connect to host $1 port 22: Connection refused\" >&2; "
                   "exit 255; fi\nexec \"" + dir_ + "/agent\" \"$@\"\n");
  }
  ~Agents() {
    for (const char *f : {"agent", "fail", "hang", "hosts", "failC", "logargs", "args.log"})
      ::unlink((dir_ + "/" + f).c_str());
    for (const char *h : {"fakeA", "fakeB", "fakeC"}) ::unlink((dir_ + "/proxy." + h + ".pid").c_str());
    ::rmdir(dir_.c_str());
  }
  std::string path(const std::string &name) const { return dir_ + "/" + name; }
  void write(const std::string &name, const std::string &text) const {
    std::ofstream(path(name)) << text;
    ::chmod(path(name).c_str(), 0755);
  }
  pid_t proxy_pid(const std::string &host) const {
    std::ifstream in(path("proxy." + host + ".pid"));
    pid_t p = -1;
    in >> p;
    return p;
  }

private:
  std::string dir_;
};

/// Options for the remote path through agent `name`.
std::vector<std::string> remote(const Agents &a, const std::string &name, std::vector<std::string> rest) {
  std::vector<std::string> v = {"--iface", "127.0.0.1", "--launch-agent", a.path(name), "--proxy", PROXY_PATH};
  v.insert(v.end(), rest.begin(), rest.end());
  return v;
}

std::map<std::string, std::string> fields(const std::string &line) {
  std::map<std::string, std::string> m;
  std::istringstream in(line);
  std::string w;
  while (in >> w)
    if (auto eq = w.find('='); eq != std::string::npos) m[w.substr(0, eq)] = w.substr(eq + 1);
  return m;
}

std::string only_line(const std::string &err) {
  auto ls = lines_of(err);
  EXPECT_EQ(ls.size(), 1u) << err;
  return ls.empty() ? "" : ls[0];
}

} // namespace

TEST(LauncherHosts, KvStoreInLocalMode) {
  CamurerunProcess p({"-n", "4", PROBE_PATH, "kv"});
  ASSERT_EQ(p.finish(), 0) << p.out() << p.err();
  EXPECT_EQ(p.count_lines("kv "), 4u);
  for (const auto &l : lines_of(p.out())) EXPECT_NE(l.find(" ok 64 0 "), std::string::npos) << l;
}

TEST(LauncherHosts, LocalhostListRunsWithoutTheAgent) {
  // The agent would fail: localhost must not use it.
  CamurerunProcess p({"--launch-agent", "/bin/false", "-H", "localhost:4", PROBE_PATH, "env"});
  ASSERT_EQ(p.finish(), 0) << p.err();
  const auto ls = lines_of(p.out());
  ASSERT_EQ(ls.size(), 4u);
  for (const auto &l : ls) {
    auto f = fields(l);
    EXPECT_EQ(f["CAMURE_SIZE"], "4");
    EXPECT_EQ(f["CAMURE_LOCAL_SIZE"], "4");
    EXPECT_EQ(f["CAMURE_NUM_NODES"], "1");
  }
}

TEST(LauncherHosts, NoCountMeansTotalSlots) {
  CamurerunProcess p({"-H", "localhost:3", PROBE_PATH, "env"});
  ASSERT_EQ(p.finish(), 0) << p.err();
  EXPECT_EQ(lines_of(p.out()).size(), 3u);
}

TEST(LauncherHosts, RemoteEnvironmentAndKv) {
  Agents a;
  CamurerunProcess p(remote(a, "agent", {"-H", "localhost:2,fakeA:2,fakeB:2", "-x", "PROBE_X=1", PROBE_PATH, "env",
                                         "CAMURE_NODE_ADDR", "CAMURE_MCAST", "PROBE_X"}));
  ASSERT_EQ(p.finish(), 0) << p.err();
  const auto ls = lines_of(p.out());
  ASSERT_EQ(ls.size(), 6u) << p.out();
  std::string mcast;
  for (const auto &l : ls) {
    auto f = fields(l);
    const int r = std::stoi(f["CAMURE_RANK"]);
    EXPECT_EQ(f["CAMURE_SIZE"], "6");
    EXPECT_EQ(f["CAMURE_NODE_ID"], std::to_string(r / 2)) << l;
    EXPECT_EQ(f["CAMURE_LOCAL_RANK"], std::to_string(r % 2)) << l;
    EXPECT_EQ(f["CAMURE_LOCAL_SIZE"], "2");
    EXPECT_EQ(f["CAMURE_NUM_NODES"], "3");
    EXPECT_EQ(f["CAMURE_NODE_ADDR"], "127.0.0.1");
    EXPECT_EQ(f["PROBE_X"], "1") << l;
    EXPECT_EQ(f["CAMURE_MCAST"].rfind("239.77.", 0), 0u) << l;
    if (mcast.empty()) mcast = f["CAMURE_MCAST"];
    EXPECT_EQ(f["CAMURE_MCAST"], mcast); // one group per job
  }
  CamurerunProcess k(remote(a, "agent", {"-H", "localhost:2,fakeA:2,fakeB:2", PROBE_PATH, "kv"}));
  ASSERT_EQ(k.finish(), 0) << k.out() << k.err();
  EXPECT_EQ(k.count_lines("kv "), 6u);
  for (const auto &l : lines_of(k.out())) EXPECT_NE(l.find(" ok 64 "), std::string::npos) << l;
}

TEST(LauncherHosts, SecretsNeverOnTheAgentCommandLine) {
  Agents a;
  CamurerunProcess p(remote(a, "logargs", {"-H", "localhost:1,fakeA:1,fakeB:1", PROBE_PATH, "kv"}));
  ASSERT_EQ(p.finish(), 0) << p.err();
  EXPECT_EQ(p.count_lines("kv "), 3u) << p.out(); // the remote ranks did get the 64-hex session key
  std::ifstream in(a.path("args.log"));
  std::stringstream log;
  log << in.rdbuf();
  // One command line per remote host, each starting the proxy; none carries a key (64 hex digits).
  EXPECT_EQ(lines_of(log.str()).size(), 2u) << log.str();
  EXPECT_NE(log.str().find(PROXY_PATH), std::string::npos) << log.str();
  EXPECT_FALSE(std::regex_search(log.str(), std::regex("[0-9a-fA-F]{32}"))) << log.str();
}

TEST(LauncherHosts, McastAddrSetsTheJobsGroupElseEachJobGetsItsOwn) {
  Agents a;
  const std::vector<std::string> hosts = {"-H", "localhost:1,fakeA:1", PROBE_PATH, "env", "CAMURE_MCAST"};
  auto groups_of = [](const std::string &out) {
    std::vector<std::string> g;
    for (const auto &l : lines_of(out)) g.push_back(fields(l)["CAMURE_MCAST"]);
    return g;
  };
  std::vector<std::string> set = {"--mcast-addr", "239.77.201.9:45123"};
  set.insert(set.end(), hosts.begin(), hosts.end());
  CamurerunProcess p(remote(a, "agent", set));
  ASSERT_EQ(p.finish(), 0) << p.err();
  EXPECT_EQ(groups_of(p.out()), (std::vector<std::string>{"239.77.201.9:45123", "239.77.201.9:45123"})) << p.out();

  CamurerunProcess j1(remote(a, "agent", hosts)), j2(remote(a, "agent", hosts));
  ASSERT_EQ(j1.finish(), 0) << j1.err();
  ASSERT_EQ(j2.finish(), 0) << j2.err();
  const auto g1 = groups_of(j1.out()), g2 = groups_of(j2.out());
  ASSERT_EQ(g1.size(), 2u);
  ASSERT_EQ(g2.size(), 2u);
  EXPECT_EQ(g1[0], g1[1]);
  EXPECT_NE(g1[0], g2[0]); // chosen per job (a collision is ~1 in 2^31)
}

TEST(LauncherHosts, RemoteOutputTaggedAndStdinToRemoteRankZero) {
  Agents a;
  CamurerunProcess p(remote(a, "agent", {"--tag-output", "-H", "fakeA:1,localhost:1", PROBE_PATH, "stdin"}));
  const std::string data = "hello over the channel\n";
  p.write_stdin(data);
  p.close_stdin();
  ASSERT_EQ(p.finish(), 0) << p.err();
  bool saw = false;
  for (const auto &l : lines_of(p.out()))
    if (l.rfind("[0] stdin 0 " + std::to_string(data.size()) + " ", 0) == 0) saw = true;
  EXPECT_TRUE(saw) << p.out();
}

TEST(LauncherHosts, PprPerNodeStartsThatManyRanksOnEachHost) {
  {
    CamurerunProcess p({"--map-by", "ppr:3:node", PROBE_PATH, "env"});
    ASSERT_EQ(p.finish(), 0) << p.err();
    EXPECT_EQ(p.count_lines("env "), 3u) << p.out();
    for (const auto &l : lines_of(p.out())) {
      if (l.rfind("env ", 0) == 0) {
        EXPECT_EQ(fields(l)["CAMURE_SIZE"], "3") << l;
      }
    }
  }
  {
    Agents a;
    CamurerunProcess p(remote(a, "agent", {"--map-by", "ppr:2:node", "-H", "localhost:2,fakeA:2", PROBE_PATH, "env"}));
    ASSERT_EQ(p.finish(), 0) << p.err();
    ASSERT_EQ(p.count_lines("env "), 4u) << p.out();
    for (const auto &l : lines_of(p.out())) {
      if (l.rfind("env ", 0) != 0) continue;
      auto f = fields(l);
      EXPECT_EQ(f["CAMURE_LOCAL_SIZE"], "2") << l;
      EXPECT_EQ(f["CAMURE_NODE_ID"], std::to_string(std::stoi(f["CAMURE_RANK"]) / 2)) << l;
    }
  }
  CamurerunProcess bad({"--map-by", "ppr:2:socket", PROBE_PATH, "env"});
  EXPECT_EQ(bad.finish(), 2);
  EXPECT_NE(only_line(bad.err()).find("ppr:N:node"), std::string::npos) << bad.err();
}

TEST(LauncherHosts, ManyMegabytesOfStdinReachARemoteRankIntact) {
  // Through the acknowledgement window: many windows' worth, every byte in order.
  Agents a;
  CamurerunProcess p(remote(a, "agent", {"-H", "fakeA:1", PROBE_PATH, "stdin"}));
  std::string data(6u << 20, '\0');
  unsigned hash = 2166136261u;
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
    hash = (hash ^ static_cast<unsigned char>(data[i])) * 16777619u;
  }
  std::thread writer([&] {
    p.write_stdin(data);
    p.close_stdin();
  });
  const auto rc = p.finish(60s);
  writer.join();
  ASSERT_EQ(rc, 0) << p.err();
  EXPECT_NE(p.out().find("stdin 0 " + std::to_string(data.size()) + " " + std::to_string(hash)), std::string::npos)
      << p.out();
}

TEST(LauncherHosts, StdinForARemoteRankThatDoesNotReadIsBounded) {
  camure::test::become_subreaper();
  Agents a;
  CamurerunProcess p(remote(a, "agent", {"-H", "fakeA:1", PROBE_PATH, "wait"}));
  ASSERT_EQ(p.wait_ready(1).size(), 1u) << p.err();
  // Nothing reads the rank's stdin: camurerun stops taking ours once the proxy's window and
  // the pipes on the way are full, instead of the proxy buffering everything.
  const std::size_t taken = p.write_stdin_until_stalled(64u << 20, 2000ms);
  EXPECT_LT(taken, 8u << 20) << taken;
  p.signal(SIGTERM);
  EXPECT_EQ(p.finish(20s), 143) << p.err();
  EXPECT_TRUE(camure::test::no_descendants_left(15s));
}

TEST(LauncherHosts, RemoteRankKilledEndsJobNamingRankAndHost) {
  camure::test::become_subreaper();
  Agents a;
  CamurerunProcess p(remote(a, "agent", {"-H", "localhost:1,fakeA:2", PROBE_PATH, "raise", "2=9"}));
  EXPECT_EQ(p.finish(), 137);
  const std::string line = only_line(p.err());
  EXPECT_NE(line.find("rank 2 "), std::string::npos) << line;
  EXPECT_NE(line.find("on host fakeA"), std::string::npos) << line;
  EXPECT_NE(line.find("SIGKILL"), std::string::npos) << line;
  EXPECT_TRUE(camure::test::no_descendants_left(15s));
}

TEST(LauncherHosts, RemoteExitCodeAndSignalForwarding) {
  camure::test::become_subreaper();
  Agents a;
  {
    CamurerunProcess p(remote(a, "agent", {"-H", "localhost:1,fakeA:1", PROBE_PATH, "exit", "1=3"}));
    EXPECT_EQ(p.finish(), 3);
    EXPECT_NE(only_line(p.err()).find("rank 1 "), std::string::npos);
  }
  CamurerunProcess p(remote(a, "agent", {"-H", "localhost:1,fakeA:2", PROBE_PATH, "wait"}));
  ASSERT_EQ(p.wait_ready(3).size(), 3u) << p.err();
  p.signal(SIGTERM);
  EXPECT_EQ(p.finish(), 143);
  EXPECT_TRUE(camure::test::no_descendants_left(15s));
}

TEST(LauncherHosts, RefusedAgentIsOneLineNamingTheHost) {
  Agents a;
  CamurerunProcess p(remote(a, "fail", {"-H", "localhost:1,fakeA:1", PROBE_PATH, "wait"}));
  EXPECT_EQ(p.finish(), 1);
  const std::string line = only_line(p.err());
  EXPECT_NE(line.find("host fakeA"), std::string::npos) << line;
  EXPECT_NE(line.find("Connection refused"), std::string::npos) << line;
}

TEST(LauncherHosts, ProgramMissingOnRemoteHost) {
  Agents a;
  CamurerunProcess p(remote(a, "agent", {"-H", "fakeA:2", "/nonexistent/camure-prog"}));
  EXPECT_EQ(p.finish(), 1);
  const std::string line = only_line(p.err());
  EXPECT_NE(line.find("host fakeA"), std::string::npos) << line;
  EXPECT_NE(line.find("/nonexistent/camure-prog"), std::string::npos) << line;
}

TEST(LauncherHosts, SilentHostFailsWithinLaunchTimeout) {
  camure::test::become_subreaper();
  Agents a;
  CamurerunProcess p(remote(a, "hang", {"--launch-timeout", "1", "-H", "localhost:1,fakeA:1", PROBE_PATH, "wait"}));
  EXPECT_EQ(p.finish(20s), 1);
  const std::string line = only_line(p.err());
  EXPECT_NE(line.find("host fakeA"), std::string::npos) << line;
  EXPECT_NE(line.find("--launch-timeout"), std::string::npos) << line;
  EXPECT_TRUE(camure::test::no_descendants_left(15s));
}

TEST(LauncherHosts, KilledProxyIsReportedAndItsRanksDie) {
  camure::test::become_subreaper();
  Agents a;
  CamurerunProcess p(remote(a, "agent", {"-H", "localhost:1,fakeA:2", PROBE_PATH, "wait"}));
  ASSERT_EQ(p.wait_ready(3).size(), 3u) << p.err();
  const pid_t proxy = a.proxy_pid("fakeA");
  ASSERT_GT(proxy, 0);
  ::kill(proxy, SIGKILL);
  EXPECT_EQ(p.finish(20s), 1);
  const std::string line = only_line(p.err());
  EXPECT_NE(line.find("host fakeA"), std::string::npos) << line;
  EXPECT_TRUE(camure::test::no_descendants_left(15s));
}

TEST(LauncherHosts, KilledCamurerunLeavesNothing) {
  camure::test::become_subreaper();
  Agents a;
  CamurerunProcess p(remote(a, "agent", {"-H", "localhost:1,fakeA:2,fakeB:1", PROBE_PATH, "wait"}));
  ASSERT_EQ(p.wait_ready(4).size(), 4u) << p.err();
  p.signal(SIGKILL);
  p.finish();
  EXPECT_TRUE(camure::test::no_descendants_left(20s));
}

TEST(LauncherHosts, BadHostInputIsExitTwo) {
  Agents a;
  a.write("hosts", "fakeA slots=2\nfakeB slots=two\n");
  {
    CamurerunProcess p({"--hostfile", a.path("hosts"), PROBE_PATH, "env"});
    EXPECT_EQ(p.finish(), 2);
    const std::string line = only_line(p.err());
    EXPECT_NE(line.find(a.path("hosts") + ":2:"), std::string::npos) << line;
  }
  {
    CamurerunProcess p({"-H", "localhost:2", "-n", "3", PROBE_PATH, "env"});
    EXPECT_EQ(p.finish(), 2);
    const std::string line = only_line(p.err());
    EXPECT_NE(line.find("3 ranks"), std::string::npos) << line;
    EXPECT_NE(line.find("2 slots"), std::string::npos) << line;
  }
  {
    CamurerunProcess p({"-H", "localhost:2", "-n", "3", "--oversubscribe", PROBE_PATH, "exit", ""});
    EXPECT_EQ(p.finish(), 0) << p.err();
  }
}

TEST(LauncherHosts, TreeLaunchRelaysEverythingThroughProxies) {
  camure::test::become_subreaper();
  Agents a;
  // Fan-out 1: camurerun -> fakeA -> fakeB -> fakeC, each proxy starting the next.
  const std::vector<std::string> tree = {"--launch-fanout", "1", "-H", "localhost:1,fakeA:1,fakeB:1,fakeC:2"};
  auto with = [&](std::vector<std::string> rest) {
    std::vector<std::string> v = tree;
    v.insert(v.end(), rest.begin(), rest.end());
    return remote(a, "agent", v);
  };
  {
    CamurerunProcess p(with({PROBE_PATH, "kv"}));
    ASSERT_EQ(p.finish(), 0) << p.out() << p.err();
    EXPECT_EQ(p.count_lines("kv "), 5u);
    for (const auto &l : lines_of(p.out())) EXPECT_NE(l.find(" ok 64 "), std::string::npos) << l;
  }
  {
    CamurerunProcess p(with({"--stdin", "4", PROBE_PATH, "stdin"}));
    p.write_stdin("deep\n");
    p.close_stdin();
    ASSERT_EQ(p.finish(), 0) << p.err();
    EXPECT_EQ(p.count_lines("stdin 4 5 "), 1u) << p.out();
  }
  {
    CamurerunProcess p(with({PROBE_PATH, "raise", "4=9"}));
    EXPECT_EQ(p.finish(), 137);
    const std::string line = only_line(p.err());
    EXPECT_NE(line.find("rank 4 "), std::string::npos) << line;
    EXPECT_NE(line.find("on host fakeC"), std::string::npos) << line;
  }
  {
    // A middle proxy dies: one line naming it, every rank below it goes too.
    CamurerunProcess p(with({PROBE_PATH, "wait"}));
    ASSERT_EQ(p.wait_ready(5).size(), 5u) << p.err();
    ::kill(a.proxy_pid("fakeA"), SIGKILL);
    EXPECT_EQ(p.finish(20s), 1);
    const std::string line = only_line(p.err());
    EXPECT_NE(line.find("host fakeA"), std::string::npos) << line;
  }
  EXPECT_TRUE(camure::test::no_descendants_left(20s));
}

TEST(LauncherHosts, TreeLaunchReportsAFailedDeepHost) {
  camure::test::become_subreaper();
  Agents a;
  CamurerunProcess p(remote(a, "failC", {"--launch-fanout", "1", "-H", "localhost:1,fakeA:1,fakeB:1,fakeC:1", PROBE_PATH, "wait"}));
  EXPECT_EQ(p.finish(20s), 1);
  const std::string line = only_line(p.err());
  EXPECT_NE(line.find("host fakeC"), std::string::npos) << line;
  EXPECT_NE(line.find("Connection refused"), std::string::npos) << line;
  EXPECT_TRUE(camure::test::no_descendants_left(20s));
}

TEST(LauncherHosts, RemoteReportBindingsComeFromTheProxy) {
  Agents a;
  CamurerunProcess p(remote(a, "agent", {"--report-bindings", "--bind-to", "none", "-H", "localhost:1,fakeA:2",
                                         PROBE_PATH, "exit", ""}));
  ASSERT_EQ(p.finish(), 0) << p.err();
  int remote_lines = 0;
  for (const auto &l : lines_of(p.err())) {
    EXPECT_EQ(l.rfind("camurerun: rank ", 0), 0u) << l;
    if (l.find(" on host fakeA not bound (cpus ") != std::string::npos) ++remote_lines;
  }
  EXPECT_EQ(remote_lines, 2) << p.err();
}
