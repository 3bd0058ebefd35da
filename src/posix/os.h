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
   * when the child is gone, and carries the exit code the child reports
   * just before it exits (child.c), for when its status is lost. */
  int sentinel;
  /* Linux >= 5.3: a pidfd, readable once the child has exited (waits
   * sleep on it, not on the sentinel, whose end of file comes before the
   * child can be reaped), and a safe target for signals. -1 elsewhere. */
  int pidfd;
  int signalled; /* the last signal we sent it, 0 if none */
} mp__os_proc;

/* What a child writes on its sentinel just before it exits: the magic,
 * then its exit code. */
#define MP__POSIX_REPORT_MAGIC 0x4d504558u /* "MPEX" */

/* The start data channel, parent side (channel.c): a close-on-exec
 * socket pair, and sending on it without SIGPIPE. 0 or MP_ESYS. */
int mp__posix_channel_pair(int fds[2]);
int mp__posix_channel_send(int fd, const void *buf, size_t len);

struct mp__file_id; /* internal.h */
/* The identity of the file mapped at addr in this process, as the kernel
 * lists its mappings (image.c); and of the file open at fd, taken the same
 * way by mapping one page of it for a moment, without running anything.
 * 0, or -1 if there is none. */
int mp__posix_mapped_id(const void *addr, struct mp__file_id *id);
int mp__posix_fd_mapped_id(int fd, struct mp__file_id *id);

/* The process at the other end of a connected AF_UNIX socket: its pid
 * and effective uid when it connected (or made the pair). 0, or -1 where
 * the OS cannot tell. */
int mp__posix_peer(int fd, mp_pid *pid, uint64_t *uid);

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

/* First thing in a forked child (child.c): drops the stdout and stderr
 * buffer contents it inherited. */
void mp__posix_forked_child_begin(void);

/* Daemons: die when the parent does, and check it has not already. */
void mp__posix_die_with_parent(int64_t parent_pid);

#endif
