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
 *   - The library never prints and never aborts on bad input. The two
 *     exceptions are the missing-main-guard and the not-a-child
 *     diagnostics described below (section 1).
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
 * sees a failed child.
 *
 * Who is a child. A spawned child is recognised by the environment variable
 * MPROC_CHILD, which names the channel its start data comes through. Anyone
 * can set it, so the guard believes nothing before it has checked it:
 *   - in a secure-execution process (set-user-ID or set-group-ID, or with
 *     file capabilities: AT_SECURE on Linux, issetugid() elsewhere) it is
 *     refused outright; such a program's own spawn starts are MP_ENOTSUP
 *     (fork works);
 *   - the channel must be one the parent process made for this child: on
 *     POSIX an AF_UNIX stream socket created by the parent (its pid ==
 *     getppid()) under our effective uid; on Windows the client end of a
 *     named pipe whose server is the parent process. Nothing is read
 *     before these checks, so a terminal, a pipe or a file at that number
 *     never makes the process wait;
 *   - the start data must be well formed, name the parent as its parent,
 *     and come from the same executable (the identity of the file: POSIX
 *     device and inode, Windows volume serial and file index);
 *   - a shared library the target lives in is loaded only if it is the
 *     very file the parent has mapped (a replaced file is never loaded;
 *     see docs/design.md for the one window left on POSIX systems other
 *     than Linux).
 * A process that fails any check writes one line to stderr, naming
 * MPROC_CHILD and the reason, and exits with MP_EXITCODE_NOT_CHILD before
 * the rest of main runs. A parent sees that code when its child refused
 * (for instance because the program's file was replaced by another one
 * under the running parent, on Windows). */
#define MP_EXITCODE_NOT_CHILD 125

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
 * code; calling exit(n) inside it works too, and ends the child as
 * returning n would: its own children are finished, its stdio flushed,
 * and no atexit handler runs (a forked child's would be its parent's).
 * That last part needs the C library's on_exit (glibc): with other C
 * libraries (musl, macOS, the BSDs) exit(n) in a forked child runs the
 * handlers it inherited, as after fork(2); return the code, or call
 * _exit, to avoid them. */
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

/* Starts the child. Flushes stdout and stderr first, so that what the
 * program printed before the call comes out before the child's output,
 * and once: a forked child drops the copy of their buffers it inherits.
 * A stream another thread is writing to at that moment is left alone, so
 * a start never waits for it (on Windows, whose C runtime cannot tell,
 * it waits for such a write to end). Other streams are the program's to
 * flush before a forked start, as with fork(2): data left in their
 * buffers would be written by the parent and again by the child.
 * MP_ESTATE: already started, or the caller is a daemon process.
 * MP_ENOTSUP: spawn in a set-user-ID or set-group-ID process (see
 * section 1). MP_ESYS: the OS refused (fork, posix_spawn, CreateProcess).
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
 * an illegal instruction to -4 and a division by zero to -8.
 *
 * POSIX: when the program ignores SIGCHLD, or another part of it reaps
 * children with waitpid(-1), the child's status is taken before mproc can
 * read it. The process still counts as exited (join returns 0, free
 * works), and its code is the one the child reported just before it
 * exited (its return value or exit() argument), or -N if mproc had sent
 * it signal N, or else MP_EXITCODE_UNKNOWN (a child killed by someone
 * else). A child whose status is lost is never signalled afterwards. */
MP_API int mp_process_exitcode(mp_process *p, int *code);

#define MP_EXITCODE_UNKNOWN (-2147483647 - 1)

/* 0 before start. */
MP_API mp_pid mp_process_pid(const mp_process *p);

/* The process name; valid until mp_process_free. NULL for NULL. */
MP_API const char *mp_process_name(const mp_process *p);

/* 1 for a daemon, 0 otherwise, MP_EINVAL for NULL. */
MP_API int mp_process_daemon(const mp_process *p);

/* ---- 6. Freeing it ---------------------------------------------------- */

