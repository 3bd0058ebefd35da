/* Helpers shared by the Pool benchmarks (bench_pool_*.c): the trivial
 * task, a pool of `n` workers with a given start method, and the CPU-bound
 * work of bench_pool_cpu. */
#ifndef MPROC_BENCH_POOL_H
#define MPROC_BENCH_POOL_H

#include "bench.h"

/* Python's `lambda x: x` on an 8-byte item. */
static inline int bench_identity(const void *arg, size_t size,
                                 mp_result *res) {
  return mp_result_set(res, arg, size);
}

static inline mp_pool *bench_pool(unsigned n, mp_start_method method) {
  mp_pool_options o;
  memset(&o, 0, sizeof o);
  o.processes = n;
  o.method = method;
  mp_pool *p;
  BENCH_CHECK(mp_pool_create(&p, &o));
  return p;
}

static inline void bench_pool_done(mp_pool *p) {
  BENCH_CHECK(mp_pool_close(p));
  BENCH_CHECK(mp_pool_join(p, MP_INFINITE));
  BENCH_CHECK(mp_pool_free(p));
}

#endif
