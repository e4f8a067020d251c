/* Multiprocess check program in C for camure's C API; run by test_runtime_* through camurerun.
 * Usage: prog MODE [args]. Exit 0 when every check passed; otherwise prints why and exits 1. */
#include <camure/camure.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHECK(cond, ...)                                                                    \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      char detail_[512];                                                                    \
      snprintf(detail_, sizeof detail_, "%s", camure_last_error_detail());                  \
      fprintf(stderr, "rank %d: check failed at %s:%d: %s: ", camure_rank(), __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                                         \
      fprintf(stderr, " [%s]\n", detail_);                                                  \
      exit(1);                                                                              \
    }                                                                                       \
  } while (0)

static uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/* The expected content of an n-byte bcast from root: 64-bit words of a hash of (root, n, index). */
static void fill(unsigned char *buf, size_t n, int root) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w = mix(((uint64_t)root << 48) ^ ((uint64_t)n << 8) ^ (i / 8));
    memcpy(buf + i, &w, 8);
  }
  if (i < n) {
    uint64_t w = mix(((uint64_t)root << 48) ^ ((uint64_t)n << 8) ^ (i / 8));
    memcpy(buf + i, &w, n - i);
  }
}

static int check_bcast(int size_index, size_t n, int root) {
  unsigned char *buf = malloc(n ? n : 1);
  unsigned char *expect = malloc(n ? n : 1);
  CHECK(buf != NULL && expect != NULL, "malloc %zu", n);
  fill(expect, n, root);
  if (camure_rank() == root)
    memcpy(buf, expect, n);
  else
    memset(buf, 0xEE, n);
  int rc = camure_bcast(buf, n, root);
  CHECK(rc == 0, "bcast of %zu bytes from root %d: %s", n, root, camure_strerror(rc));
  if (memcmp(buf, expect, n) != 0) {
    size_t i = 0;
    while (buf[i] == expect[i]) ++i;
    CHECK(0, "bcast %d: %zu bytes from root %d: byte %zu is %u, expected %u", size_index, n, root, i, buf[i], expect[i]);
  }
  free(expect);
  free(buf);
  return 0;
}

/* Barrier ordering: before barrier k every rank writes k into its slot of a shared array;
 * after barrier k every slot holds k or k+1 (nobody can be further ahead). */
