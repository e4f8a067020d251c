// launcher_probe: a small rank program the launcher tests start under camurerun.
// Usage: launcher_probe MODE [args]; every mode reads its rank from CAMURE_RANK.
//   env [VAR...]          print the contract variables (and VARs) on one line
//   args [...]            print argv
//   exit R=C[,R=C]        rank R exits with code C, the others exit 0
//   fail-then-wait R=C    rank R exits with code C, the others print ready and wait forever
//   raise R=SIG           rank R raises SIG, the others wait forever
//   wait [ignore-term|ignore-int-term]  print "ready <rank> <pid>" and wait forever
//   abort R CODE          rank R writes "abort CODE" on the control fd and waits; others wait
//   segment               create /dev/shm/camure-<JOB_ID>-probe<rank>, print ready, wait
//   stdin                 read stdin to EOF, print "stdin <rank> <bytes> <fnv1a>"
//   spam LINES LEN        write LINES lines of LEN payload bytes, each in several small writes
//   affinity              print "affinity <rank> <cpulist>"
//   sigstate              print "sigstate <rank> ign=<hex> blk=<hex> cgt=<hex>" (/proc/self/status)
//   pwd                   print "pwd <rank> <cwd>"
//   kv                    put probe.<rank>=v<rank>, get every rank's key and the session key,
//                         check a conflicting put; print "kv <rank> ok <keylen> <node> <addr>"
//                         or "kv <rank> FAIL <why>" (exit 1)
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <string>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

int rank() {
  const char *r = std::getenv("CAMURE_RANK");
  return r ? std::atoi(r) : -1;
}

void out(const std::string &s) {
  std::string line = s + "\n";
  const char *p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(1, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) std::_Exit(99);
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

[[noreturn]] void wait_forever() {
  for (;;) ::pause();
}

void ready() { out("ready " + std::to_string(rank()) + " " + std::to_string(::getpid())); }

/// Value for this rank in "R=V,R=V", or nullopt-ish -1.
long lookup(const char *spec) {
  std::string s = spec;
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t comma = s.find(',', pos);
    std::string item = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    auto eq = item.find('=');
    if (eq != std::string::npos && std::atoi(item.substr(0, eq).c_str()) == rank())
      return std::atol(item.substr(eq + 1).c_str());
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return -1;
}

const char *getenv_or(const char *name, const char *dflt) {
  const char *v = std::getenv(name);
  return v ? v : dflt;
}

int mode_sigstate() {
  std::string line = "sigstate " + std::to_string(rank());
  FILE *f = std::fopen("/proc/self/status", "r");
  if (!f) return 1;
  char buf[256];
  while (std::fgets(buf, sizeof buf, f)) {
    for (const char *key : {"SigIgn:", "SigBlk:", "SigCgt:"}) {
      if (std::strncmp(buf, key, std::strlen(key)) != 0) continue;
      const char *v = buf + std::strlen(key);
      while (*v == ' ' || *v == '\t') ++v;
      std::string val(v);
      while (!val.empty() && (val.back() == '\n' || val.back() == ' ')) val.pop_back();
      std::string name(key + 3, 3);
      for (auto &c : name) c = static_cast<char>(c | 0x20); // "ign", "blk", "cgt"
      line += " " + name + "=" + val;
    }
  }
  std::fclose(f);
  out(line);
  return 0;
}

int mode_env(int argc, char **argv) {
  std::string line = "env " + std::to_string(rank());
  for (const char *n : {"CAMURE_RANK", "CAMURE_SIZE", "CAMURE_LOCAL_RANK", "CAMURE_LOCAL_SIZE", "CAMURE_NODE_ID",
                        "CAMURE_NUM_NODES", "CAMURE_JOB_ID", "CAMURE_CONTROL_FD"})
    line += std::string(" ") + n + "=" + getenv_or(n, "<unset>");
  // The control fd must be an open socket inherited from camurerun.
  const int fd = std::atoi(getenv_or("CAMURE_CONTROL_FD", "-1"));
  struct stat st {};
  const bool sock = fd >= 0 && ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
  line += std::string(" control_socket=") + (sock ? "yes" : "no");
  // Only 0, 1, 2 and the control fd may be open.
  int extra = 0;
  for (int f = 3; f < 1024; ++f)
    if (f != fd && ::fcntl(f, F_GETFD) >= 0) ++extra;
  line += " extra_fds=" + std::to_string(extra);
  rlimit nofile{};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  line += " nofile=" + std::to_string(nofile.rlim_cur);
  for (int i = 2; i < argc; ++i) line += std::string(" ") + argv[i] + "=" + getenv_or(argv[i], "<unset>");
  out(line);
  return 0;
}

int mode_stdin() {
  unsigned long long bytes = 0;
  unsigned hash = 2166136261u;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    bytes += static_cast<unsigned long long>(n);
    for (ssize_t i = 0; i < n; ++i) hash = (hash ^ static_cast<unsigned char>(buf[i])) * 16777619u;
  }
  out("stdin " + std::to_string(rank()) + " " + std::to_string(bytes) + " " + std::to_string(hash));
  return 0;
}

