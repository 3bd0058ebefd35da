/* Win32 types behind the backend interface in ../internal.h. */
#ifndef MPROC_WIN32_OS_H
#define MPROC_WIN32_OS_H

#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0601 /* Windows 7: handle lists, processor groups */
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <stdint.h>

typedef SRWLOCK mp__mutex;
#define MP__MUTEX_INIT SRWLOCK_INIT

typedef struct mp__os_proc {
  HANDLE process; /* NULL when none; also the child's sentinel */
} mp__os_proc;

/* The body of mp__rmutex (shared.h) on this OS: the kernel mutex is found
 * by key; the owner is kept here because Lock must refuse to nest. */
#define MP__RMUTEX_OS_FIELDS                                                   \
  uint64_t key;                                                                \
  DWORD owner_pid;                                                             \
  DWORD owner_tid;                                                             \
  uint32_t depth;                                                              \
  int recursive;

/* Security attributes that let only the current user open an object:
 * every named object the library creates uses them (security.c). 0 or
 * MP_ESYS; *out stays valid for the life of the process. */
int mp__win_owner_only(SECURITY_ATTRIBUTES **out);

/* No arena space of this OS's own (POSIX keeps its lock owners there). */
#define MP__OS_ARENA_AT 65536u
#define MP__OS_ARENA_BYTES 0u

/* TerminateProcess needs an exit code; these two are mapped back to -15
 * and -9 so that terminate and kill read as they do on POSIX. Python uses
 * 0x10000 the same way; ours are less likely to be returned by a target. */
#define MP__WIN_TERMINATE_CODE 0x4D50000Fu
#define MP__WIN_KILL_CODE 0x4D500009u

#endif
