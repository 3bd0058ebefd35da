#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

uint64_t mp__now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void mp__sleep_ms(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

void mp__mutex_lock(mp__mutex *m) { pthread_mutex_lock(m); }
void mp__mutex_unlock(mp__mutex *m) { pthread_mutex_unlock(m); }

mp_pid mp__os_current_pid(void) { return (mp_pid)getpid(); }
mp_pid mp__os_parent_pid(void) { return (mp_pid)getppid(); }

int mp__os_cpu_count(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

int mp__os_last_error(void) { return errno; }

void mp__exit_now(int code) { _exit(code); }

int mp__getenv(const char *name, char *buf, size_t cap) {
  const char *v = getenv(name);
  if (!v || strlen(v) >= cap)
    return -1;
  strcpy(buf, v);
  return 0;
}

void mp__unsetenv(const char *name) { unsetenv(name); }