/* Frees the object. MP_ESTATE if the child was started and still runs
 * (join, terminate or kill it first); the object is then left intact. A
 * NULL p is MP_EINVAL.
 *
 * In a forked child, the copies of the process objects its parent had
 * started name its siblings, not its children: join, is_alive, terminate,
 * kill and exitcode on them give MP_ESTATE (as Python refuses to join
 * another process's child); free works. */
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

/* ==== Shared objects ==================================================== *
 *
 * Queues, locks, semaphores, events, conditions, barriers and shared memory
 * live in one shared-memory arena per process family. Each object is a
 * plain value handle of three 64-bit words: copy it byte for byte into an
 * argument block, a struct in shared memory or a queue message, and it
 * works there, in every process started (by fork or by spawn) after the
 * arena came to be, which is at the first object or process the family
 * creates. No extra call is needed in the child.
 *
 * A handle reaching a process outside its arena (a process started before
 * any object or process existed in the creator, or an unrelated program)
 * gives MP_ENOTSUP. A freed, zeroed or forged handle gives MP_EINVAL: a
 * handle carries a check value only the family can compute, so a forged
 * one is refused before any shared memory is read, at no cost. An object
 * whose shared memory was overwritten by something other than the library
 * (a stray write, a hostile process of the family) gives MP_EINVAL too
 * where the damage is seen: it is refused, never trusted as an address or
 * a length.
 *
 * Lifetime: every *_create has a *_free, which any one process calls once
 * when no process uses the object any more; using it afterwards is
 * MP_EINVAL. The arena itself has no name (Linux: memfd; Windows: an
 * unnamed section) and is returned to the OS by the kernel when the last
 * process of the family exits, however it exits, kill -9 included: there
 * is never anything left in /dev/shm, and no named semaphore. Windows
 * waits use named kernel objects ("Local\mproc-..."), which the kernel
 * also deletes with their last handle. Their names hold a secret of the
 * family and they admit the current user only; a *_create whose kernel
 * object's name is taken already (by a process outside the family) fails
 * with MP_ESYS, mp_last_os_error() ERROR_ALREADY_EXISTS, rather than use
 * an object it did not make. See docs/design.md for what this protects. */

typedef struct mp_lock { uint64_t _arena, _off, _id; } mp_lock;
typedef struct mp_rlock { uint64_t _arena, _off, _id; } mp_rlock;
typedef struct mp_sem { uint64_t _arena, _off, _id; } mp_sem;
typedef struct mp_event { uint64_t _arena, _off, _id; } mp_event;
typedef struct mp_cond { uint64_t _arena, _off, _id; } mp_cond;
typedef struct mp_barrier { uint64_t _arena, _off, _id; } mp_barrier;
typedef struct mp_shm { uint64_t _arena, _off, _id; } mp_shm;
typedef struct mp_queue { uint64_t _arena, _off, _id; } mp_queue;

/* ---- Lock: non-recursive, robust -------------------------------------- *
 * acquire: 0; MP_ETIMEDOUT; MP_EOWNERDEAD (acquired, but the holder died
 * holding it: the data it guards may be half-updated); MP_ESTATE if the
 * calling thread already holds it (Python would deadlock).
 * release: MP_ESTATE unless the calling thread holds it. Unlike Python,
 * a Lock has an owner: that is what lets a dead holder be detected. A
 * thread that exits holding it counts as dead too. A forked child is not
 * the holder of a Lock its parent holds. The owner is the thread itself,
 * not its id: a new thread the OS gives a dead holder's id is not it.
 * MP_ENOMEM from acquire if 16383 threads of the family already hold lock
 * ownership slots (see docs/design.md). */
MP_API int mp_lock_create(mp_lock *l);
MP_API int mp_lock_acquire(mp_lock *l, int timeout_ms);
MP_API int mp_lock_release(mp_lock *l);
MP_API int mp_lock_free(mp_lock *l);

