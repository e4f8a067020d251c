// Fake multi-host jobs on loopback: N "hosts" x M ranks forked by hand with the multi-host
// environment, leaders over a loopback multicast session, and an in-test key/value server
// speaking the control-channel protocol on SOCK_SEQPACKET socketpairs.
#include <camure/camure.h>

#include "support/child.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <poll.h>
#include <string>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// Shared between the test and its ranks (MAP_SHARED before fork).
struct Shared {
  std::atomic<int> counter[64];
  std::atomic<int> failures;
};

struct FakeJob {
  int nodes = 2;
  int per_node = 2;
};

// Serves put/get for every rank until all children exit or the deadline; returns exit codes.
class KvServer {
public:
  void add(int fd) { fds_.push_back(fd); }
  void step(int timeout_ms) {
    std::vector<pollfd> pf;
    for (int fd : fds_) pf.push_back({fd, POLLIN, 0});
    ::poll(pf.data(), pf.size(), timeout_ms);
    for (const auto &p : pf) {
      if (!(p.revents & POLLIN)) continue;
      char buf[8192];
      const ssize_t n = ::recv(p.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) continue;
      std::string line(buf, static_cast<std::size_t>(n));
      while (!line.empty() && line.back() == '\n') line.pop_back();
      handle(p.fd, line);
    }
    const auto now = clock_type::now();
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (auto f = kv_.find(it->key); f != kv_.end()) {
        reply(it->fd, "val " + it->key + " " + f->second);
        it = pending_.erase(it);
      } else if (now >= it->deadline) {
        reply(it->fd, "err " + it->key + " timeout");
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }

private:
  struct Pending {
    int fd;
    std::string key;
    clock_type::time_point deadline;
  };
  static void reply(int fd, const std::string &s) {
    const std::string l = s + "\n";
    (void)::send(fd, l.data(), l.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  void handle(int fd, const std::string &line) {
    std::vector<std::string> w;
    std::size_t pos = 0;
    while (pos < line.size()) {
      std::size_t sp = line.find(' ', pos);
      if (sp == std::string::npos) sp = line.size();
      w.push_back(line.substr(pos, sp - pos));
      pos = sp + 1;
    }
    if (w.size() == 3 && w[0] == "put") {
      auto [it, inserted] = kv_.emplace(w[1], w[2]);
      reply(fd, inserted || it->second == w[2] ? "ok " + w[1] : "err " + w[1] + " exists");
    } else if (w.size() == 3 && w[0] == "get") {
      pending_.push_back({fd, w[1], clock_type::now() + std::chrono::milliseconds(std::stoll(w[2]))});
    }
  }
  std::vector<int> fds_;
  std::map<std::string, std::string> kv_;
  std::vector<Pending> pending_;
};

std::string session_key_hex() {
  std::string h;
  for (int i = 0; i < 32; ++i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", (i * 37 + ::getpid()) & 0xff);
    h += b;
  }
  return h;
}

// Runs body(rank) in nodes x per_node forked ranks; returns each rank's exit code (-1: hung).
std::vector<int> run_job(const FakeJob &job, const std::function<int(int rank)> &body,
                         std::chrono::seconds timeout = 120s) {
  static int counter = 0;
  ++counter;
  const int size = job.nodes * job.per_node;
  const std::string job_id = "mn" + std::to_string(::getpid()) + "x" + std::to_string(counter);
  const int port = 20000 + static_cast<int>((static_cast<unsigned>(::getpid()) * 7u + static_cast<unsigned>(counter) * 131u) % 30000u);
  const std::string mcast = "239.77." + std::to_string(::getpid() % 250) + "." + std::to_string(counter % 250 + 1) +
                            ":" + std::to_string(port);
  KvServer kv;
  std::vector<int> parent_fds;
  std::vector<int> child_fds;
  for (int r = 0; r < size; ++r) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return {};
    parent_fds.push_back(sv[0]);
    child_fds.push_back(sv[1]);
  }
  // The key is fetched from the store, as from camurerun.
  std::vector<std::unique_ptr<camure::test::Child>> kids;
  for (int r = 0; r < size; ++r) {
    const int node = r / job.per_node, local = r % job.per_node;
    kids.push_back(std::make_unique<camure::test::Child>([&, r, node, local] {
      const int fd = ::dup(child_fds[static_cast<std::size_t>(r)]); // without CLOEXEC
      auto set = [](const char *k, const std::string &v) { ::setenv(k, v.c_str(), 1); };
      set("CAMURE_RANK", std::to_string(r));
      set("CAMURE_SIZE", std::to_string(size));
      set("CAMURE_LOCAL_RANK", std::to_string(local));
      set("CAMURE_LOCAL_SIZE", std::to_string(job.per_node));
      set("CAMURE_NODE_ID", std::to_string(node));
      set("CAMURE_NUM_NODES", std::to_string(job.nodes));
      set("CAMURE_JOB_ID", job_id);
      set("CAMURE_CONTROL_FD", std::to_string(fd));
      set("CAMURE_NODE_ADDR", "127.0.0.1");
      set("CAMURE_MCAST", mcast);
      set("CAMURE_MCAST_TTL", "0");
      return body(r);
    }));
  }
  for (int fd : child_fds) ::close(fd);
  {
    // Key first, as camurerun has it before any rank starts.
    KvServer &k = kv;
    for (int fd : parent_fds) k.add(fd);
  }
  // Pre-store the session key by a put from nobody: emulate with a direct insert via a pair.
  int ksv[2];
  ::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ksv);
  kv.add(ksv[0]);
  const std::string put = "put camure.session_key " + session_key_hex() + "\n";
  (void)::send(ksv[1], put.data(), put.size(), 0);

  std::vector<int> codes(static_cast<std::size_t>(size), -1);
  const auto deadline = clock_type::now() + timeout;
  int left = size;
  while (left > 0 && clock_type::now() < deadline) {
    kv.step(10);
    for (int r = 0; r < size; ++r) {
      if (codes[static_cast<std::size_t>(r)] != -1) continue;
      if (auto c = kids[static_cast<std::size_t>(r)]->exit_code(0ms)) {
        codes[static_cast<std::size_t>(r)] = *c;
        --left;
      }
    }
  }
  kids.clear(); // kills the hung ones
  for (int fd : parent_fds) ::close(fd);
  ::close(ksv[0]);
  ::close(ksv[1]);
  return codes;
}

Shared *shared() {
  static Shared *s = [] {
    void *p = ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return static_cast<Shared *>(p);
  }();
  return s;
}

void reset_shared() {
  for (auto &c : shared()->counter) c.store(0);
  shared()->failures.store(0);
}

int fail(const char *what, int rc) {
  std::fprintf(stderr, "rank %d: %s: %s (%s)\n", camure_initialized() ? camure_rank() : -1, what,
               camure_strerror(rc), camure_last_error_detail());
  return 10;
}

void expect_all_zero(const std::vector<int> &codes) {
  ASSERT_FALSE(codes.empty());
  for (std::size_t r = 0; r < codes.size(); ++r) EXPECT_EQ(codes[r], 0) << "rank " << r;
}

std::uint8_t pattern(std::size_t i, int root, std::size_t size) {
  return static_cast<std::uint8_t>((i * 31 + static_cast<std::size_t>(root) * 7 + size + (i >> 12)) & 0xff);
}

int barrier_rounds(int rounds) {
  if (int rc = camure_init(nullptr, nullptr)) return fail("init", rc);
  const int size = camure_size();
  for (int i = 0; i < rounds; ++i) {
    shared()->counter[i % 64].fetch_add(1);
    if (int rc = camure_barrier()) return fail("barrier", rc);
    // Everybody incremented this round's counter before anybody got past the barrier.
    if (shared()->counter[i % 64].load() < size * (i / 64 + 1)) return 20;
  }
  if (int rc = camure_finalize()) return fail("finalize", rc);
  return 0;
}

int bcast_every_root(const std::vector<std::size_t> &sizes) {
  if (int rc = camure_init(nullptr, nullptr)) return fail("init", rc);
  const int size = camure_size(), me = camure_rank();
  std::vector<std::uint8_t> buf;
  for (std::size_t bytes : sizes) {
    for (int root = 0; root < size; ++root) {
      buf.assign(bytes, 0);
      if (me == root)
        for (std::size_t i = 0; i < bytes; ++i) buf[i] = pattern(i, root, bytes);
      if (int rc = camure_bcast(buf.data(), bytes, root)) return fail("bcast", rc);
      for (std::size_t i = 0; i < bytes; ++i) {
        if (buf[i] != pattern(i, root, bytes)) {
          std::fprintf(stderr, "rank %d: bcast of %zu bytes from %d: byte %zu is %d, expected %d\n", me, bytes, root,
                       i, buf[i], pattern(i, root, bytes));
          return 21;
        }
      }
    }
  }
  if (int rc = camure_finalize()) return fail("finalize", rc);
  return 0;
}

// Every rank subscribes, then publishes `count` messages (its rank, a sequence number);
// every rank must get exactly count x size messages, in order per publisher, none twice,
// exactly as on one host. A second topic nobody subscribes to must not leak in.
int pubsub_counts_and_order(int count) {
  if (int rc = camure_init(nullptr, nullptr)) return fail("init", rc);
  const int size = camure_size(), me = camure_rank();
  camure_subscription *sub = nullptr;
  if (int rc = camure_subscribe("/mn/t", 0, &sub)) return fail("subscribe", rc);
  if (int rc = camure_barrier()) return fail("barrier", rc);
  for (int i = 0; i < count; ++i) {
    const int msg[2] = {me, i};
    if (int rc = camure_publish("/mn/t", msg, sizeof msg, 0)) return fail("publish", rc);
    if (int rc = camure_publish("/mn/other", msg, sizeof msg, 0)) return fail("publish", rc);
  }
  std::vector<int> next(static_cast<std::size_t>(size), 0);
  for (int got = 0; got < count * size; ++got) {
    int msg[2] = {-1, -1};
    std::size_t bytes = 0;
    char topic[32];
    const int rc = camure_receive(sub, msg, sizeof msg, &bytes, topic, sizeof topic, 60.0);
    if (rc != 0) return fail("receive", rc);
    if (bytes != sizeof msg || std::strcmp(topic, "/mn/t") != 0 || msg[0] < 0 || msg[0] >= size) return 40;
    if (msg[1] != next[static_cast<std::size_t>(msg[0])]++) {
      std::fprintf(stderr, "rank %d: from %d got #%d, expected #%d\n", me, msg[0], msg[1],
                   next[static_cast<std::size_t>(msg[0])] - 1);
      return 41;
    }
  }
  if (int rc = camure_barrier()) return fail("barrier", rc);
  if (int rc = camure_unsubscribe(sub)) return fail("unsubscribe", rc);
  if (int rc = camure_finalize()) return fail("finalize", rc);
  return 0;
}

TEST(RuntimeMultinode, PubSubCountsAndOrderTwoHostsTwoRanks) {
  expect_all_zero(run_job({2, 2}, [](int) { return pubsub_counts_and_order(200); }));
}

TEST(RuntimeMultinode, PubSubCountsAndOrderThreeOneRankHosts) {
  expect_all_zero(run_job({3, 1}, [](int) { return pubsub_counts_and_order(200); }));
}

TEST(RuntimeMultinode, BarrierOrderingTwoHostsTwoRanks) {
  reset_shared();
  expect_all_zero(run_job({2, 2}, [](int) { return barrier_rounds(200); }));
}

TEST(RuntimeMultinode, BarrierOrderingFourHostsOneAndTwoRanks) {
  reset_shared();
  expect_all_zero(run_job({4, 1}, [](int) { return barrier_rounds(100); }));
  reset_shared();
  expect_all_zero(run_job({3, 2}, [](int) { return barrier_rounds(100); }));
}

TEST(RuntimeMultinode, BcastEveryRootSmallAndOneMiB) {
  expect_all_zero(run_job({2, 2}, [](int) { return bcast_every_root({0, 1, 4097, 1 << 20}); }));
}

TEST(RuntimeMultinode, BcastEveryRootOneRankHosts) {
  expect_all_zero(run_job({3, 1}, [](int) { return bcast_every_root({0, 1, 1 << 20}); }));
}

TEST(RuntimeMultinode, BcastEveryRoot64MiB) {
  expect_all_zero(run_job({2, 2}, [](int) { return bcast_every_root({std::size_t{64} << 20}); }, 280s));
}

TEST(RuntimeMultinode, MismatchedBcastSizeIsAnErrorNotAHang) {
  const auto codes = run_job({2, 1}, [](int) {
    if (int rc = camure_init(nullptr, nullptr)) return fail("init", rc);
    std::vector<std::uint8_t> buf(camure_rank() == 0 ? 100 : 200);
    const int rc = camure_bcast(buf.data(), buf.size(), 0);
    if (camure_rank() == 0) {
      // The root's part succeeds; it stays until the other host has failed (its barrier then
      // fails with the lost peer instead of hanging).
      if (rc != 0) return fail("root bcast", rc);
      return camure_barrier() != 0 ? 0 : 32;
    }
    if (rc != CAMURE_ERR_INVALID_ARGUMENT) return fail("mismatched bcast", rc);
    return 0;
  }, 60s);
  ASSERT_EQ(codes.size(), 2u);
  EXPECT_EQ(codes[0], 0);
  EXPECT_EQ(codes[1], 0); // the receiving host sees the root's size differ
}

TEST(RuntimeMultinode, LostHostFailsTheBarrierInsteadOfHanging) {
  const auto codes = run_job({2, 2}, [](int rank) {
    if (int rc = camure_init(nullptr, nullptr)) return fail("init", rc);
    if (rank == 2) ::_exit(0); // host 1's leader vanishes without finalize
    const int rc = camure_barrier();
    return rc != 0 ? 0 : 31;
  }, 60s);
  ASSERT_EQ(codes.size(), 4u);
  for (int r : {0, 1, 3}) EXPECT_EQ(codes[static_cast<std::size_t>(r)], 0) << "rank " << r;
}

} // namespace

namespace {

TEST(RuntimeMultinode, LostCoordinatorHostFailsBcastInsteadOfHanging) {
  const auto codes = run_job({2, 2}, [](int rank) {
    if (int rc = camure_init(nullptr, nullptr)) return fail("init", rc);
    if (rank == 0) ::_exit(0); // host 0's leader (the session's coordinator) vanishes
    std::vector<std::uint8_t> buf(1 << 20);
    // The root (rank 1) may finish its part (its chunks fit the ring); its next collective
    // must fail, since its host's leader is gone.
    int rc = camure_bcast(buf.data(), buf.size(), 1);
    if (rc == 0 && rank == 1) rc = camure_barrier();
    return rc != 0 ? 0 : 33;
  }, 60s);
  ASSERT_EQ(codes.size(), 4u);
  for (int r : {1, 2, 3}) EXPECT_EQ(codes[static_cast<std::size_t>(r)], 0) << "rank " << r;
}

} // namespace
