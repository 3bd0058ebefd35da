/* POSIX types behind the backend interface in ../internal.h. */
#ifndef MPROC_POSIX_OS_H
#define MPROC_POSIX_OS_H

#include <pthread.h>
#include <stdatomic.h>
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

/* The body of mp__rmutex (shared.h) on this OS: a futex word holding the
 * owner's token (owner.c), 0 when free. Depth is the holder's alone. */
#define MP__RMUTEX_OS_FIELDS                                                   \
  _Atomic uint32_t word;                                                       \
  uint32_t depth;                                                              \
  uint32_t recursive;

/* After fork, in the child: the thread has no token yet. */
void mp__owner_forget_in_child(void);
/* A lock-owner slot's OS lock (owner.c): a robust pthread mutex. */
#define MP__OWNER_OS_BYTES sizeof(pthread_mutex_t)

/* Where in the arena the owner table lives: after the arena header, before
 * the first block (see MP__ARENA_HEADER_BYTES in shared.h). */
#define MP__OS_ARENA_AT 65536u
#define MP__OS_ARENA_BYTES (1u << 20)

/* In a child: the write end of its own sentinel, which its forked
 * children must close so that they do not keep it open. -1 otherwise. */
extern int mp__posix_own_sentinel;

/* Daemons: die when the parent does, and check it has not already. */
void mp__posix_die_with_parent(int64_t parent_pid);

#endif
