/* camure-bench: OSU-style barrier and bcast latency through camure's C API.
 * Run: camurerun -n N camure-bench [SECONDS_PER_POINT]; prints one RESULT line per point. */
#include <camure/camure.h>

#include <stdio.h>
#include <stdlib.h>

static int bench_rank, bench_size;
/* "camure", or CAMURE_BENCH_IMPL (run.sh --variant names runs with other CAMURE_* settings). */
static const char *camure_bench_impl(void) {
  const char *v = getenv("CAMURE_BENCH_IMPL");
  return v != NULL && *v != '\0' ? v : "camure";
}
#define BENCH_IMPL camure_bench_impl()

static void die_on(int rc, const char *what) {
  if (rc != 0) {
    fprintf(stderr, "camure-bench: %s: %s: %s\n", what, camure_strerror(rc), camure_last_error_detail());
    camure_abort(1);
  }
}
static void bench_barrier(void) { die_on(camure_barrier(), "barrier"); }
static void bench_bcast(void *buf, size_t n, int root) { die_on(camure_bcast(buf, n, root), "bcast"); }
static double bench_wtime(void) { return camure_wtime(); }

#include "bench_common.h"

int main(int argc, char **argv) {
  int rc = camure_init(&argc, &argv);
  if (rc != 0) {
    fprintf(stderr, "camure-bench: init: %s: %s\n", camure_strerror(rc), camure_last_error_detail());
    return 1;
  }
  bench_rank = camure_rank();
  bench_size = camure_size();
  rc = bench_main(argc, argv);
  camure_finalize();
  return rc;
}
