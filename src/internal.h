/* Internal interface between the shared code in src/ and the backends in
 * src/posix/ and src/win32/. Every non-static internal symbol is mp__.
 *
 * Data flow of a process start:
 *   process.c   checks arguments, keeps the state machine and the registry
 *   spawn_data.c  packs a child's start data into one byte block (spawn)
 *   <os>/process.c  fork, posix_spawn or CreateProcess; wait; signal
 *   <os>/module.c   target address <-> (module, offset), for spawn
 *   <os>/image.c    file identities: the executable, a module's mapped file
 *   <os>/channel.c  the channel that carries the start data, both sides,
 *                   and the child's checks that it comes from its parent
 *   <os>/child.c    the spawned child's setup; a child's exit report
 *   guard.c     the child side: read the block, check it, run the target
 */
#ifndef MPROC_INTERNAL_H
#define MPROC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mproc.h"
#include "os.h" /* the backend's own types: mp__os_proc, mp__mutex */

#define MP__NAME_MAX 255
#define MP__IDENTITY_MAX 127

/* Exit code of a child that could not run its target for want of a
 * resource (memory, mapping the arena), and of the missing-guard refusal.
 * A block or channel that fails a check is MP_EXITCODE_NOT_CHILD instead. */
#define MP__EXIT_BOOT_FAILED 1

/* The environment variable that marks a spawned child and names its start
 * data channel. Set only in the child's environment, removed by the guard
 * so that grandchildren started by other means never see it. */
#define MP__CHILD_ENV "MPROC_CHILD"

typedef enum {
  MP__CREATED = 0,
  MP__STARTED,
  MP__EXITED
} mp__proc_state;

/* A file's identity: POSIX device and inode, Windows volume serial and
 * file index. All zero: unknown. Compared only with an identity taken the
 * same way on the same machine. */
typedef struct mp__file_id {
  uint64_t dev, ino;
} mp__file_id;

/* Where a target lives, independent of address-space randomisation. */
typedef struct mp__module_ref {
  uint64_t offset;   /* target address minus the module's load base */
  int is_main;       /* the executable itself */
  mp__file_id file;  /* a shared library: the file the parent has mapped */
  char path[1024];   /* the module's file, for a shared library */
} mp__module_ref;

struct mp_process {
  uint32_t magic;    /* MP__PROCESS_MAGIC while alive; catches stale pointers */
  mp_target target;
  void *arg;         /* our copy; NULL when arg_size is 0 */
  size_t arg_size;
  char *name;
  char identity[MP__IDENTITY_MAX + 1]; /* "1", "1:2": names the children */
  int daemon;
  mp_start_method method;              /* DEFAULT: resolved at start */
  mp__proc_state state;
  mp_pid pid;
  int exitcode;
  mp__os_proc os;
  int finishing;                       /* the at-exit wait took it */
  /* A forked child's copy of an object its parent had started: that
   * process is a sibling, not a child, and must not be waited for or
   * signalled from here. */
  int inherited;
  struct mp_process *prev, *next;      /* registry of started children */
};

#define MP__PROCESS_MAGIC 0x6d70726fu /* "mpro" */

/* The calling process, as the library sees it. */
typedef struct mp__self {
  char name[MP__NAME_MAX + 1];
  char identity[MP__IDENTITY_MAX + 1]; /* "" in the launched program */
  unsigned counter;                    /* children created so far */
  mp_pid parent_pid;                   /* 0: ask the OS */
  int daemon;
  int is_spawned_child;                /* started by spawn, guard ran */
  int guard_ran;
} mp__self_t;

extern mp__self_t mp__self;

/* An OS handle a spawned child inherits: see shared.h. */
enum { MP__INHERIT_ARENA = 1, MP__INHERIT_CONN = 2 };

typedef struct mp__inherit_entry {
  uint32_t kind;
  uint32_t flags;
  uint64_t id;
  int64_t handle; /* fd or HANDLE value, in the process holding the table */
} mp__inherit_entry;

/* What a spawned child needs to become the process its parent created.
 * Packed by spawn_data.c into one block: header fields, then arg bytes. */
