/* Helpers shared by the benchmark programs: a monotonic clock, a check
 * that ends the program with a message when a call fails, and the way a
 * benchmark sizes its run.
 *
 * Every benchmark prints exactly one result line on stdout,
 *     op=<name> impl=mproc <key>=<value> ...
 * which bench/run.py parses. Diagnostics go to stderr. */
#ifndef MPROC_BENCH_H
#define MPROC_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mproc.h>

/* Nanoseconds on CLOCK_MONOTONIC: one clock for every process on the
 * machine, so a child's timestamp can be compared with its parent's (and
 * with Python's time.monotonic(), the same clock). */
static inline uint64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline double bench_sec(uint64_t ns) { return (double)ns / 1e9; }

/* An mproc call that must succeed. */
#define BENCH_CHECK(call)                                                      \
  do {                                                                         \
    int bench_rc_ = (call);                                                    \
    if (bench_rc_ < 0) {                                                       \
      fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call,            \
              mp_strerror(bench_rc_));                                         \
      exit(2);                                                                 \
    }                                                                          \
  } while (0)

/* A libc / OS call that must not return -1 (or, for pthread calls, must
 * return 0: pass BENCH_CHECK0). */
#define BENCH_CHECK_OS(call)                                                   \
  do {                                                                         \
    if ((call) == -1) {                                                        \
      perror(#call);                                                           \
      exit(2);                                                                 \
    }                                                                          \
  } while (0)

#define BENCH_CHECK0(call)                                                     \
  do {                                                                         \
    int bench_rc_ = (call);                                                    \
    if (bench_rc_ != 0) {                                                      \
      fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call,            \
              strerror(bench_rc_));                                            \
      exit(2);                                                                 \
    }                                                                          \
  } while (0)

/* How long one measurement should run, in seconds: BENCH_SECONDS in the
 * environment, else `dflt`. The programs measure a short warm-up round
 * first and size the real one from it. */
static inline double bench_target_seconds(double dflt) {
  const char *s = getenv("BENCH_SECONDS");
  if (s && *s) {
    double v = atof(s);
    if (v > 0)
      return v;
  }
  return dflt;
}

/* Operations for a measurement of `seconds`, given `rate` ops/s measured
 * in a warm-up, clamped to [lo, hi]. */
static inline uint64_t bench_size(double rate, double seconds, uint64_t lo,
                                  uint64_t hi) {
  double n = rate * seconds;
  if (!(n >= (double)lo))
    return lo;
  if (n > (double)hi)
    return hi;
  return (uint64_t)n;
}

/* Milliseconds per call of one(what), calls one after the other for
 * about `seconds` (at least min_n), after one untimed call. */
static inline double bench_ms_per(void (*one)(int), int what, double seconds,
                                  int min_n) {
  one(what);
  uint64_t t0 = bench_now_ns(), t;
  int n = 0;
  do {
    one(what);
    n++;
    t = bench_now_ns();
  } while (n < min_n || bench_sec(t - t0) < seconds);
  return (double)(t - t0) / 1e6 / n;
}

#endif
