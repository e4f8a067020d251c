/* mpi_session_bench: MPI_Barrier latency and MPI_Bcast throughput/latency, the Open MPI side of
 * bench/session/run_cluster.sh. One `RESULT key=value ...` line per point (printed by rank 0).
 * usage: mpi_session_bench [max_barrier_iters] [seconds_per_point] [sizes, comma separated] [tag]
 * Message counts are calibrated per point so each takes about seconds_per_point. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How many broadcasts of `size` fit in `seconds`: rank 0 times a short calibration run and
 * tells everyone (all ranks must make the same number of calls). */
static size_t count_for(double seconds, size_t size, char *buf) {
  const int probe = 20;
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = MPI_Wtime();
  for (int i = 0; i < probe; ++i) MPI_Bcast(buf, (int)size, MPI_BYTE, 0, MPI_COMM_WORLD);
  MPI_Barrier(MPI_COMM_WORLD);
  double per = (MPI_Wtime() - t0) / probe;
  unsigned long long n = per > 0 ? (unsigned long long)(seconds / per) : 1000;
  if (n < 20) n = 20;
  if (n > 2000000) n = 2000000;
  MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
  return (size_t)n;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const int iters = argc > 1 ? atoi(argv[1]) : 3000;
  const double seconds = argc > 2 ? atof(argv[2]) : 1.0;
  const char *sizes_arg = argc > 3 ? argv[3] : "8,1024,65536,1048576";
  const char *tag = argc > 4 ? argv[4] : "";
  if (iters <= 0 || seconds <= 0) {
    if (rank == 0) fprintf(stderr, "mpi_session_bench: bad arguments\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  for (int i = 0; i < 20; ++i) MPI_Barrier(MPI_COMM_WORLD);
  /* Barrier rounds: at most `iters`, and about `seconds` worth (rank 0 calibrates). */
  double t0 = MPI_Wtime();
  for (int i = 0; i < 20; ++i) MPI_Barrier(MPI_COMM_WORLD);
  double per = (MPI_Wtime() - t0) / 20;
  int rounds = per > 0 && seconds / per < iters ? (int)(seconds / per) : iters;
  if (rounds < 20) rounds = 20;
  MPI_Bcast(&rounds, 1, MPI_INT, 0, MPI_COMM_WORLD);
  t0 = MPI_Wtime();
  for (int i = 0; i < rounds; ++i) MPI_Barrier(MPI_COMM_WORLD);
  double us = (MPI_Wtime() - t0) * 1e6 / rounds;
  if (rank == 0) printf("RESULT bench=mpi op=barrier ranks=%d iters=%d avg_us=%.2f %s\n", size, rounds, us, tag);

  char *list = strdup(sizes_arg);
  for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
    const size_t sz = (size_t)strtoull(tok, NULL, 10);
    char *buf = malloc(sz ? sz : 1);
    memset(buf, 0x42, sz ? sz : 1);
    const size_t n = count_for(seconds, sz, buf);
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = MPI_Wtime();
    for (size_t i = 0; i < n; ++i) MPI_Bcast(buf, (int)sz, MPI_BYTE, 0, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD); /* everything delivered everywhere, like session wait() */
    double s = MPI_Wtime() - t0;
    if (rank == 0)
      printf("RESULT bench=mpi op=bcast_throughput ranks=%d size=%zu msgs=%zu msgs_per_s=%.0f MiB_per_s=%.1f %s\n", size,
             sz, n, n / s, n * (double)sz / s / (1 << 20), tag);
    size_t li = n / 20;
    if (li < 10) li = 10;
    if (li > 2000) li = 2000;
    t0 = MPI_Wtime();
    for (size_t i = 0; i < li; ++i) {
      MPI_Bcast(buf, (int)sz, MPI_BYTE, 0, MPI_COMM_WORLD);
      MPI_Barrier(MPI_COMM_WORLD);
    }
    s = MPI_Wtime() - t0;
    if (rank == 0)
      printf("RESULT bench=mpi op=bcast_latency ranks=%d size=%zu iters=%zu avg_us=%.2f note=bcast+barrier %s\n", size,
             sz, li, s * 1e6 / li, tag);
    fflush(stdout);
    free(buf);
  }
  free(list);
  MPI_Finalize();
  return 0;
}
