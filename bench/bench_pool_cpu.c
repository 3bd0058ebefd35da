/* A CPU-bound map over both cores: 64 items of the same work, run
 * serially in this process, then by Pool(2).map with the automatic chunk
 * size (the pool is made before the clock starts). The speed-up is serial
 * time over pool time; the goal is 1.9 on 2 cores.
 *
 * Output: op=pool_cpu impl=mproc speedup=.. serial_s=.. pool_s=.. */
#include "bench_pool.h"

#define ITEMS 64

/* A few tens of milliseconds of integer work that no compiler can skip:
 * an xorshift walk whose end value is the result. */
static uint64_t work(uint64_t seed, uint64_t steps) {
  uint64_t x = seed * 2654435761u + 1;
  for (uint64_t i = 0; i < steps; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}

/* An item carries its amount of work, so a spawned worker needs nothing
 * else. */
typedef struct item {
  uint64_t seed, steps;
} item;

static int task_work(const void *arg, size_t size, mp_result *res) {
  (void)size;
  const item *it = arg;
  uint64_t y = work(it->seed, it->steps);
  return mp_result_set(res, &y, sizeof y);
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  uint64_t t0 = bench_now_ns();
  volatile uint64_t sink = work(1, 10000000);
  (void)sink;
  double per_step = bench_sec(bench_now_ns() - t0) / 1e7;
  /* The whole serial run lasts about the target time. */
  uint64_t steps = (uint64_t)(bench_target_seconds(1.5) / ITEMS / per_step);
  item items[ITEMS];
  uint64_t serial[ITEMS], pooled[ITEMS];
  for (int i = 0; i < ITEMS; i++)
    items[i] = (item){(uint64_t)i, steps};
  mp_pool *p = bench_pool(2, MP_START_DEFAULT);

  t0 = bench_now_ns();
  for (int i = 0; i < ITEMS; i++)
    serial[i] = work(items[i].seed, items[i].steps);
  double serial_s = bench_sec(bench_now_ns() - t0);

  t0 = bench_now_ns();
  BENCH_CHECK(mp_pool_map(p, task_work, items, sizeof items[0], ITEMS, pooled,
                          sizeof pooled[0], 0));
  double pool_s = bench_sec(bench_now_ns() - t0);
  if (memcmp(serial, pooled, sizeof serial) != 0) {
    fprintf(stderr, "bench_pool_cpu: the pool computed something else\n");
    return 2;
  }
  printf("op=pool_cpu impl=mproc speedup=%.3f serial_s=%.3f pool_s=%.3f\n",
         serial_s / pool_s, serial_s, pool_s);
  bench_pool_done(p);
  return 0;
}
