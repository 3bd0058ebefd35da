/* mproc — Python's multiprocessing model for C, on POSIX and Windows.
 *
 * This header is the whole public API. It is documented in the order a
 * program uses it: the main guard, the start method, creating and starting
 * a process, waiting for it, reading its result, freeing it.
 *
 * Conventions
 *   - Functions that can fail return int: 0 on success, a negative MP_E*
 *     code otherwise. mp_strerror() names a code. When the code is
 *     MP_ESYS, mp_last_os_error() returns the errno (POSIX) or
 *     GetLastError() (Windows) value of the call that failed, per thread.
 *   - Timeouts are int milliseconds on a monotonic clock: MP_INFINITE (-1)
 *     waits forever, 0 polls, any other negative value is MP_EINVAL.
 *   - The library never prints and never aborts on bad input. The one
 *     exception is the missing-main-guard diagnostic described below.
 *   - An mp_process object is used by one thread at a time. Different
 *     objects may be used from different threads.
 */
#ifndef MPROC_H
#define MPROC_H

#include <stddef.h>
#include <stdint.h>

#include "mproc/errors.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(MPROC_SHARED)
#if defined(MPROC_BUILDING)
#define MP_API __declspec(dllexport)
#else
#define MP_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) && defined(MPROC_BUILDING)
#define MP_API __attribute__((visibility("default")))
#else
#define MP_API
#endif

#define MPROC_VERSION_MAJOR 0
#define MPROC_VERSION_MINOR 1
#define MPROC_VERSION_PATCH 0

/* ---- Errors ------------------------------------------------------------ */

typedef enum {
#define MP__ERR_ENUM(name, value, text) MP_##name = (value),
  MP_ERRNO_MAP(MP__ERR_ENUM)
#undef MP__ERR_ENUM
} mp_errno;

/* A static English message for a code; "unknown error" for anything else.
 * mp_strerror(0) is "success". Never NULL. */
MP_API const char *mp_strerror(int code);

/* The raw OS error (errno or GetLastError()) behind the last MP_ESYS
 * returned on this thread; 0 if none. */
MP_API int mp_last_os_error(void);

#define MP_INFINITE (-1)

/* ---- 1. The main guard ------------------------------------------------- *
 *
 * The first line of main(), the C form of Python's
 *     if __name__ == '__main__':
 *
 *   int main(int argc, char **argv) {
 *       mp_main_guard(argc, argv);
 *       ...
 *
 * In the program a user launched it returns at once. In a child started by
 * spawn (always on Windows, on POSIX on request) the child is this same
 * executable run again; there mp_main_guard reads the child's start data
 * from the parent, runs the target and exits with its code: it never
 * returns, so the rest of main never runs in a child.
 *
 * A program that forgets the guard and starts a process under spawn does
 * not fork-bomb: the re-run child refuses to start a process, writes one
 * message to stderr naming mp_main_guard, and exits with code 1; the parent
 * sees a failed child. */
MP_API void mp_main_guard(int argc, char **argv);

/* ---- 2. The start method ---------------------------------------------- *
 *
 * FORK (POSIX only) copies the parent; SPAWN starts the executable again.
 * The default is FORK on POSIX and SPAWN on Windows; the environment
 * variable MP_START_METHOD=fork|spawn, read at first use, overrides the
 * default. A spawned child starts with its parent's method. */
typedef enum {
  MP_START_DEFAULT = 0,
  MP_START_FORK = 1,
  MP_START_SPAWN = 2
} mp_start_method;

/* MP_START_DEFAULT returns to the default. MP_ENOTSUP for FORK on Windows,
 * MP_EINVAL for a value outside the enum. */
MP_API int mp_set_start_method(mp_start_method method);

/* The method in effect: MP_START_FORK or MP_START_SPAWN, never DEFAULT. */
MP_API mp_start_method mp_get_start_method(void);

/* ---- 3. Creating a process -------------------------------------------- */

/* A process id; signed and 64-bit on every OS. 0 means "none". */
typedef int64_t mp_pid;

/* The function a child runs. Its return value (0-255) is the child's exit
 * code; calling exit(n) inside it works too. */
typedef int (*mp_target)(void *arg);

typedef struct mp_process mp_process;