/* ---- RLock: recursive, robust; as Lock, re-acquiring nests ------------ */
MP_API int mp_rlock_create(mp_rlock *l);
MP_API int mp_rlock_acquire(mp_rlock *l, int timeout_ms);
MP_API int mp_rlock_release(mp_rlock *l);
MP_API int mp_rlock_free(mp_rlock *l);

/* ---- Semaphore --------------------------------------------------------- *
 * bound 0: unbounded; otherwise value <= bound always, and a release that
 * would pass the bound is refused with MP_ESTATE (Python's
 * BoundedSemaphore). value > bound at create is MP_EINVAL. */
MP_API int mp_sem_create(mp_sem *s, unsigned value, unsigned bound);
MP_API int mp_sem_acquire(mp_sem *s, int timeout_ms);
MP_API int mp_sem_release(mp_sem *s);
MP_API int mp_sem_value(mp_sem *s, unsigned *value);
MP_API int mp_sem_free(mp_sem *s);

/* ---- Event -------------------------------------------------------------- *
 * wait: 0 once set, MP_ETIMEDOUT. is_set: 1 or 0. */
MP_API int mp_event_create(mp_event *e);
MP_API int mp_event_set(mp_event *e);
MP_API int mp_event_clear(mp_event *e);
MP_API int mp_event_is_set(mp_event *e);
MP_API int mp_event_wait(mp_event *e, int timeout_ms);
MP_API int mp_event_free(mp_event *e);

/* ---- Condition: with its own recursive lock (Python's default) -------- *
 * wait, notify and notify_all need the lock held (MP_ESTATE otherwise).
 * wait releases it (however deep an RLock-style nesting), sleeps until
 * notified or timed out (0, MP_ETIMEDOUT) and re-acquires it to the same
 * depth before returning in both cases; MP_EOWNERDEAD if, while it slept,
 * a holder of the lock died (the lock is held again all the same).
 * notify(n) wakes n of the waiters present, never one that came after it;
 * a waiter that timed out or died while it waited does not count. With
 * more than 64 waiters at once it may wake more than n (spurious wake-ups,
 * as Python allows), never fewer. */
MP_API int mp_cond_create(mp_cond *c);
MP_API int mp_cond_acquire(mp_cond *c, int timeout_ms);
MP_API int mp_cond_release(mp_cond *c);
MP_API int mp_cond_wait(mp_cond *c, int timeout_ms);
/* Waits until pred(arg) is non-zero: 0, or MP_ETIMEDOUT with the
 * predicate still false. */
MP_API int mp_cond_wait_for(mp_cond *c, int (*pred)(void *arg), void *arg,
                            int timeout_ms);
MP_API int mp_cond_notify(mp_cond *c, unsigned n);
MP_API int mp_cond_notify_all(mp_cond *c);
MP_API int mp_cond_free(mp_cond *c);

/* ---- Barrier ------------------------------------------------------------ *
 * wait returns this party's index, 0 .. parties-1 (distinct within one
 * round), or MP_EBROKEN if the barrier is or becomes broken (abort, reset
 * while waiting, another party's timeout); a timeout breaks the barrier
 * and returns MP_ETIMEDOUT, as Python does. reset: back to empty, not
 * broken; parties waiting get MP_EBROKEN. */
MP_API int mp_barrier_create(mp_barrier *b, unsigned parties);
MP_API int mp_barrier_wait(mp_barrier *b, int timeout_ms);
MP_API int mp_barrier_abort(mp_barrier *b);
MP_API int mp_barrier_reset(mp_barrier *b);
MP_API int mp_barrier_broken(mp_barrier *b);   /* 1 or 0 */
MP_API int mp_barrier_parties(mp_barrier *b);
MP_API int mp_barrier_n_waiting(mp_barrier *b);
MP_API int mp_barrier_free(mp_barrier *b);

/* ---- Shared memory ------------------------------------------------------ *
 * size bytes, zero-filled, at the same content in every process (not the
 * same address). mp_shm_ptr maps on first use in the calling process; NULL
 * for a handle this process cannot use. The building block of Python's
 * Value and Array: guard them with a Lock. */
