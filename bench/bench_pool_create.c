/* A pool's whole life: create a Pool(2), one map of 100 trivial items,
 * close, join (and free), with fork and with spawn: milliseconds each. One
 * untimed round per method first.
 *
 * Output: op=pool_create impl=mproc fork_ms=.. spawn_ms=.. */
#include "bench_pool.h"

static void one(int method) {
  int64_t items[100], out[100];
  for (int i = 0; i < 100; i++)
    items[i] = i;
  mp_pool *p = bench_pool(2, method);
  BENCH_CHECK(mp_pool_map(p, bench_identity, items, sizeof items[0], 100, out,
                          sizeof out[0], 0));
  if (out[99] != 99)
    exit(2);
  bench_pool_done(p);
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  double s = bench_target_seconds(1.5) / 2;
  double fork_ms = bench_ms_per(one, MP_START_FORK, s, 5);
  double spawn_ms = bench_ms_per(one, MP_START_SPAWN, s, 5);
  printf("op=pool_create impl=mproc fork_ms=%.3f spawn_ms=%.3f\n", fork_ms,
         spawn_ms);
  return 0;
}
