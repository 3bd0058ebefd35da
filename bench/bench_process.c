/* Process start + join, one process at a time, with fork and with spawn:
 * milliseconds per process (create, start, join, free; the target returns
 * 0 at once). One untimed warm-up process per method first.
 *
 * Output: op=process impl=mproc fork_ms=.. spawn_ms=.. */
#include "bench.h"

static int noop(void *arg) {
  (void)arg;
  return 0;
}

static void one(mp_start_method method) {
  mp_process_options o = {NULL, 0, method};
  mp_process *p;
  int code = -1;
  BENCH_CHECK(mp_process_create(&p, noop, NULL, 0, &o));
  BENCH_CHECK(mp_process_start(p));
  BENCH_CHECK(mp_process_join(p, MP_INFINITE));
  BENCH_CHECK(mp_process_exitcode(p, &code));
  if (code != 0) {
    fprintf(stderr, "bench_process: child exited with %d\n", code);
    exit(2);
  }
  BENCH_CHECK(mp_process_free(p));
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  /* Half the time for each method. */
  double s = bench_target_seconds(1.5) / 2;
  double fork_ms = bench_ms_per(one, MP_START_FORK, s, 10);
  double spawn_ms = bench_ms_per(one, MP_START_SPAWN, s, 10);
  printf("op=process impl=mproc fork_ms=%.3f spawn_ms=%.3f\n", fork_ms,
         spawn_ms);
  return 0;
}
