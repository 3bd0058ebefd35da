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

/* The start data channel, parent side (channel.c): a named pipe with an
 * unguessable name, owner-only, first instance, local clients only. The
 * parent keeps the server end and gives the child the client end it
 * opened itself, as an inheritable handle. 0 or MP_ESYS. */
int mp__win_channel_create(HANDLE *server, HANDLE *client);
/* Writes it all; 0, or MP_ESYS once the child is gone. */
int mp__win_channel_write(HANDLE server, const void *buf, size_t len);

struct mp__file_id; /* internal.h */
/* The identity of the file a loaded module (or the executable) was mapped
 * from (image.c): the file at the name the kernel has for the mapping,
 * checked to carry the same image headers as the module in memory, since
 * that name does not follow renames everywhere (Wine). 0 or MP_ESYS. */
int mp__win_module_identity(HMODULE mod, struct mp__file_id *id);
/* The identity of the file open at h. 0 or MP_ESYS. */
int mp__win_file_identity(HANDLE h, struct mp__file_id *id);
/* The path to start this executable again: the one the handle opened on
 * it at the guard gives now (it follows renames on Windows), else the
 * path it was started from. 0 or MP_ESYS. */
int mp__win_exe_path(wchar_t *buf, DWORD cap);


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
