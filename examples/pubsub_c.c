/* pubsub_c: every rank publishes a status on "/status/<rank>"; everyone subscribed to "/status"
 * with descendants and receives all of them. Run: camurerun -n 4 ./pubsub_c */
#include <camure/camure.h>

#include <stdio.h>

int main(int argc, char **argv) {
  if (camure_init(&argc, &argv) != 0) {
    fprintf(stderr, "camure_init: %s\n", camure_last_error_detail());
    return 1;
  }
  const int rank = camure_rank(), size = camure_size();
  camure_subscription *sub = NULL;
  if (camure_subscribe("/status", CAMURE_TOPIC_WITH_DESCENDANTS, &sub) != 0) {
    fprintf(stderr, "subscribe: %s\n", camure_last_error_detail());
    camure_abort(1);
  }
  camure_barrier(); /* a subscription sees only what is published after it exists */
  char topic[32];
  snprintf(topic, sizeof topic, "/status/%d", rank);
  const int status = 100 + rank;
  camure_publish(topic, &status, sizeof status, 0);

  int seen = 0;
  for (int i = 0; i < size; ++i) {
    int value = 0;
    size_t bytes = 0;
    char from[32];
    int rc = camure_receive(sub, &value, sizeof value, &bytes, from, sizeof from, 5.0);
    if (rc != 0) {
      fprintf(stderr, "rank %d: receive: %s\n", rank, camure_strerror(rc));
      break;
    }
    ++seen;
    if (rank == 0) printf("rank 0 got %d on %s\n", value, from);
  }
  camure_unsubscribe(sub);
  camure_finalize();
  return seen == size ? 0 : 1;
}
