/* bcast_c: rank 0 computes parameters, every rank receives them, then each root takes a turn.
 * Run: camurerun -n 4 ./bcast_c */
#include <camure/camure.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (camure_init(&argc, &argv) != 0) {
    fprintf(stderr, "camure_init: %s\n", camure_last_error_detail());
    return 1;
  }
  const int rank = camure_rank(), size = camure_size();
  enum { N = 1 << 18 }; /* 2 MiB of doubles: larger than one chunk, so it is pipelined */
  double *params = malloc(N * sizeof *params);
  if (params == NULL) camure_abort(1);
  if (rank == 0)
    for (int i = 0; i < N; ++i) params[i] = i * 0.5;
  int rc = camure_bcast(params, N * sizeof *params, 0);
  if (rc != 0) {
    fprintf(stderr, "rank %d: bcast: %s (%s)\n", rank, camure_strerror(rc), camure_last_error_detail());
    camure_abort(1);
  }
  int bad = 0;
  for (int i = 0; i < N; ++i) bad += params[i] != i * 0.5;
  /* Every rank is root once: a token travels. */
  int token = -1;
  for (int root = 0; root < size; ++root) {
    if (rank == root) token = root * 10;
    if (camure_bcast(&token, sizeof token, root) != 0 || token != root * 10) ++bad;
  }
  printf("rank %d: %s\n", rank, bad == 0 ? "parameters and tokens received" : "WRONG DATA");
  free(params);
  camure_finalize();
  return bad == 0 ? 0 : 1;
}