MP_API int mp_shm_create(mp_shm *m, size_t size);
MP_API void *mp_shm_ptr(mp_shm m);
MP_API size_t mp_shm_size(mp_shm m);
MP_API int mp_shm_free(mp_shm *m);

/* ---- Queue -------------------------------------------------------------- *
 * Messages are byte strings, 0 bytes to at least 64 MiB, kept whole.
 * maxsize counts messages; 0 is unbounded. put: MP_EFULL when no room in
 * time (timeout 0: do not block); MP_ECLOSED after mp_queue_close in this
 * process. get: MP_EEMPTY when nothing came in time; MP_EMSGSIZE with *len
 * set to the size needed when cap is too small, the message staying
 * queued. A process killed in the middle of put or get leaves only whole
 * messages: the one being put is not seen, the one being got stays. */
MP_API int mp_queue_create(mp_queue *q, size_t maxsize);
MP_API int mp_queue_put(mp_queue *q, const void *data, size_t len,
                        int timeout_ms);
MP_API int mp_queue_get(mp_queue *q, void *buf, size_t cap, size_t *len,
                        int timeout_ms);
MP_API int mp_queue_qsize(mp_queue *q);  /* messages, or a negative code */
MP_API int mp_queue_empty(mp_queue *q);  /* 1 or 0 */
MP_API int mp_queue_full(mp_queue *q);   /* 1 or 0 */
/* No more puts from this process. Other processes are unaffected. */
MP_API int mp_queue_close(mp_queue *q);
MP_API int mp_queue_free(mp_queue *q);
/* Python's JoinableQueue: every get is matched by a task_done; join waits
 * until all are. task_done on a plain queue is MP_ENOTSUP, one too many is
 * MP_ESTATE. */
MP_API int mp_joinable_queue_create(mp_queue *q, size_t maxsize);
MP_API int mp_queue_task_done(mp_queue *q);
MP_API int mp_queue_join(mp_queue *q, int timeout_ms);

/* ==== Pipe and Connection ============================================= *
 *
 * Python's Pipe(): mp_pipe_create makes two connected ends. An end is a
 * plain value handle of three words, copied byte for byte into argument
 * blocks and structs like the shared objects above, but it names real
 * OS pipes (Linux: a pipe per direction; Windows: a named pipe with a
 * unique name), so the kernel itself tells a reader that every copy of the
 * other end is closed, also when the process holding it was killed.
 *
 * Copies: the ends work in the creating process and in every process it
 * starts afterwards, by fork or by spawn; each child holds its own copy of
 * every end open in its parent at start, until it closes it or exits. As
 * in Python, each process closes the ends it does not use, the parent
 * right after starting the child that uses them: a reader sees MP_EEOF
 * only once every copy of the writing end is closed.
 *
 * Handle errors: MP_EINVAL for a zeroed or forged handle (and NULL);
 * MP_ENOTSUP in a process that never had that end (sent through a queue
 * to an older sibling, or a spawned child started after its parent closed
 * it), and for an end of another process family, even one whose id equals
 * that of an end of ours (ids are unique in a family whatever the pids,
 * not across families); MP_ECLOSED once mp_conn_close ran in this process
 * (or, for a forked child, in its parent before the fork). mp_conn_close
 * leaves the handle as it is. A process keeps memory for the ends it
 * holds, not for the ones it closed.
 *
 * Messages are byte strings of 0 bytes up to PTRDIFF_MAX, kept whole: one
 * send is one recv. One thread at a time sends on an end and one thread
 * at a time receives from it (recv, poll and mp_wait count as receiving);
 * only one process reads an end, and processes sharing a writing end take
 * turns (a lock), as in Python. A writer killed in the middle of a send
 * leaves no partial message: the reader never gets any of it, and goes on
 * with the next whole message of the writers that live (MP_EEOF once every
 * copy of the writing end is closed). Bytes on the pipe that are not a
 * message of ours are skipped the same way.
 *
 * Fork: a forked child has only the thread that called fork. A receive
 * that another thread had in progress at that moment is abandoned in the
 * child, with what it had read of its message; the child's next receive
 * starts at the next whole message.
 *
 * Lifetime: no _free. mp_conn_close releases this process's copy; the OS
 * releases a process's copies when it exits, however it exits, and the
 * pipe goes with its last copy: nothing is left behind, kill -9 included.
 */
