/* barrier_c: ranks step through phases in lock step and rank 0 reports the barrier's latency.
 * Run: camurerun -n 4 ./barrier_c */
#include <camure/camure.h>

#include <stdio.h>

int main(int argc, char **argv) {
  if (camure_init(&argc, &argv) != 0) {
    fprintf(stderr, "camure_init: %s\n", camure_last_error_detail());
    return 1;
  }
  const int iterations = 1000;
  double t0 = camure_wtime();
  for (int i = 0; i < iterations; ++i) {
    int rc = camure_barrier();
    if (rc != 0) {
      fprintf(stderr, "rank %d: barrier %d: %s (%s)\n", camure_rank(), i, camure_strerror(rc),
              camure_last_error_detail());
      camure_abort(1);
    }
  }
  double us = (camure_wtime() - t0) / iterations * 1e6;
  if (camure_rank() == 0) printf("%d ranks passed %d barriers, %.2f us each\n", camure_size(), iterations, us);
  return camure_finalize() == 0 ? 0 : 1;
}
