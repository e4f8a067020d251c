/* hello_c: every rank says where it runs. Run: camurerun -n 4 ./hello_c */
#include <camure/camure.h>

#include <stdio.h>

int main(int argc, char **argv) {
  int rc = camure_init(&argc, &argv);
  if (rc != 0) {
    fprintf(stderr, "camure_init: %s (%s)\n", camure_strerror(rc), camure_last_error_detail());
    return 1;
  }
  printf("hello from rank %d of %d (local rank %d of %d on node %d)\n", camure_rank(), camure_size(),
         camure_local_rank(), camure_local_size(), camure_node_id());
  return camure_finalize() == 0 ? 0 : 1;
}