typedef struct mp_conn { uint64_t _a, _b, _c; } mp_conn;

/* duplex non-zero: both ends send and receive. duplex 0: a only receives
 * and b only sends; the other direction is MP_ENOTSUP. MP_EINVAL: a or b
 * NULL or the same. MP_ESYS: out of descriptors or handles. */
MP_API int mp_pipe_create(mp_conn *a, mp_conn *b, int duplex);

/* Sends len bytes (data may be NULL when len is 0). Blocks until the OS
 * pipe has taken them all; no timeout, as in Python. MP_EEOF: the other
 * end is closed everywhere (Python's BrokenPipeError); never SIGPIPE.
 * POSIX: for the duration of the write SIGPIPE is blocked in the calling
 * thread, and the one the write raises is discarded; its disposition is
 * never changed, and a SIGPIPE the thread already had pending stays. */
MP_API int mp_conn_send(mp_conn *c, const void *data, size_t len);

/* Receives the next message into buf (NULL allowed when cap is 0) and sets
 * *len to its size. MP_ETIMEDOUT: no whole message within timeout_ms
 * (what arrived so far is kept for the next call). MP_EMSGSIZE: cap is
 * too small; *len is set to the size needed and the message stays. MP_EEOF:
 * every copy of the other end is closed and no whole message is left. */
MP_API int mp_conn_recv(mp_conn *c, void *buf, size_t cap, size_t *len,
                        int timeout_ms);

/* 1 if data or end of file is there to receive (a recv would not wait for
 * a message to start), 0 if none came within timeout_ms. Consumes
 * nothing. */
MP_API int mp_conn_poll(mp_conn *c, int timeout_ms);

/* Closes this process's copy of the end. Closing again is 0. Copies held
 * by other processes are unaffected. */
MP_API int mp_conn_close(mp_conn *c);

/* ---- Waiting on several objects at once ---------------------------- *
 * Python's multiprocessing.connection.wait. An item is ready when
 *   MP_WAIT_CONN     a connection end has data or end of file (mp_conn_poll
 *                    would return 1);
 *   MP_WAIT_QUEUE    a queue is not empty (mp_queue_empty would return 0);
 *   MP_WAIT_PROCESS  a started process has exited (it is not reaped:
 *                    mp_process_join then returns at once).
 * mp_wait sets every item's ready field (1 or 0) and returns how many are
 * ready, at least 1; MP_ETIMEDOUT if none is within timeout_ms. Any number
 * of items, on every OS (no 64-object limit on Windows). Queues are
 * checked at most a few milliseconds apart; connections and processes
 * wake the wait at once. MP_EINVAL: items NULL, n 0, an unknown kind, a
 * NULL or invalid object, a bad timeout. MP_ESTATE: a process not started.
 * The handle errors of each object as above. */
typedef enum {
  MP_WAIT_CONN = 1,
  MP_WAIT_QUEUE = 2,
  MP_WAIT_PROCESS = 3
} mp_wait_kind;

typedef struct mp_wait_item {
  mp_wait_kind kind;
  union {
    mp_conn *conn;
    mp_queue *queue;
    mp_process *process;
  } obj;
  int ready; /* set by mp_wait */
} mp_wait_item;

MP_API int mp_wait(mp_wait_item *items, size_t n, int timeout_ms);