int mode_spam(int lines, int len) {
  // Each line: "<rank> <seq> <payload>" where payload is len letters derived from rank and seq,
  // written in three separate writes to exercise line assembly.
  for (int seq = 0; seq < lines; ++seq) {
    std::string head = std::to_string(rank()) + " " + std::to_string(seq) + " ";
    std::string payload(static_cast<std::size_t>(len), 'a');
    for (int i = 0; i < len; ++i) payload[static_cast<std::size_t>(i)] = static_cast<char>('a' + (rank() * 7 + seq + i) % 26);
    const std::string parts[3] = {head, payload.substr(0, payload.size() / 2), payload.substr(payload.size() / 2) + "\n"};
    for (const auto &p : parts) {
      std::size_t off = 0;
      while (off < p.size()) {
        const ssize_t n = ::write(1, p.data() + off, p.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return 99;
        off += static_cast<std::size_t>(n);
      }
    }
  }
  return 0;
}

int mode_affinity() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return 98;
  std::string list;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &set)) continue;
    int e = c;
    while (e + 1 < CPU_SETSIZE && CPU_ISSET(e + 1, &set)) ++e;
    if (!list.empty()) list += ',';
    list += std::to_string(c);
    if (e > c) list += "-" + std::to_string(e);
    c = e;
  }
  out("affinity " + std::to_string(rank()) + " " + list);
  return 0;
}

} // namespace

