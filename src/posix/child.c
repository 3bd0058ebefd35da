/* A child's own side on POSIX: the spawned child's setup, and how every
 * child (forked or spawned) ends. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

void mp__os_child_setup(const mp__start_data *d) {
  int sentinel = (int)d->sentinel;
  /* Kept open for life, hidden from anything we exec. */
  if (fcntl(sentinel, F_SETFD, FD_CLOEXEC) == 0)
    mp__posix_own_sentinel = sentinel;
  if (d->daemon)
    mp__posix_die_with_parent(d->parent_pid);
}

#if defined(__GLIBC__)
/* Registered in the child, after every handler it inherited, so it runs
 * first and never returns: exit(n) in a target ends the child as
 * returning n does, and a forked child never runs the handlers its parent
 * registered (Python's children never do). */
static void exit_as_child(int status, void *arg) {
  (void)arg;
  mp__child_exit(status & 0xff);
}
#endif

void mp__os_child_exit_hook(void) {
#if defined(__GLIBC__)
  on_exit(exit_as_child, NULL);
#endif
  /* Without on_exit (musl, macOS, the BSDs) no handler learns the status
   * exit() was given, and ending the child from one would lose it. So
   * there exit(n) in a target still runs the atexit handlers the process
   * has (a forked child's include its parent's, as after fork(2)), and its
   * own children are finished by the at-exit handler the library
   * registered at its first start; the exit code is n. A target that
   * returns its code, or calls _exit, runs none of them. */
}

/* Just before the exit: a parent whose SIGCHLD is ignored, or whose
 * children another waiter reaps, never sees the status and reads this
 * instead (process.c). */
void mp__os_child_report(int code) {
  if (mp__posix_own_sentinel < 0)
    return;
  uint32_t msg[2] = {MP__POSIX_REPORT_MAGIC, (uint32_t)code & 0xffu};
  ssize_t n;
  do
    n = write(mp__posix_own_sentinel, msg, sizeof msg);
  while (n < 0 && errno == EINTR);
}
