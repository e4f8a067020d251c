/* The measurement shared by camure-bench and mpi_bench: OSU-style loops over a tiny shim
 * (BENCH_* macros) so both measure exactly the same thing. Included once by each program. */
#ifndef CAMURE_BENCH_COMMON_H
#define CAMURE_BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The including file defines: bench_barrier(), bench_bcast(buf, n, root), bench_wtime(),
 * bench_rank, bench_size, and BENCH_IMPL (a string). */

/* Average over ranks of a per-rank value, plus min and max, computed with bcasts only so the
 * shim needs nothing else (each rank broadcasts its own value; rank 0 prints). */
static void bench_reduce(double mine, double *avg, double *min, double *max) {
  double sum = 0, lo = 1e300, hi = -1e300;
  for (int r = 0; r < bench_size; ++r) {
    double v = mine;
    bench_bcast(&v, sizeof v, r);
    sum += v;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  *avg = sum / bench_size;
  *min = lo;
  *max = hi;
}

/* Iterations that fit in budget seconds, from a short probe; agreed by all ranks (rank 0's). */
static long bench_iterations(double per_iter_s, double budget_s, long lo, long hi) {
  double n = per_iter_s > 0 ? budget_s / per_iter_s : (double)hi;
  if (n < lo) n = lo;
  if (n > hi) n = hi;
  long iters = (long)n;
  bench_bcast(&iters, sizeof iters, 0);
  return iters;
}

/* period_s > 0 adds period_us: the loop's wall time per iteration (rank average), which for the
 * bcast with a barrier between is barrier + bcast, the time a program doing that pays. */
static void bench_print_period(const char *op, size_t size, long iters, double mine_s, double period_s) {
  double avg, min, max, pavg = 0, pmin, pmax;
  bench_reduce(mine_s * 1e6, &avg, &min, &max);
  if (period_s > 0) bench_reduce(period_s * 1e6, &pavg, &pmin, &pmax);
  if (bench_rank == 0) {
    printf("RESULT impl=%s op=%s n=%d size=%zu iters=%ld avg_us=%.3f min_us=%.3f max_us=%.3f", BENCH_IMPL, op,
           bench_size, size, iters, avg, min, max);
    if (period_s > 0) printf(" period_us=%.3f", pavg);
    printf("\n");
    fflush(stdout);
  }
}

static void bench_print(const char *op, size_t size, long iters, double mine_s) {
  bench_print_period(op, size, iters, mine_s, 0);
}

/* Barrier latency: each rank times its own calls. */
static void bench_run_barrier(double budget_s) {
  const int warm = 50;
  double t0 = bench_wtime();
  for (int i = 0; i < warm; ++i) bench_barrier();
  const long iters = bench_iterations((bench_wtime() - t0) / warm, budget_s, 20, 200000);
  bench_barrier();
  t0 = bench_wtime();
  for (long i = 0; i < iters; ++i) bench_barrier();
  bench_print("barrier", 0, iters, (bench_wtime() - t0) / iters);
}

/* Bcast latency from root 0, OSU style: each rank times only its bcast; a barrier separates
 * iterations (not timed). Then the back-to-back form: iters bcasts in a row, timed together. */
static void bench_run_bcast(size_t size, double budget_s) {
  char *buf = malloc(size ? size : 1);
  if (buf == NULL) {
    fprintf(stderr, "bench: out of memory\n");
    exit(1);
  }
  memset(buf, bench_rank == 0 ? 'r' : 'x', size);
  const int warm = 20;
  double t0 = bench_wtime();
  for (int i = 0; i < warm; ++i) {
    bench_bcast(buf, size, 0);
    bench_barrier();
  }
  long iters = bench_iterations((bench_wtime() - t0) / warm, budget_s, 10, 100000);
  double timed = 0;
  bench_barrier();
  t0 = bench_wtime();
  for (long i = 0; i < iters; ++i) {
    const double a = bench_wtime();
    bench_bcast(buf, size, 0);
    timed += bench_wtime() - a;
    bench_barrier();
  }
  const double period = (bench_wtime() - t0) / iters;
  bench_print_period("bcast", size, iters, timed / iters, period);

  bench_barrier();
  t0 = bench_wtime();
  for (long i = 0; i < iters; ++i) bench_bcast(buf, size, 0);
  const double mine = (bench_wtime() - t0) / iters;
  bench_barrier();
  bench_print("bcast_b2b", size, iters, mine);
  free(buf);
}

/* Runs the points: barrier, then bcast of 8 B, 1 KiB, 64 KiB, 1 MiB. argv[1]: budget seconds per
 * point (default 0.3). argv[2] (optional): comma-separated points to run instead of all of them,
 * "barrier" and/or byte sizes, e.g. "barrier,8,1024" (for quick A/B runs of a few points). */
static int bench_main(int argc, char **argv) {
  const double budget = argc > 1 ? atof(argv[1]) : 0.3;
  const char *usage = "usage: bench [SECONDS_PER_POINT [barrier,SIZE,...]]\n";
  if (!(budget > 0)) {
    if (bench_rank == 0) fprintf(stderr, "%s", usage);
    return 2;
  }
  if (argc <= 2 || argv[2][0] == '\0') { /* no list (or an empty one): every point */
    bench_run_barrier(budget);
    const size_t sizes[] = {8, 1024, 64 * 1024, 1024 * 1024};
    for (int i = 0; i < 4; ++i) bench_run_bcast(sizes[i], budget);
    return 0;
  }
  /* Validate the whole list before running anything (every rank sees the same argv). */
  for (int pass = 0; pass < 2; ++pass) {
    const char *p = argv[2];
    while (*p != '\0') {
      const char *end = strchr(p, ',');
      const size_t len = end ? (size_t)(end - p) : strlen(p);
      if (len == 7 && strncmp(p, "barrier", 7) == 0) {
        if (pass == 1) bench_run_barrier(budget);
      } else {
        char *stop = NULL;
        const unsigned long long n = strtoull(p, &stop, 10);
        if (len == 0 || stop != p + len || n > (1ull << 30)) {
          if (bench_rank == 0) fprintf(stderr, "bench: bad point '%.*s'\n%s", (int)len, p, usage);
          return 2;
        }
        if (pass == 1) bench_run_bcast((size_t)n, budget);
      }
      p += len;
      if (*p == ',') ++p;
    }
  }
  return 0;
}

#endif
