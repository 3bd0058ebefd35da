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
 * by key; the owner's token (owner.c) is kept here because Lock must
 * refuse to nest and only the owner may release: a thread id alone would
 * pass for a thread that exited holding it once the OS reuses the id. */
#define MP__RMUTEX_OS_FIELDS                                                   \
  uint64_t key;                                                                \
  uint32_t obj16;                                                              \
  _Atomic uint32_t owner;                                                      \
  uint32_t depth;                                                              \
  uint32_t recursive;

/* The named kernel objects of the family (names.c). kind: 'w' a wait
 * word's semaphore, 'm' a mutex, 'o' a lock-owner slot's mutex. obj16:
 * the owning object's offset / 16 (0: none), whose id tells when it was
 * freed. The handles stay cached in this process: never close them. */
/* Creates the object, refusing one that exists already (NULL, with
 * ERROR_ALREADY_EXISTS as the OS error). owned: a mutex is created held
 * by the calling thread. */
HANDLE mp__win_create(uint64_t key, char kind, uint32_t obj16, int owned);
/* Opens it; or_create: makes it again if its name is gone (its last
 * handle was closed). NULL with the OS error stored (ERROR_FILE_NOT_FOUND:
 * no such object). */
HANDLE mp__win_open(uint64_t key, char kind, uint32_t obj16, int or_create);

/* Security attributes that let only the current user open an object:
 * every named object the library creates uses them (security.c). 0 or
 * MP_ESYS; *out stays valid for the life of the process. */
int mp__win_owner_only(SECURITY_ATTRIBUTES **out);

/* A lock-owner slot's OS lock (owner.c) is a named mutex: nothing of it
 * is in the arena. */
#define MP__OWNER_OS_BYTES 0

/* Where in the arena the owner table lives (owner.c): after the arena
 * header, before the first block (MP__ARENA_HEADER_BYTES in shared.h). */
#define MP__OS_ARENA_AT 65536u
#define MP__OS_ARENA_BYTES (1u << 20)

/* TerminateProcess needs an exit code; these two are mapped back to -15
 * and -9 so that terminate and kill read as they do on POSIX. Python uses
 * 0x10000 the same way; ours are less likely to be returned by a target. */
#define MP__WIN_TERMINATE_CODE 0x4D50000Fu
#define MP__WIN_KILL_CODE 0x4D500009u

#endif
