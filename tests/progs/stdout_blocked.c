/* A start is not held up by another thread stuck writing to stdout.
 *
 * Its stdout becomes a pipe nobody reads. A thread writes to stdout until
 * it blocks inside the write, holding the stream's lock; then main starts
 * a process (the leg's method) whose target returns 7. Exit code: 0 when
 * the start returned within START_BOUND_MS and the child exited with 7;
 * 3 when the start was still blocked after WATCHDOG_MS; 4 when the start
 * or the join failed; 5 when the writer never got stuck; 6 on Windows,
 * whose C runtime cannot tell a busy stream (mproc.h). It leaves with
 * _exit: exit() would flush stdout, and wait for the writer as well. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/test_support.h"

#define START_BOUND_MS 10000
#define WATCHDOG_MS 30000

#ifdef _WIN32
int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  return 6;
}
#else
#include <sys/ioctl.h>
#include <unistd.h>

static int writer(void *arg) {
  (void)arg;
  static char chunk[65536];
  memset(chunk, 'x', sizeof chunk);
  for (;;)
    fwrite(chunk, 1, sizeof chunk, stdout);
  return 0;
}

static int watchdog(void *arg) {
  (void)arg;
  tst_sleep_ms(WATCHDOG_MS);
  fprintf(stderr, "stdout_blocked: the start is still blocked\n");
  _exit(3);
}

static int seven(void *arg) {
  (void)arg;
  return 7;
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  int p[2];
  if (pipe(p) != 0 || dup2(p[1], 1) != 1)
    return 5;
  /* p[0] stays open and unread: writes block instead of failing. */
  if (!tst_thread_start(writer, NULL))
    return 5;
  /* Stuck: the pipe is full and the writer holds stdout's lock. */
  int64_t deadline = tst_now_ms() + 20000;
  for (;;) {
    int queued = 0;
    ioctl(p[0], FIONREAD, &queued);
    if (queued >= 65536 && ftrylockfile(stdout) != 0)
      break;
    if (queued >= 65536)
      funlockfile(stdout);
    if (tst_now_ms() > deadline)
      _exit(5);
    tst_sleep_ms(10);
  }
  tst_sleep_ms(100); /* well inside write(2) */
  tst_thread_start(watchdog, NULL);

  mp_process *c = NULL;
  int64_t t0 = tst_now_ms();
  if (mp_process_create(&c, seven, NULL, 0, NULL) != 0 ||
      mp_process_start(c) != 0)
    _exit(4);
  int64_t took = tst_now_ms() - t0;
  int code = -1;
  if (mp_process_join(c, 60000) != 0 || mp_process_exitcode(c, &code) != 0)
    _exit(4);
  fprintf(stderr, "stdout_blocked: start took %lld ms, child exit code %d\n",
          (long long)took, code);
  _exit(took < START_BOUND_MS && code == 7 ? 0 : 4);
}
#endif