typedef struct mp__start_data {
  mp__file_id exe;               /* the parent's executable */
  mp__module_ref target;
  char name[MP__NAME_MAX + 1];
  char identity[MP__IDENTITY_MAX + 1];
  mp_pid parent_pid;
  int daemon;
  mp_start_method parent_method; /* the parent's method in effect */
  int64_t sentinel;              /* backend-specific inherited handle */
  uint64_t arg_size;
  /* The OS handles it inherits, with their values in the child. Owned by
   * the start data: mp__start_data_clear frees them. */
  mp__inherit_entry *inherit;
  size_t n_inherit;
} mp__start_data;

/* ---- error.c ---- */
int mp__os_error(int os_error);           /* stores it, returns MP_ESYS */

/* ---- atfork.c: process-local state across fork, the one policy ----
 * Every private lock of the library is a local lock: held only for a few
 * steps that never block, taken by every fork's prepare step in the order
 * below (code holding two takes them in this order too), re-made in the
 * child. See atfork.c. */
#define MP__LOCAL_LOCKS(XX)                                                    \
  XX(MP__LOCK_ARENA)    /* arena.c: creating the arena */                     \
  XX(MP__LOCK_REGISTRY) /* process.c: started children, the name counter */   \
  XX(MP__LOCK_INHERIT)  /* inherit.c: handles spawned children inherit */     \
  XX(MP__LOCK_CONNS)    /* conn.c: the pipe ends this process holds */        \
  XX(MP__LOCK_QUEUES)   /* queue.c: queues closed in this process */          \
  XX(MP__LOCK_POOLS)    /* pool.c: the pools of this process */               \
  XX(MP__LOCK_OS)       /* the backend's own (Windows: named objects, job) */

typedef enum {
#define MP__LOCAL_ENUM(id) id,
  MP__LOCAL_LOCKS(MP__LOCAL_ENUM)
#undef MP__LOCAL_ENUM
  MP__LOCK_COUNT
} mp__local_lock_id;

void mp__local_lock(mp__local_lock_id id);
void mp__local_unlock(mp__local_lock_id id);
/* The three steps of every fork, registered by the backend (POSIX:
 * pthread_atfork, before main; Windows has no fork). */
void mp__fork_prepare(void);
void mp__fork_parent(void);
void mp__fork_child(void);
/* The child hooks mp__fork_child runs, one per module with state to mend. */
void mp__registry_reset_in_child(void);  /* process.c: siblings aren't ours */
void mp__conn_after_fork_child(void);    /* conn.c */
void mp__queue_after_fork_child(void);   /* queue.c */
void mp__pool_after_fork_child(void);    /* pool.c: the parent's pools */
void mp__os_after_fork_child(void);      /* the backend */

/* ---- process.c ---- */
void mp__ensure_atexit(void);
void mp__finish_children(void);           /* the at-exit policy */
/* pool.c: terminates this process's open pools; the at-exit policy runs
 * it first, so no pool thread starts or reaps children meanwhile. */
void mp__pool_at_exit(void);
/* Runs a child's target and leaves as mp__child_exit does; exit(n) inside
 * the target leaves the same way where the C library allows it. */
void mp__child_run_and_exit(mp_target target, void *arg);
/* The end of every child: finishes its own children, flushes its stdio,
 * reports code to its parent and exits with it, running no atexit
 * handler. */
void mp__child_exit(int code);

/* ---- start_method.c ---- */
mp_start_method mp__effective_method(mp_start_method requested);
/* 0, MP_EINVAL outside the enum, MP_ENOTSUP for fork where there is none. */
int mp__check_method(mp_start_method method);

/* ---- spawn_data.c ---- */
/* Packs d (without the arg bytes, which follow it on the wire). */
int mp__start_data_pack(const mp__start_data *d, void **out, size_t *len);
int mp__start_data_unpack(const void *buf, size_t len, mp__start_data *d);
void mp__start_data_clear(mp__start_data *d);
/* The fixed-size prefix that tells the length of the packed header. */
#define MP__START_PREFIX_LEN 16

/* ---- guard.c: refusal in a guard-less spawned child ---- */
void mp__refuse_if_missing_guard(void);
/* Ends a process that was started with MP__CHILD_ENV set but is not a
 * child of ours: one line on stderr naming the variable and why, then
 * MP_EXITCODE_NOT_CHILD. */
