/* POSIX types behind the backend interface in ../internal.h. */
#ifndef MPROC_POSIX_OS_H
#define MPROC_POSIX_OS_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

typedef pthread_mutex_t mp__mutex;
#define MP__MUTEX_INIT PTHREAD_MUTEX_INITIALIZER

typedef struct mp__os_proc {
  /* Read end of a pipe whose write end only the child holds: it reads EOF
   * when the child is gone, which lets a join sleep in poll() with a
   * timeout instead of spinning on waitpid(WNOHANG). */
  int sentinel;
} mp__os_proc;

/* The body of mp__rmutex (shared.h) on this OS. */
#define MP__RMUTEX_OS_FIELDS                                                   \
  pthread_mutex_t m;                                                           \
  int32_t owner; /* kernel tid of the holder, 0 when free */                  \
  uint32_t depth;

/* In a child: the write end of its own sentinel, which its forked
 * children must close so that they do not keep it open. -1 otherwise. */
extern int mp__posix_own_sentinel;

/* Daemons: die when the parent does, and check it has not already. */
void mp__posix_die_with_parent(int64_t parent_pid);

#endif
