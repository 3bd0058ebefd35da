#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/auxv.h>
#endif

#include "shared.h"

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
void mp__mutex_reinit(mp__mutex *m) {
  pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
  *m = fresh;
}

/* Before main, so that no fork (the program's own included) can come
 * before the handlers: see atfork.c. */
__attribute__((constructor)) static void register_fork_handlers(void) {
  pthread_atfork(mp__fork_prepare, mp__fork_parent, mp__fork_child);
}

void mp__os_after_fork_child(void) {
  mp__owner_forget_in_child();
  /* Our parent's view of us is ours alone: a process forked from us,
   * whether by mproc (which gives it a sentinel of its own) or by the
   * program's own fork(), must neither keep it open after we are gone nor
   * report an exit code on it. */
  if (mp__posix_own_sentinel >= 0)
    close(mp__posix_own_sentinel);
  mp__posix_own_sentinel = -1;
}

int mp__os_handle_dup(int64_t h, int64_t *out) {
  int fd = fcntl((int)h, F_DUPFD_CLOEXEC, 3);
  if (fd < 0)
    return mp__os_error(errno);
  *out = fd;
  return 0;
}

void mp__os_handle_close(int64_t h) { close((int)h); }

int mp__os_random(void *buf, size_t len) {
  unsigned char *p = buf;
  while (len > 0) {
    /* getentropy: at most 256 bytes a call; in glibc >= 2.25, musl, the
     * BSDs and macOS, and never short of entropy once the system booted. */
    size_t n = len > 256 ? 256 : len;
    if (getentropy(p, n) != 0)
      return mp__os_error(errno);
    p += n;
    len -= n;
  }
  return 0;
}

mp_pid mp__os_current_pid(void) { return (mp_pid)getpid(); }
mp_pid mp__os_parent_pid(void) { return (mp_pid)getppid(); }

int mp__os_cpu_count(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

int mp__os_last_error(void) { return errno; }

/* Through a pointer filled at load, as child.c explains: every child
 * ends here. */
static void (*volatile const exit_fn)(int) = _exit;
void mp__exit_now(int code) { exit_fn(code); }

/* The kernel's own answer where there is one: it also covers file
 * capabilities and LSM transitions, which comparing ids would miss. */
int mp__os_secure_exec(void) {
#if defined(__linux__)
  return getauxval(AT_SECURE) != 0;
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) ||  \
    defined(__NetBSD__) || defined(__DragonFly__)
  return issetugid() != 0;
#else
  return getuid() != geteuid() || getgid() != getegid();
#endif
}

/* ftrylockfile: a stream another thread is writing to (perhaps blocked
 * for ever on a pipe nobody reads) is skipped, not waited for. */
void mp__os_flush_std(void) {
  FILE *streams[2] = {stdout, stderr};
  for (int i = 0; i < 2; i++)
    if (ftrylockfile(streams[i]) == 0) {
      fflush(streams[i]); /* the stream's lock is recursive */
      funlockfile(streams[i]);
    }
}

void mp__os_die_now(void) {
  kill(getpid(), SIGKILL);
  _exit(137); /* not reached */
}

int mp__getenv(const char *name, char *buf, size_t cap) {
  const char *v = getenv(name);
  if (!v)
    return -1;
  if (strlen(v) >= cap)
    return 1;
  strcpy(buf, v);
  return 0;
}

void mp__unsetenv(const char *name) { unsetenv(name); }
