/* Helpers shared by the examples. None of this is part of mproc; it only
 * keeps the examples free of #ifdefs.
 *
 *   CHECK(call)    stops the program with a message if an mproc call
 *                  returns an error (where Python would raise);
 *   sleep_s(s)     time.sleep(s);
 *   now_s()        time.time() for measuring a duration (monotonic clock);
 *   seed_random()  seeds rand() from the time and the pid, so that every
 *                  process draws its own numbers (Python reseeds `random`
 *                  in each child; a forked C child would otherwise repeat
 *                  its parent's sequence);
 *   seed_random_once()  the same, once per process: for a Pool task, which
 *                  runs many times in one worker. */
#ifndef MPROC_EXAMPLE_H
#define MPROC_EXAMPLE_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <mproc.h>

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <errno.h>
#endif

#define CHECK(call)                                                        \
  do {                                                                     \
    int check_rc_ = (call);                                                \
    if (check_rc_ < 0) {                                                   \
      fprintf(stderr, "%s failed: %s\n", #call, mp_strerror(check_rc_));   \
      exit(1);                                                             \
    }                                                                      \
  } while (0)

static inline void sleep_s(double seconds) {
#ifdef _WIN32
  Sleep((DWORD)(seconds * 1000));
#else
  struct timespec ts;
  ts.tv_sec = (time_t)seconds;
  ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
#endif
}

static inline double now_s(void) {
#ifdef _WIN32
  LARGE_INTEGER count, freq;
  QueryPerformanceCounter(&count);
  QueryPerformanceFrequency(&freq);
  return (double)count.QuadPart / (double)freq.QuadPart;
#else
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
#endif
}

static inline void seed_random(void) {
  srand((unsigned)time(NULL) ^ ((unsigned)mp_current_pid() * 2654435761u));
}

static inline void seed_random_once(void) {
  static int seeded;
  if (!seeded) {
    seed_random();
    seeded = 1;
  }
}

#endif
