/* A child's own side on POSIX: the spawned child's setup, and how every
 * child (forked or spawned) ends. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) ||      \
    defined(__NetBSD__) || defined(__DragonFly__)
#define MP__FPURGE fpurge
#else
#include <stdio_ext.h> /* glibc, musl */
#define MP__FPURGE __fpurge
#endif

#include "internal.h"

/* The C library functions a forked child calls but its parent never does
 * are called through pointers the loader fills when the program starts.
 * Called the usual way, through lazily bound PLT stubs, each child would
 * bind them itself, on every start: the dynamic linker's lookups cost it
 * page faults in code and symbol tables it otherwise never touches, about
 * a third of the child's cost. volatile: so that the compiler keeps the
 * call through the pointer. (system.c does the same for _exit.) */
static void (*volatile const purge_fn)(FILE *) = MP__FPURGE;
#if defined(__GLIBC__)
static int (*volatile const on_exit_fn)(void (*)(int, void *),
                                        void *) = on_exit;
#endif
static ssize_t (*volatile const write_fn)(int, const void *, size_t) = write;

void mp__posix_forked_child_begin(void) {
  /* Whatever the parent had buffered in these two (it flushed them unless
   * another thread was writing) is the parent's to write: the child's copy
   * goes, so it never comes out twice. Other streams are the program's to
   * flush before a start, as with fork(2). */
  purge_fn(stdout);
  purge_fn(stderr);
}

void mp__os_child_setup(const mp__start_data *d) {
  int sentinel = (int)d->sentinel;
  /* Kept open for life, hidden from anything we exec. */
  if (fcntl(sentinel, F_SETFD, FD_CLOEXEC) == 0)
    mp__posix_own_sentinel = sentinel;
  if (d->daemon)
    mp__posix_die_with_parent(d->parent_pid);
}

#if defined(__GLIBC__)
/* The child the hook was registered in. A process the program forks from
 * it by itself inherits the hook, and must exit as after any fork(2). */
static mp_pid hooked_pid;

/* Registered in the child, after every handler it inherited, so it runs
 * first and never returns: exit(n) in a target ends the child as
 * returning n does, and a forked child never runs the handlers its parent
 * registered (Python's children never do). */
static void exit_as_child(int status, void *arg) {
  (void)arg;
  if ((mp_pid)getpid() == hooked_pid)
    mp__child_exit(status & 0xff);
}
#endif

void mp__os_child_exit_hook(void) {
#if defined(__GLIBC__)
  hooked_pid = (mp_pid)getpid();
  on_exit_fn(exit_as_child, NULL);
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
    n = write_fn(mp__posix_own_sentinel, msg, sizeof msg);
  while (n < 0 && errno == EINTR);
}