/* ==== Process Pool ===================================================== *
 *
 * Python's multiprocessing.Pool: a fixed number of worker processes run
 * tasks handed to them, one at a time each, and send the results back.
 *
 *   mp_pool *pool;
 *   mp_pool_create(&pool, NULL);                  Pool()
 *   mp_pool_apply(pool, square, &x, sizeof x,     pool.apply(square, (x,))
 *                 &y, sizeof y, NULL);
 *   mp_pool_close(pool);                          pool.close()
 *   mp_pool_join(pool, MP_INFINITE);              pool.join()
 *   mp_pool_free(pool);
 *
 * Workers are daemon processes started by fork or spawn like any
 * mp_process (Windows: spawn; no limit of 61 or 64 workers there). A task
 * is a function and an argument block of bytes, copied when the task is
 * submitted; under spawn the worker finds the function by its offset in
 * its module, as it finds a process target (static functions work). A
 * task may use any queue, lock, semaphore, event, condition, barrier or
 * shared memory, created before or after the pool: copy the handle into
 * its argument. A pipe end works in a task if it was open in this process
 * when the worker started (the pool starts its first workers in
 * mp_pool_create, replacements later); otherwise the pipe functions say
 * MP_ENOTSUP in the worker, as for any child.
 *
 * Beyond Python: a worker that dies in the middle of a task (a crash,
 * kill -9, exit() in the task) does not hang the pool: that task fails
 * with MP_EWORKERDIED, its error callback runs once, another worker takes
 * the dead one's place, and the tasks it had not started run elsewhere.
 * Workers die with the pool's process, also when it is killed.
 *
 * Threads: the pool functions may be called from any thread of the
 * process that created the pool; from another process (a forked child of
 * it) every call on the pool and its results is MP_EINVAL. The pool runs
 * two threads of its own: one starts and watches the workers, the other
 * receives results and runs the callbacks. */

typedef struct mp_result mp_result; /* where a task leaves its result */

/* A task, run in a worker: arg is its own copy of the argument block,
 * aligned as malloc aligns (NULL when arg_size is 0). 0: success; any
 * other value: the task failed with that code, which is carried back to
 * the caller (mp_pool_last_task_code, mp_async_task_code). */
typedef int (*mp_task)(const void *arg, size_t arg_size, mp_result *res);

/* In a task: copies len bytes as the task's result (0 bytes allowed; a
 * task that never calls it has an empty result). Calling it again replaces
 * the result; a task that fails has none. MP_EINVAL for NULL res, or data
 * NULL with len > 0; MP_ENOMEM. */
MP_API int mp_result_set(mp_result *res, const void *data, size_t len);

/* ---- Creating a pool ---------------------------------------------------- */

typedef struct mp_pool mp_pool;

typedef struct mp_pool_options {
  unsigned processes;        /* 0: mp_cpu_count(); at most 4096 */
  mp_target initializer;     /* NULL: none. Runs once in each worker before
                                its first task, on a copy of initarg (which
                                stays valid for the worker's life); a
                                non-zero return: that worker failed to start */
  const void *initarg;
  size_t initarg_size;
  unsigned maxtasksperchild; /* 0: a worker lives as long as the pool; else
                                it is replaced after that many tasks (a map
                                chunk counts as one, as in Python) */
  mp_start_method method;    /* MP_START_DEFAULT: the method in effect */
} mp_pool_options;

/* Starts the workers and waits until each has run its initializer. opts
 * NULL: every default. MP_ETASK: an initializer failed (its code:
 * mp_pool_last_task_code); MP_EWORKERDIED: a worker died before it was
 * ready; MP_ESYS: the OS would not start one. On any failure nothing is
 * left running and *out is NULL. MP_EINVAL: out NULL, initarg NULL with
 * initarg_size > 0, more than 4096 processes, a method outside the enum, or
 * an initializer that is not code of a loaded module. MP_ENOTSUP: fork on
 * Windows. MP_ESTATE: the caller is a daemon (a pool worker included),
 * which cannot start processes. */
MP_API int mp_pool_create(mp_pool **out, const mp_pool_options *opts);

/* ---- Running one task --------------------------------------------------- *
 * Common errors of the calls that submit tasks (apply, apply_async, map,
 * map_async, imap): MP_EINVAL for a NULL pool or task, arg NULL with
 * arg_size > 0, items NULL with count > 0, item_size 0 with count > 0,
 * results NULL with result_size > 0, out/buf NULL with cap > 0, a timeout
 * below -1, a pool of another process, or a task that is not code of a
 * loaded module; MP_ESTATE once the pool is closed or terminated;
 * MP_ENOMEM. */

