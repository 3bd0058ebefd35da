/* Pool.apply_async of trivial tasks submitted one by one, then waited for
 * (get on each, in order): tasks per second, 2 workers, fork. The task
 * returns its 8-byte argument.
 *
 * Output: op=pool_async impl=mproc tasks_per_s=.. */
#include "bench_pool.h"

static double round_of(mp_pool *p, uint64_t n, mp_async **as) {
  uint64_t t0 = bench_now_ns();
  for (uint64_t i = 0; i < n; i++)
    BENCH_CHECK(mp_pool_apply_async(p, bench_identity, &i, sizeof i, NULL, &as[i]));
  for (uint64_t i = 0; i < n; i++) {
    uint64_t back = 0;
    BENCH_CHECK(mp_async_get(as[i], &back, sizeof back, NULL, MP_INFINITE));
    if (back != i) {
      fprintf(stderr, "bench_pool_async: task %llu gave %llu\n",
              (unsigned long long)i, (unsigned long long)back);
      exit(2);
    }
    BENCH_CHECK(mp_async_free(as[i]));
  }
  return (double)n / bench_sec(bench_now_ns() - t0);
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  mp_pool *p = bench_pool(2, MP_START_DEFAULT);
  const uint64_t max = 4000000;
  mp_async **as = malloc(max * sizeof *as);
  if (!as)
    return 2;
  double warm = round_of(p, 20000, as);
  uint64_t n = bench_size(warm, bench_target_seconds(1.5), 20000, max);
  double rate = round_of(p, n, as);
  printf("op=pool_async impl=mproc tasks_per_s=%.0f\n", rate);
  free(as);
  bench_pool_done(p);
  return 0;
}
