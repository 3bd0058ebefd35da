/* Pool.apply round trip: one trivial task at a time (submit, run in a
 * worker, result back), microseconds each; 2 workers, fork.
 *
 * Output: op=pool_apply impl=mproc rtt_us=.. */
#include "bench_pool.h"

static double us_per_apply(mp_pool *p, uint64_t n) {
  uint64_t t0 = bench_now_ns();
  for (uint64_t i = 0; i < n; i++) {
    uint64_t back = 0;
    BENCH_CHECK(mp_pool_apply(p, bench_identity, &i, sizeof i, &back,
                              sizeof back, NULL));
    if (back != i)
      exit(2);
  }
  return (double)(bench_now_ns() - t0) / 1e3 / (double)n;
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  mp_pool *p = bench_pool(2, MP_START_DEFAULT);
  double warm = us_per_apply(p, 2000);
  uint64_t n = bench_size(1e6 / warm, bench_target_seconds(1.5), 2000, 2000000);
  double us = us_per_apply(p, n);
  printf("op=pool_apply impl=mproc rtt_us=%.3f\n", us);
  bench_pool_done(p);
  return 0;
}