/// One request on the control channel, one reply back.
std::string control(const std::string &req) {
  const char *fd_text = std::getenv("CAMURE_CONTROL_FD");
  if (!fd_text) return "no-fd";
  const int fd = std::atoi(fd_text);
  const std::string line = req + "\n";
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return "write-failed";
  char buf[8192];
  ssize_t n;
  do {
    n = ::read(fd, buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return "read-failed";
  std::string reply(buf, static_cast<std::size_t>(n));
  while (!reply.empty() && reply.back() == '\n') reply.pop_back();
  return reply;
}

int mode_kv() {
  const int r = rank();
  const int size = std::atoi(std::getenv("CAMURE_SIZE") ? std::getenv("CAMURE_SIZE") : "0");
  auto fail = [&](const std::string &why) {
    out("kv " + std::to_string(r) + " FAIL " + why);
    return 1;
  };
  const std::string key = "probe." + std::to_string(r);
  std::string got = control("put " + key + " v" + std::to_string(r));
  if (got != "ok " + key) return fail("put -> " + got);
  for (int j = 0; j < size; ++j) {
    const std::string k = "probe." + std::to_string(j);
    got = control("get " + k + " 20000");
    if (got != "val " + k + " v" + std::to_string(j)) return fail("get " + k + " -> " + got);
  }
  got = control("put " + key + " other");
  if (got != "err " + key + " exists") return fail("conflicting put -> " + got);
  got = control("get camure.session_key 10000");
  const std::string prefix = "val camure.session_key ";
  if (got.rfind(prefix, 0) != 0) return fail("session key -> " + got);
  const std::string hex = got.substr(prefix.size());
  if (hex.find_first_not_of("0123456789abcdef") != std::string::npos) return fail("session key not hex");
  got = control("get probe.never 50");
  if (got != "err probe.never timeout") return fail("missing key -> " + got);
  const char *node = std::getenv("CAMURE_NODE_ID");
  const char *addr = std::getenv("CAMURE_NODE_ADDR");
  out("kv " + std::to_string(r) + " ok " + std::to_string(hex.size()) + " " + (node ? node : "-") + " " +
      (addr ? addr : "-"));
  return 0;
}

int main(int argc, char **argv) {
  rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  if (argc < 2) {
    std::fprintf(stderr, "launcher_probe: missing mode\n");
    return 64;
  }
  const std::string mode = argv[1];
  if (mode == "env") return mode_env(argc, argv);
  if (mode == "sigstate") return mode_sigstate();
  if (mode == "args") {
    std::string line = "args " + std::to_string(rank());
    for (int i = 2; i < argc; ++i) line += std::string(" ") + argv[i];
    out(line);
    return 0;
  }
  if (mode == "exit" && argc > 2) {
    const long c = lookup(argv[2]);
    return c < 0 ? 0 : static_cast<int>(c);
  }
  if (mode == "fail-then-wait" && argc > 2) {
    const long c = lookup(argv[2]);
    if (c >= 0) return static_cast<int>(c);
    ready();
    wait_forever();
  }
  if (mode == "raise" && argc > 2) {
    const long s = lookup(argv[2]);
    if (s > 0) {
      ::signal(static_cast<int>(s), SIG_DFL);
      ::raise(static_cast<int>(s));
    }
    ready();
    wait_forever();
  }
  if (mode == "wait") {
    if (argc > 2 && std::string(argv[2]) == "ignore-term") ::signal(SIGTERM, SIG_IGN);
    if (argc > 2 && std::string(argv[2]) == "ignore-int-term") {
      ::signal(SIGTERM, SIG_IGN);
      ::signal(SIGINT, SIG_IGN);
    }
    ready();
    wait_forever();
  }
  if (mode == "abort" && argc > 3) {
    if (rank() == std::atoi(argv[2])) {
      const int fd = std::atoi(getenv_or("CAMURE_CONTROL_FD", "-1"));
      const std::string msg = std::string("abort ") + argv[3] + "\n";
      if (::write(fd, msg.data(), msg.size()) != static_cast<ssize_t>(msg.size())) return 97;
    }
    ready();
    wait_forever();
  }
  if (mode == "segment") {
    const std::string name = std::string("/camure-") + getenv_or("CAMURE_JOB_ID", "none") + "-probe" + std::to_string(rank());
    const int fd = ::shm_open(name.c_str(), O_CREAT | O_RDWR | O_EXCL, 0600);
    if (fd < 0) return 96;
    if (::ftruncate(fd, 4096) != 0) return 95;
    ::close(fd);
    ready();
    wait_forever();
  }
  if (mode == "stdin") return mode_stdin();
  if (mode == "spam" && argc > 3) return mode_spam(std::atoi(argv[2]), std::atoi(argv[3]));
  if (mode == "affinity") return mode_affinity();
  if (mode == "kv") return mode_kv();
  if (mode == "pwd") {
    char buf[PATH_MAX];
    out("pwd " + std::to_string(rank()) + " " + (::getcwd(buf, sizeof buf) ? buf : "?"));
    return 0;
  }
  std::fprintf(stderr, "launcher_probe: bad mode '%s'\n", mode.c_str());
  return 64;
}