typedef struct mp_process_options {
  /* The process name; copied. NULL: "Process-N" as Python names it
   * (N counts processes created by this process, from 1; a child's
   * children are "Process-N:M"). */
  const char *name;
  /* Non-zero: a daemon. A daemon cannot start children (MP_ESTATE). When
   * its parent exits normally the daemon is terminated; when its parent is
   * killed the daemon dies too (Linux: parent-death signal, bound to the
   * thread that started it; Windows: a kill-on-close job object). */
  int daemon;
  /* MP_START_DEFAULT: the method in effect at mp_process_start. */
  mp_start_method method;
} mp_process_options;

/* Creates a process object; nothing runs yet. The arg_size bytes at arg
 * are copied now; the child's target gets a pointer to its own copy
 * (aligned like malloc), or NULL when arg_size is 0. Under spawn the copy
 * travels through a pipe, so arg must not hold pointers into the parent.
 *
 * The target needs no registration: under spawn the child finds it by its
 * offset inside its module (executable or shared library), so static
 * functions work; the module must be loaded in the child as well.
 *
 * MP_EINVAL: out or target NULL, arg NULL with arg_size > 0, arg_size
 * above PTRDIFF_MAX, an invalid method, or a name of 0 or over 255 bytes.
 * MP_ENOTSUP: FORK on Windows. MP_ENOMEM. */
MP_API int mp_process_create(mp_process **out, mp_target target,
                             const void *arg, size_t arg_size,
                             const mp_process_options *opts);

/* ---- 4. Starting and watching it -------------------------------------- */

/* Starts the child. Flushes stdio first, so output buffered before the
 * call appears once. MP_ESTATE: already started, or the caller is a daemon
 * process. MP_ESYS: the OS refused (fork, posix_spawn, CreateProcess).
 * Under spawn it returns once the child's start data (with the copy of
 * arg) is handed to the OS pipe; a child that dies before reading it is
 * started all the same and shows its failure in its exit code (1). */
MP_API int mp_process_start(mp_process *p);

/* Waits until the child has exited: 0 once it has, MP_ETIMEDOUT if it has
 * not within timeout_ms, MP_ESTATE before start. */
MP_API int mp_process_join(mp_process *p, int timeout_ms);

/* 1 while the started child runs, 0 before start and after exit. A
 * negative MP_E* code on a NULL or broken object. */
MP_API int mp_process_is_alive(mp_process *p);

/* Asks the child to stop: SIGTERM on POSIX, TerminateProcess on Windows.
 * Its exit code is then -15 on every OS. Kill is SIGKILL / TerminateProcess
 * and gives -9. Both are no-ops (0) once the child has exited; MP_ESTATE
 * before start. Neither waits: follow with mp_process_join. */
MP_API int mp_process_terminate(mp_process *p);
MP_API int mp_process_kill(mp_process *p);

/* ---- 5. Reading the result -------------------------------------------- */

/* 0 and *code once the child has exited (and been waited for, which this
 * does without blocking); MP_ESTATE before that. The code is the target's
 * return value or exit() argument, or -N for a child ended by signal N;
 * Windows maps terminate to -15, kill to -9, an access violation to -11,
 * an illegal instruction to -4 and a division by zero to -8. */
MP_API int mp_process_exitcode(mp_process *p, int *code);

/* 0 before start. */
MP_API mp_pid mp_process_pid(const mp_process *p);

/* The process name; valid until mp_process_free. NULL for NULL. */
MP_API const char *mp_process_name(const mp_process *p);

/* 1 for a daemon, 0 otherwise, MP_EINVAL for NULL. */
MP_API int mp_process_daemon(const mp_process *p);

/* ---- 6. Freeing it ---------------------------------------------------- */

/* Frees the object. MP_ESTATE if the child was started and still runs
 * (join, terminate or kill it first); the object is then left intact. A
 * NULL p is MP_EINVAL. */
MP_API int mp_process_free(mp_process *p);

/* ---- The calling process ---------------------------------------------- */

MP_API mp_pid mp_current_pid(void);
MP_API mp_pid mp_parent_pid(void);
/* "MainProcess" in the launched program, the child's name in a child. */
MP_API const char *mp_current_name(void);
/* 1 inside a daemon child, 0 otherwise. */
MP_API int mp_current_daemon(void);
/* Logical CPUs usable by the system; at least 1. */
MP_API int mp_cpu_count(void);

/* ---- At exit ----------------------------------------------------------- *
 *
 * As Python does at interpreter exit: when the program returns from main or
 * calls exit() (and when a child's target returns), the library terminates
 * the daemon children it started and still runs, then waits for its
 * non-daemon children. */

#ifdef __cplusplus
}
#endif

#endif /* MPROC_H */