static int mode_barrier(int rounds, const char *path) {
  const int size = camure_size(), rank = camure_rank();
  int fd = open(path, O_RDWR | O_CREAT, 0600);
  CHECK(fd >= 0, "open %s", path);
  CHECK(ftruncate(fd, (off_t)(size * sizeof(int64_t))) == 0, "ftruncate");
  volatile int64_t *slots = mmap(NULL, size * sizeof(int64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHECK(slots != MAP_FAILED, "mmap");
  close(fd);
  CHECK(camure_barrier() == 0, "first barrier");
  for (int k = 1; k <= rounds; ++k) {
    __atomic_store_n(&slots[rank], k, __ATOMIC_SEQ_CST);
    int rc = camure_barrier();
    CHECK(rc == 0, "barrier %d: %s", k, camure_strerror(rc));
    for (int r = 0; r < size; ++r) {
      int64_t v = __atomic_load_n(&slots[r], __ATOMIC_SEQ_CST);
      CHECK(v == k || v == k + 1, "after barrier %d rank %d is at round %lld", k, r, (long long)v);
    }
  }
  munmap((void *)slots, size * sizeof(int64_t));
  return 0;
}

/* big_roots: 0 = first, middle and last root; 1 = every root; 2 = first and last; 3 = first. */
static int mode_bcast(int big_roots) {
  const size_t sizes[] = {0, 1, 1u << 20, 64u << 20};
  const int size = camure_size();
  for (int s = 0; s < 4; ++s) {
    for (int root = 0; root < size; ++root) {
      /* 64 MiB from every root only at small N (time); else from the first, middle and last. */
      if (s == 3 && big_roots == 0 && root != 0 && root != size / 2 && root != size - 1) continue;
      if (s == 3 && big_roots == 2 && root != 0 && root != size - 1) continue;
      if (s == 3 && big_roots == 3 && root != 0) continue;
      check_bcast(s, sizes[s], root);
    }
  }
  /* Alternating roots back to back with odd sizes: epochs must never mix. */
  for (int i = 0; i < 64; ++i) check_bcast(4, (size_t)(1 + i * 977), i % size);
  return 0;
}

struct counts {
  int got;
  int next_seq[64];
  int bad;
};

static void on_message(const char *topic, const void *data, size_t bytes, unsigned long long lost, void *user) {
  struct counts *c = user;
  int v[2];
  if (lost != 0 || bytes != sizeof v || strncmp(topic, "/cb/", 4) != 0) {
    c->bad++;
    return;
  }
  memcpy(v, data, sizeof v);
  if (v[0] < 0 || v[0] >= 64 || v[1] != c->next_seq[v[0]]) {
    c->bad++;
    return;
  }
  c->next_seq[v[0]]++;
  __atomic_add_fetch(&c->got, 1, __ATOMIC_SEQ_CST);
}

/* Every rank publishes msgs messages on "/all/<rank>" and "/cb/<rank>"; every rank receives all of
 * them (polling, with descendants, and by callback) in per-sender order; "/allx" never matches. */
static int mode_pubsub(int msgs) {
  const int size = camure_size(), rank = camure_rank();
  CHECK(size <= 64, "at most 64 ranks");
  camure_subscription *all = NULL, *mine = NULL, *cb = NULL;
  struct counts counts;
  memset(&counts, 0, sizeof counts);
  CHECK(camure_subscribe("/all", CAMURE_TOPIC_WITH_DESCENDANTS, &all) == 0, "subscribe /all");
  char topic[64];
  snprintf(topic, sizeof topic, "/direct/%d", rank);
  CHECK(camure_subscribe(topic, 0, &mine) == 0, "subscribe %s", topic);
  CHECK(camure_subscribe_callback("/cb", CAMURE_TOPIC_WITH_DESCENDANTS, on_message, &counts, &cb) == 0, "subscribe /cb");
  CHECK(camure_barrier() == 0, "barrier after subscribe");
  for (int i = 0; i < msgs; ++i) {
    int v[2] = {rank, i};
    snprintf(topic, sizeof topic, "/all/%d", rank);
    CHECK(camure_publish(topic, v, sizeof v, 0) == 0, "publish %s", topic);
    snprintf(topic, sizeof topic, "/cb/%d", rank);
    CHECK(camure_publish(topic, v, sizeof v, 0) == 0, "publish %s", topic);
    CHECK(camure_publish("/allx", v, sizeof v, 0) == 0, "publish /allx");
  }
  snprintf(topic, sizeof topic, "/direct/%d", (rank + 1) % size);
  int token = rank;
  CHECK(camure_publish(topic, &token, sizeof token, 0) == 0, "publish %s", topic);

  int next[64] = {0};
  for (int got = 0; got < size * msgs; ++got) {
    int v[2];
    size_t n = 0;
    char t[64];
    int rc = camure_receive(all, v, sizeof v, &n, t, sizeof t, 10.0);
    CHECK(rc == 0, "receive %d of %d: %s", got, size * msgs, camure_strerror(rc));
    CHECK(n == sizeof v, "size %zu", n);
    CHECK(strncmp(t, "/all/", 5) == 0, "topic %s", t);
    CHECK(v[0] >= 0 && v[0] < size && v[1] == next[v[0]], "from %d seq %d, expected %d", v[0], v[1], next[v[0]]);
    char expect[64];
    snprintf(expect, sizeof expect, "/all/%d", v[0]);
    CHECK(strcmp(t, expect) == 0, "topic %s for sender %d", t, v[0]);
    next[v[0]]++;
  }
  int v[2];
  size_t n = 0;
  CHECK(camure_receive(all, v, sizeof v, &n, NULL, 0, 0) == CAMURE_ERR_WOULD_BLOCK, "nothing more on /all");
  int from = -1;
  CHECK(camure_receive(mine, &from, 2, &n, NULL, 0, 10.0) == CAMURE_ERR_TRUNCATED && n == sizeof from, "truncation");
  CHECK(camure_receive(mine, &from, sizeof from, &n, NULL, 0, 10.0) == 0, "direct message");
  CHECK(from == (rank + size - 1) % size, "direct message from %d", from);
  /* Callbacks run on the delivery thread: wait for them with a deadline. */
  double until = camure_wtime() + 10.0;
  while (__atomic_load_n(&counts.got, __ATOMIC_SEQ_CST) < size * msgs && camure_wtime() < until) usleep(1000);
  CHECK(counts.got == size * msgs && counts.bad == 0, "callbacks got %d of %d, %d bad", counts.got, size * msgs, counts.bad);
  CHECK(camure_unsubscribe(cb) == 0, "unsubscribe cb");
  CHECK(camure_unsubscribe(all) == 0, "unsubscribe all");
  CHECK(camure_unsubscribe(mine) == 0, "unsubscribe mine");
  return 0;
}

/* Error paths that need no peers, then init and argument errors. */
static int mode_errors(void) {
  int x = 0;
  CHECK(camure_initialized() == 0, "not yet initialised");
  CHECK(camure_rank() == CAMURE_ERR_NOT_INITIALIZED, "rank before init");
  CHECK(camure_barrier() == CAMURE_ERR_NOT_INITIALIZED, "barrier before init");
  CHECK(camure_bcast(&x, sizeof x, 0) == CAMURE_ERR_NOT_INITIALIZED, "bcast before init");
  CHECK(camure_publish("/a", &x, sizeof x, 0) == CAMURE_ERR_NOT_INITIALIZED, "publish before init");
  CHECK(strlen(camure_last_error_detail()) > 0, "detail set");
  CHECK(camure_finalize() == CAMURE_ERR_NOT_INITIALIZED, "finalize before init");
  CHECK(strcmp(camure_strerror(CAMURE_ERR_TIMEOUT), "timed out") == 0, "strerror");
  CHECK(camure_init(NULL, NULL) == 0, "init");
  CHECK(camure_init(NULL, NULL) == CAMURE_ERR_ALREADY_EXISTS, "double init");
  const int size = camure_size();
  CHECK(camure_bcast(&x, sizeof x, size) == CAMURE_ERR_INVALID_ARGUMENT, "root == size");
  CHECK(strstr(camure_last_error_detail(), "root") != NULL, "detail names the root: %s", camure_last_error_detail());
  CHECK(camure_bcast(&x, sizeof x, -1) == CAMURE_ERR_INVALID_ARGUMENT, "root -1");
  CHECK(camure_bcast(NULL, 4, 0) == CAMURE_ERR_INVALID_ARGUMENT, "NULL buffer");
  CHECK(camure_publish("", &x, sizeof x, 0) == CAMURE_ERR_INVALID_ARGUMENT, "empty topic");
  CHECK(camure_publish("/a", &x, sizeof x, 99) == CAMURE_ERR_INVALID_ARGUMENT, "bad flags");
  camure_subscription *s = NULL;
  CHECK(camure_subscribe(NULL, 0, &s) == CAMURE_ERR_INVALID_ARGUMENT, "NULL topic");
  CHECK(camure_receive(NULL, &x, sizeof x, NULL, NULL, 0, 0) == CAMURE_ERR_INVALID_ARGUMENT, "NULL subscription");
  CHECK(camure_barrier() == 0, "barrier still works after argument errors");
  x = camure_rank() == 0 ? 1234 : 0;
  CHECK(camure_bcast(&x, sizeof x, 0) == 0 && x == 1234, "bcast still works");
  CHECK(camure_finalize() == 0, "finalize");
  CHECK(camure_rank() == CAMURE_ERR_NOT_INITIALIZED, "rank after finalize");
  CHECK(camure_barrier() == CAMURE_ERR_NOT_INITIALIZED, "barrier after finalize");
  return 0;
}

/* One rank leaves without finalize after the first barrier; the others must get PEER_LOST. */
static int mode_die(void) {
  CHECK(camure_barrier() == 0, "first barrier");
  if (camure_rank() == 1) _exit(0);
  int rc = camure_barrier();
  CHECK(rc == CAMURE_ERR_PEER_LOST, "barrier with a dead rank returned %d (%s)", rc, camure_strerror(rc));
  int x = 0;
  rc = camure_bcast(&x, sizeof x, 0);
  CHECK(rc == CAMURE_ERR_PEER_LOST, "bcast after the loss returned %d", rc);
  _exit(0); /* finalize would fail too; the point is the error, not a clean exit */
}

/* A reader dies before a 64 MiB bcast: the root blocks on flow control, finds it dead, and every
 * survivor (root and readers) gets PEER_LOST instead of hanging. */
static int mode_die_bcast(void) {
  CHECK(camure_barrier() == 0, "first barrier");
  if (camure_rank() == 1) _exit(0);
  size_t n = 64u << 20;
  unsigned char *buf = malloc(n);
  CHECK(buf != NULL, "malloc");
  memset(buf, 1, n);
  int rc = camure_bcast(buf, n, 0);
  CHECK(rc == CAMURE_ERR_PEER_LOST, "bcast with a dead reader returned %d (%s)", rc, camure_strerror(rc));
  free(buf);
  _exit(0);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s barrier ROUNDS FILE | bcast [all] | pubsub MSGS | errors | die | abort CODE | info\n", argv[0]);
    return 2;
  }
  const char *mode = argv[1];
  if (strcmp(mode, "errors") == 0) return mode_errors();
  int rc = camure_init(&argc, &argv);
  if (rc != 0) {
    fprintf(stderr, "camure_init: %s: %s\n", camure_strerror(rc), camure_last_error_detail());
    return 3;
  }
  if (strcmp(mode, "barrier") == 0 && argc >= 4)
    rc = mode_barrier(atoi(argv[2]), argv[3]);
  else if (strcmp(mode, "bcast") == 0)
    rc = mode_bcast(argc >= 3 && strcmp(argv[2], "all") == 0 ? 1 : argc >= 3 && strcmp(argv[2], "ends") == 0 ? 2
                    : argc >= 3 && strcmp(argv[2], "first") == 0 ? 3 : 0);
  else if (strcmp(mode, "pubsub") == 0 && argc >= 3)
    rc = mode_pubsub(atoi(argv[2]));
  else if (strcmp(mode, "die") == 0)
    rc = mode_die();
  else if (strcmp(mode, "die_bcast") == 0)
    rc = mode_die_bcast();
  else if (strcmp(mode, "abort") == 0 && argc >= 3) {
    CHECK(camure_barrier() == 0, "barrier");
    if (camure_rank() == camure_size() - 1) camure_abort(atoi(argv[2]));
    camure_barrier(); /* the job ends while we wait here */
    return 4;
  } else if (strcmp(mode, "info") == 0) {
    printf("rank=%d size=%d local_rank=%d local_size=%d node=%d\n", camure_rank(), camure_size(), camure_local_rank(),
           camure_local_size(), camure_node_id());
    rc = 0;
  } else {
    fprintf(stderr, "bad mode %s\n", mode);
    return 2;
  }
  if (rc != 0) return rc;
  rc = camure_finalize();
  CHECK(rc == 0, "finalize: %s", camure_strerror(rc));
  return 0;
}