/* Runs task(arg) in a worker and waits for it. The result goes to out (cap
 * bytes; out may be NULL when cap is 0), its size to *out_len (out_len
 * may be NULL). 0; MP_ETASK (the task returned non-zero: its code is
 * mp_pool_last_task_code()); MP_EWORKERDIED (its worker died while it
 * ran); MP_EMSGSIZE (*out_len set to the size needed; the result is lost);
 * MP_ECLOSED (the pool was terminated meanwhile). MP_ESTATE in a callback,
 * where it would wait for the thread running it. */
MP_API int mp_pool_apply(mp_pool *p, mp_task task, const void *arg,
                         size_t arg_size, void *out, size_t cap,
                         size_t *out_len);

/* The code of the last task that failed with MP_ETASK, as the last call on
 * this thread that returned MP_ETASK saw it (mp_pool_apply, mp_pool_map,
 * mp_async_get, mp_imap_next, mp_pool_create). Per thread. */
MP_API int mp_pool_last_task_code(void);

/* ---- Running a task without waiting: AsyncResult ----------------------- */

typedef struct mp_async mp_async;

typedef struct mp_async_options {
  /* Run in the pool's result thread, exactly once per task: callback when
   * it succeeded, error_callback when it failed, its worker died or the
   * pool was terminated before it ran (never both). Before it returns,
   * mp_async_wait on the task does not return; inside it mp_async_get
   * works on a (the callback's own task). Keep them short: they hold up
   * every other result of the pool. */
  void (*callback)(mp_async *a, void *user);
  void (*error_callback)(mp_async *a, void *user);
  void *user;
} mp_async_options;

/* Submits task(arg); opts may be NULL. out may be NULL: fire and forget
 * (Python's po.apply_async(worker, (i,)) with the result unused); the
 * library then frees the handle itself once the callbacks ran (inside
 * them `a` is valid). */
MP_API int mp_pool_apply_async(mp_pool *p, mp_task task, const void *arg,
                               size_t arg_size, const mp_async_options *opts,
                               mp_async **out);

/* 0 once the task is over (and its callback has run); MP_ETIMEDOUT. In a
 * callback of the same pool, waiting for another task that is not over is
 * MP_ESTATE (it would wait for the thread running it). */
MP_API int mp_async_wait(mp_async *a, int timeout_ms);
MP_API int mp_async_ready(mp_async *a);      /* 1 or 0 */
MP_API int mp_async_successful(mp_async *a); /* 1 or 0; MP_ESTATE before ready */
/* Waits as mp_async_wait, then: 0 with the result in buf and its size in
 * *len (len may be NULL); MP_ETIMEDOUT; MP_ETASK (code:
 * mp_pool_last_task_code or mp_async_task_code); MP_EWORKERDIED;
 * MP_ECLOSED (terminated before it ended); MP_EMSGSIZE: *len is set to
 * the size needed and the result stays for another call with more room.
 * A map_async gives 0 or its failure (below) and uses no buffer (buf NULL,
 * cap 0 allowed). */
MP_API int mp_async_get(mp_async *a, void *buf, size_t cap, size_t *len,
                        int timeout_ms);
/* The failed task's code once ready and failed with MP_ETASK (a map: its
 * first failing item's), else 0. */
MP_API int mp_async_task_code(mp_async *a);
/* Frees it: MP_ESTATE while it is not ready, and for a fire-and-forget
 * handle (the library's). Allowed in its own callback (freed after it). A
 * handle stays valid after its pool was terminated or freed, until this. */
MP_API int mp_async_free(mp_async *a);

