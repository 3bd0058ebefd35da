/* Fault points: places where a test makes a process die (or stall) at the
 * moment it chooses, such as between publishing a message and waking its
 * reader, or in the middle of a send, instead of killing it at random.
 *
 * Compiled in only with the CMake option MPROC_FAULT_POINTS, which the
 * test legs turn on; otherwise MP__FAULT expands to nothing and neither
 * the code nor the symbols below exist. A point is armed per thread, by
 * the code about to pass it (a test's child role), so one process's
 * faults never fire in another. */
#ifndef MPROC_FAULT_H
#define MPROC_FAULT_H

#include <stddef.h>

#include "mproc.h"

typedef enum {
  MP__FAULT_KILL = 1, /* die at once, as SIGKILL would: -9 to the parent */
  MP__FAULT_PAUSE = 2 /* sleep ms milliseconds, then go on (and disarm) */
} mp__fault_action;

#ifdef MPROC_FAULT_POINTS
/* Arms point for the calling thread: the (skip + 1)-th time this thread
 * passes it, the action is taken. One armed point per thread; a later
 * call replaces it, a NULL point disarms. Exported only in builds with
 * fault points, for the tests. */
MP_API void mp__fault_arm(const char *point, unsigned skip,
                          mp__fault_action action, int ms);
/* 1 if this thread has an armed point: lets a test role check it did not
 * pass its point before the moment it meant. */
MP_API int mp__fault_pending(void);
/* Makes every nap of this process (deadline.h) last ms, 0 to restore the
 * policy: a wake that a bug loses then costs ms, not at most one nap, and
 * a test can tell. */
MP_API void mp__fault_fixed_nap(int ms);
/* Where a queue lives in this process: the object (obj_bytes long), the
 * chunk at its head and the head record, for a test that plays a rogue
 * process of the family and overwrites them (queue.c). 0 or MP_EINVAL. */
MP_API int mp__fault_queue_memory(mp_queue *q, void **obj, size_t *obj_bytes,
                                  void **head_chunk, void **head_rec);
#ifdef _WIN32
/* The name (UTF-8) the kernel object of kind kind ('m' mutex, 'w' wait
 * word) will get whose key is the one handed out `ahead` keys from now:
 * lets a test squat it from outside the family (win32/names.c). 0, or
 * MP_EINVAL without an arena or room. */
MP_API int mp__fault_win_name(unsigned ahead, char kind, char *out,
                              size_t cap);
#endif
void mp__fault_hit(const char *point);
extern _Thread_local const char *mp__fault_point;
#define MP__FAULT(point)                                                       \
  do {                                                                         \
    if (mp__fault_point)                                                       \
      mp__fault_hit(point);                                                    \
  } while (0)
#else
#define MP__FAULT(point) ((void)0)
#endif

#endif
