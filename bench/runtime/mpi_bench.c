/* mpi_bench: the same measurement as camure-bench (bench_common.h), written against MPI; built
 * by run.sh with Open MPI's and MPICH's mpicc (-DBENCH_IMPL_NAME="\"openmpi\"" etc.). */
#include <mpi.h>

#include <stddef.h>

static int bench_rank, bench_size;
#ifndef BENCH_IMPL_NAME
#define BENCH_IMPL_NAME "mpi"
#endif
#define BENCH_IMPL BENCH_IMPL_NAME

static void bench_barrier(void) { MPI_Barrier(MPI_COMM_WORLD); }
static void bench_bcast(void *buf, size_t n, int root) { MPI_Bcast(buf, (int)n, MPI_BYTE, root, MPI_COMM_WORLD); }
static double bench_wtime(void) { return MPI_Wtime(); }

#include "bench_common.h"

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &bench_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &bench_size);
  const int rc = bench_main(argc, argv);
  MPI_Finalize();
  return rc;
}