/* ---- map ---------------------------------------------------------------- *
 * count items of item_size bytes each; task(item i) leaves result i (at
 * most result_size bytes, zero-padded) at results + i*result_size, in input
 * order. Items reach the task aligned as malloc aligns. chunksize 0:
 * automatic, as Python's ceil(count / (4 * processes)); a chunk is one
 * task for the workers (and for maxtasksperchild): if its worker dies, each
 * of its items fails with MP_EWORKERDIED.
 *
 * Returns 0, or the failure of the first failing item in input order:
 * MP_ETASK (its code: mp_pool_last_task_code), MP_EWORKERDIED, MP_EMSGSIZE
 * (its result was larger than result_size) or MP_ECLOSED. The results of
 * the items that succeeded are written all the same; failed slots are
 * zeroed. count 0 returns 0 at once. results may be NULL with result_size
 * 0, for tasks whose results are empty. */
MP_API int mp_pool_map(mp_pool *p, mp_task task, const void *items,
                       size_t item_size, size_t count, void *results,
                       size_t result_size, size_t chunksize);
/* The same, not waiting: the items are copied before it returns; results
 * must stay valid until the mp_async is ready, which it is when every item
 * is done. Its callback runs once for the whole map (error_callback if any
 * item failed). */
MP_API int mp_pool_map_async(mp_pool *p, mp_task task, const void *items,
                             size_t item_size, size_t count, void *results,
                             size_t result_size, size_t chunksize,
                             const mp_async_options *opts, mp_async **out);

/* ---- imap and imap_unordered -------------------------------------------- */

typedef struct mp_imap mp_imap;

/* Submits every item (copied now) and returns an iterator. unordered 0:
 * results come in input order (imap); non-zero: as they finish
 * (imap_unordered). chunksize 0 is 1, Python's default for imap. out must
 * not be NULL. */
MP_API int mp_pool_imap(mp_pool *p, mp_task task, const void *items,
                        size_t item_size, size_t count, size_t chunksize,
                        int unordered, mp_imap **out);
/* The next result into buf, its size in *len and its input index in
 * *index (len and index may be NULL). 0; MP_EDONE after the last (every
 * index came exactly once); MP_ETIMEDOUT; MP_ETASK / MP_EWORKERDIED /
 * MP_ECLOSED for that item (iteration goes on with the next); MP_EMSGSIZE
 * (*len set, the result stays for a retry). *index is set on every return
 * that concerns an item. */
MP_API int mp_imap_next(mp_imap *it, void *buf, size_t cap, size_t *len,
                        size_t *index, int timeout_ms);
/* Frees it, also before the end (the pool goes on with its tasks and drops
 * their results). Valid after the pool was terminated or freed, until
 * this. */
MP_API int mp_imap_free(mp_imap *it);

/* ---- Ending a pool ------------------------------------------------------ */

/* No new tasks (MP_ESTATE from then on); those already submitted still run.
 * Returns at once. */
MP_API int mp_pool_close(mp_pool *p);
/* Stops now: kills the workers; every task not yet over fails with
 * MP_ECLOSED and its error callback runs (once). Returns once that is
 * done, and prompt with any number of tasks queued. From a callback it
 * returns at once and the pool stops when the callback returns. */
MP_API int mp_pool_terminate(mp_pool *p);
/* After close: waits until every task submitted is over (whether it
 * succeeded or not) and every worker has exited; after terminate, until
 * it is done. 0; MP_ETIMEDOUT; MP_ESTATE while the pool is open, and in a
 * callback. */
MP_API int mp_pool_join(mp_pool *p, int timeout_ms);
/* Frees the pool; one never joined is terminated first (as Python's
 * Pool.__del__). MP_ESTATE in a callback. mp_async and mp_imap handles
 * outlive it. */
MP_API int mp_pool_free(mp_pool *p);

/* ---- At exit ----------------------------------------------------------- *
 *
 * As Python does at interpreter exit: when the program returns from main or
 * calls exit() (and when a child's target returns), the library terminates
 * the pools still open (their error callbacks run), then terminates the
 * daemon children it started and still runs, then waits for its
 * non-daemon children. */

#ifdef __cplusplus
}
#endif

#endif /* MPROC_H */