void mp__not_our_child(const char *why);

/* ==== Backend interface (src/posix/X.c and src/win32/X.c) ==== */

/* system.c */
uint64_t mp__now_ms(void);                 /* monotonic */
void mp__sleep_ms(unsigned ms);
void mp__mutex_lock(mp__mutex *m);
void mp__mutex_unlock(mp__mutex *m);
void mp__mutex_reinit(mp__mutex *m);       /* to the unlocked initial state */
/* len bytes from the OS's cryptographic random source; 0 or MP_ESYS. */
int mp__os_random(void *buf, size_t len);
mp_pid mp__os_current_pid(void);
mp_pid mp__os_parent_pid(void);
int mp__os_cpu_count(void);
int mp__os_last_error(void);               /* errno / GetLastError() now */
void mp__exit_now(int code);               /* no atexit handlers */
/* 1 in a secure-execution process (set-user-ID or set-group-ID, file
 * capabilities: the kernel's AT_SECURE), which must not act on anything
 * its environment says. 0 where the OS has no such thing (Windows). */
int mp__os_secure_exec(void);
/* Flushes stdout and stderr before a start, each only if no other thread
 * holds it (where the C library can tell), so a start never waits for
 * another thread's write. */
void mp__os_flush_std(void);
/* Ends this process at once, as SIGKILL would (Windows: with the code that
 * reads as -9). For fault points (fault.h). */
void mp__os_die_now(void);
/* Copies the value of an environment variable: 0 if set, -1 if not, 1 if
 * set but cap bytes cannot hold it. */
int mp__getenv(const char *name, char *buf, size_t cap);
void mp__unsetenv(const char *name);

/* module.c */
/* Names the module holding addr and, for a shared library, the identity
 * of the file mapped there (image.c). */
int mp__module_locate(const void *addr, mp__module_ref *ref);
/* The address of ref in this process. A library not loaded yet is loaded
 * only after its file is checked to be the one the parent mapped. NULL
 * and a reason for the refusal if the module or its file does not match
 * or the offset does not fall inside its code. */
void *mp__module_resolve(const mp__module_ref *ref, const char **why);

/* image.c */
/* The identity of this process's executable, taken once (Windows: at the
 * guard, from a handle kept open) and cached. 0 or MP_ESYS. */
int mp__os_exe_identity(mp__file_id *id);

/* process.c */
int mp__os_fork(mp_process *p);            /* MP_ENOTSUP on Windows */
int mp__os_spawn(mp_process *p, const mp__start_data *d);
/* 0 once exited (p->exitcode set, OS handles released), MP_ETIMEDOUT.
 * A child whose status another waiter took (POSIX) counts as exited: its
 * code is the one it reported, -signal if we signalled it, else
 * MP_EXITCODE_UNKNOWN. */
int mp__os_wait(mp_process *p, int timeout_ms);
/* Terminate or kill; 0 without signalling once the child has exited. */
int mp__os_signal(mp_process *p, int kill);
void mp__os_proc_init(mp__os_proc *os);
void mp__os_proc_release(mp__os_proc *os); /* handles of an unreaped child */

/* channel.c: the spawned child's side. value is what the parent put in
 * MP__CHILD_ENV: a descriptor or a HANDLE value. Opening checks that it
 * names a channel its parent made for it (NULL, and *parent the pid of
 * the process that made it) or says why not. */
const char *mp__os_channel_open(const char *value, int64_t *channel,
                                mp_pid *parent);
int mp__os_channel_read(int64_t channel, void *buf, size_t len);
void mp__os_channel_close(int64_t channel);

/* child.c */
/* Makes the spawned child match d: parent-death signal for daemons,
 * crash reporting, the inherited sentinel. */
void mp__os_child_setup(const mp__start_data *d);
/* In a child about to run its target: makes exit(n) end it as returning
 * n would (mp__child_exit), where the C library allows it. */
void mp__os_child_exit_hook(void);
/* Tells the parent the exit code, in case it cannot read the status. */
void mp__os_child_report(int code);

#endif
