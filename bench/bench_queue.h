/* The body of the two Queue benchmarks (bench_queue64.c, bench_queue64k.c):
 * one producer process puts messages of BENCH_MSG bytes, the consumer (the
 * parent) gets them.
 *
 * The producer first puts one "start" message, then n messages; the
 * consumer's clock runs from the start message to the last one, so
 * process start-up is not timed. The queue is bounded (BENCH_MAXSIZE
 * messages, the same bound as the Python twin): an unbounded queue lets
 * a fast producer pile up memory without limit, in Python's feeder
 * thread as much as here. A warm-up round sizes the timed one.
 *
 * Each message carries its sequence number in its first 8 bytes; the
 * consumer checks order and length. */
#ifndef MPROC_BENCH_QUEUE_H
#define MPROC_BENCH_QUEUE_H

#include "bench.h"

typedef struct producer_arg {
  mp_queue q;
  uint64_t n;
} producer_arg;

static int producer(void *p) {
  producer_arg *a = p;
  static unsigned char msg[BENCH_MSG];
  memset(msg, 'x', sizeof msg);
  uint64_t seq = UINT64_MAX; /* the start message */
  memcpy(msg, &seq, sizeof seq);
  if (mp_queue_put(&a->q, msg, sizeof msg, MP_INFINITE) != 0)
    return 3;
  for (seq = 0; seq < a->n; seq++) {
    memcpy(msg, &seq, sizeof seq);
    if (mp_queue_put(&a->q, msg, sizeof msg, MP_INFINITE) != 0)
      return 4;
  }
  return 0;
}

/* One round of n messages: seconds from the start message to the last. */
static double queue_round(uint64_t n) {
  static unsigned char buf[BENCH_MSG];
  mp_queue q;
  BENCH_CHECK(mp_queue_create(&q, BENCH_MAXSIZE));
  producer_arg a = {q, n};
  mp_process *p;
  BENCH_CHECK(mp_process_create(&p, producer, &a, sizeof a, NULL));
  BENCH_CHECK(mp_process_start(p));

  size_t len = 0;
  uint64_t seq;
  BENCH_CHECK(mp_queue_get(&q, buf, sizeof buf, &len, MP_INFINITE));
  uint64_t t0 = bench_now_ns();
  for (uint64_t i = 0; i < n; i++) {
    BENCH_CHECK(mp_queue_get(&q, buf, sizeof buf, &len, MP_INFINITE));
    memcpy(&seq, buf, sizeof seq);
    if (len != BENCH_MSG || seq != i) {
      fprintf(stderr, "bench_queue: message %llu: len %zu seq %llu\n",
              (unsigned long long)i, len, (unsigned long long)seq);
      exit(2);
    }
  }
  uint64_t t1 = bench_now_ns();

  int code = -1;
  BENCH_CHECK(mp_process_join(p, MP_INFINITE));
  BENCH_CHECK(mp_process_exitcode(p, &code));
  if (code != 0) {
    fprintf(stderr, "bench_queue: producer exited with %d\n", code);
    exit(2);
  }
  BENCH_CHECK(mp_process_free(p));
  BENCH_CHECK(mp_queue_free(&q));
  return bench_sec(t1 - t0);
}

/* Runs the warm-up and the timed round; returns items per second. */
static double queue_bench(uint64_t warmup_n, uint64_t max_n, uint64_t *n_out) {
  double s = queue_round(warmup_n);
  uint64_t n = bench_size((double)warmup_n / s, bench_target_seconds(1.0),
                          warmup_n, max_n);
  s = queue_round(n);
  *n_out = n;
  return (double)n / s;
}

#endif
