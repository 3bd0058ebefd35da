/* The Process object: argument checks, state machine, names, and the
 * registry of started children that the at-exit policy walks. The OS work
 * is in <os>/process.c. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared.h"

mp__self_t mp__self = {"MainProcess", "", 0, 0, 0, 0, 0};

static mp_process *registry; /* started, not yet freed */
/* Atomic: threads starting their first children at once must register
 * the handler exactly once. */
static atomic_int atexit_registered;

static void registry_lock(void) { mp__local_lock(MP__LOCK_REGISTRY); }
static void registry_unlock(void) { mp__local_unlock(MP__LOCK_REGISTRY); }

static void registry_add(mp_process *p) {
  registry_lock();
  p->prev = NULL;
  p->next = registry;
  if (registry)
    registry->prev = p;
  registry = p;
  registry_unlock();
}

static void registry_remove(mp_process *p) {
  registry_lock();
  if (p->prev)
    p->prev->next = p->next;
  else if (registry == p)
    registry = p->next;
  if (p->next)
    p->next->prev = p->prev;
  p->prev = p->next = NULL;
  registry_unlock();
}

/* A forked child inherits its parent's list; those processes are its
 * siblings, which it must neither wait for nor signal (their pids are
 * its parent's to reap, and may be reused once reaped). The copies stay
 * readable, since the user may still hold pointers to them, but refuse to
 * act; their descriptors are the child's own copies and are closed. */
void mp__registry_reset_in_child(void) {
  mp_process *next;
  for (mp_process *p = registry; p; p = next) {
    next = p->next;
    if (p->state == MP__STARTED)
      p->inherited = 1;
    mp__os_proc_release(&p->os);
    p->prev = p->next = NULL; /* so that free unlinks nothing */
  }
  registry = NULL;
}

static void at_exit(void) { mp__finish_children(); }

void mp__ensure_atexit(void) {
  if (atomic_exchange(&atexit_registered, 1) == 0)
    atexit(at_exit);
}

/* The first started child not yet waited for at exit, or NULL. The
 * registry lock is a local lock (never held while blocking), so the waits
 * below happen outside it, one child at a time. */
static mp_process *next_to_finish(void) {
  registry_lock();
  mp_process *p = registry;
  while (p && (p->state != MP__STARTED || p->finishing))
    p = p->next;
  if (p)
    p->finishing = 1;
  registry_unlock();
  return p;
}

/* Python's policy at interpreter exit: terminate daemonic children, then
 * join everything. A daemon that ignores SIGTERM would hang the exit, so
 * it gets a second before it is killed. */
void mp__finish_children(void) {
  mp__pool_at_exit();
  registry_lock();
  for (mp_process *p = registry; p; p = p->next)
    if (p->state == MP__STARTED && p->daemon)
      mp__os_signal(p, 0);
  registry_unlock();
  mp_process *p;
  while ((p = next_to_finish()) != NULL) {
    if (p->daemon && mp__os_wait(p, 1000) == MP_ETIMEDOUT)
      mp__os_signal(p, 1);
    if (mp__os_wait(p, MP_INFINITE) == 0)
      p->state = MP__EXITED;
  }
}

void mp__child_run_and_exit(mp_target target, void *arg) {
  mp__os_child_exit_hook();
  mp__child_exit(target(arg));
}

/* _exit, not exit: the atexit handlers of a forked child are its
 * parent's, and Python's children never run them either. */
void mp__child_exit(int code) {
  mp__finish_children();
  fflush(NULL);
  mp__os_child_report(code);
  mp__exit_now(code);
}

static int valid(const mp_process *p) {
  return p != NULL && p->magic == MP__PROCESS_MAGIC;
}

int mp_process_create(mp_process **out, mp_target target, const void *arg,
                      size_t arg_size, const mp_process_options *opts) {
  if (out)
    *out = NULL;
  if (!out || !target || (arg_size > 0 && !arg) ||
      arg_size > (size_t)PTRDIFF_MAX)
    return MP_EINVAL;

  mp_process_options o = {NULL, 0, MP_START_DEFAULT};
  if (opts)
    o = *opts;
  if (o.name && (o.name[0] == '\0' || strlen(o.name) > MP__NAME_MAX))
    return MP_EINVAL;
  int rc = mp__check_method(o.method);
  if (rc < 0)
    return rc;

  mp_process *p = calloc(1, sizeof *p);
  if (!p)
    return MP_ENOMEM;
  p->magic = MP__PROCESS_MAGIC;
  p->target = target;
  p->daemon = o.daemon != 0;
  p->method = o.method;
  mp__os_proc_init(&p->os);

  registry_lock();
  unsigned n = ++mp__self.counter;
  registry_unlock();
  /* Deep nesting may cut the identity short; names stay unique enough
   * to read, and nothing else depends on it. */
  char identity[sizeof mp__self.identity + 16];
  if (mp__self.identity[0])
    sprintf(identity, "%s:%u", mp__self.identity, n);
  else
    sprintf(identity, "%u", n);
  memcpy(p->identity, identity, sizeof p->identity - 1);
  p->identity[sizeof p->identity - 1] = '\0';

  if (o.name) {
    p->name = malloc(strlen(o.name) + 1);
    if (p->name)
      strcpy(p->name, o.name);
  } else {
    p->name = malloc(sizeof "Process-" + strlen(p->identity));
    if (p->name)
      sprintf(p->name, "Process-%s", p->identity);
  }
  if (arg_size > 0) {
    p->arg = malloc(arg_size);
    if (p->arg)
      memcpy(p->arg, arg, arg_size);
  }
  if (!p->name || (arg_size > 0 && !p->arg)) {
    free(p->name);
    free(p->arg);
    free(p);
    return MP_ENOMEM;
  }
  p->arg_size = arg_size;
  *out = p;
  return 0;
}

static int start_spawn(mp_process *p) {
  mp__start_data d;
  memset(&d, 0, sizeof d);
  int rc = mp__os_exe_identity(&d.exe);
  if (rc == 0)
    rc = mp__module_locate((const void *)(uintptr_t)p->target, &d.target);
  if (rc < 0)
    return rc;
  strcpy(d.name, p->name);
  strcpy(d.identity, p->identity);
  d.parent_pid = mp__os_current_pid();
  d.daemon = p->daemon;
  d.parent_method = mp_get_start_method();
  d.arg_size = p->arg_size;
  rc = mp__inherit_snapshot(&d.inherit, &d.n_inherit);
  if (rc == 0)
    rc = mp__os_spawn(p, &d);
  mp__inherit_release(d.inherit, d.n_inherit);
  d.inherit = NULL;
  d.n_inherit = 0;
  return rc;
}

int mp_process_start(mp_process *p) {
  if (!valid(p))
    return MP_EINVAL;
  mp__refuse_if_missing_guard();
  if (p->state != MP__CREATED || mp__self.daemon)
    return MP_ESTATE;

  mp_start_method method = mp__effective_method(p->method);
  /* Its child would refuse the start data (guard.c): a set-user-ID
   * program's caller controls the environment the child would trust. */
  if (method == MP_START_SPAWN && mp__os_secure_exec())
    return MP_ENOTSUP;
  mp__ensure_atexit();
  /* The arena exists before the first child, so that every child shares
   * it and objects created later still reach children started now. A
   * failure here only matters to shared objects, which report it then. */
  mp__arena_ensure();
  /* Output the program printed before the start comes out before the
   * child's. Only stdout and stderr, and only when no other thread is in
   * the middle of a write to them: fflush(NULL) would wait for every
   * stream's lock, for ever behind a pipe nobody reads. A forked child
   * drops the copy of these two buffers it inherits (posix/process.c),
   * so whatever is left in them is written once, by the parent. */
  mp__os_flush_std();
  int rc = method == MP_START_FORK ? mp__os_fork(p) : start_spawn(p);
  if (rc < 0)
    return rc;
  p->state = MP__STARTED;
  registry_add(p);
  return 0;
}

/* Reaps without blocking when possible, so callers see exit promptly. */
static int wait_state(mp_process *p, int timeout_ms) {
  if (p->state == MP__EXITED)
    return 0;
  if (p->inherited)
    return MP_ESTATE;
  int rc = mp__os_wait(p, timeout_ms);
  if (rc == 0)
    p->state = MP__EXITED;
  return rc;
}

int mp_process_join(mp_process *p, int timeout_ms) {
  if (!valid(p) || timeout_ms < MP_INFINITE)
    return MP_EINVAL;
  if (p->state == MP__CREATED)
    return MP_ESTATE;
  return wait_state(p, timeout_ms);
}

int mp_process_is_alive(mp_process *p) {
  if (!valid(p))
    return MP_EINVAL;
  if (p->state != MP__STARTED)
    return 0;
  int rc = wait_state(p, 0);
  if (rc == MP_ETIMEDOUT)
    return 1;
  return rc < 0 ? rc : 0;
}

static int signal_process(mp_process *p, int kill) {
  if (!valid(p))
    return MP_EINVAL;
  if (p->state == MP__CREATED)
    return MP_ESTATE;
  if (p->state == MP__EXITED)
    return 0;
  if (p->inherited)
    return MP_ESTATE;
  return mp__os_signal(p, kill);
}

int mp_process_terminate(mp_process *p) { return signal_process(p, 0); }
int mp_process_kill(mp_process *p) { return signal_process(p, 1); }

int mp_process_exitcode(mp_process *p, int *code) {
  if (!valid(p) || !code)
    return MP_EINVAL;
  if (p->state == MP__CREATED)
    return MP_ESTATE;
  int rc = wait_state(p, 0);
  if (rc == MP_ETIMEDOUT)
    return MP_ESTATE;
  if (rc < 0)
    return rc;
  *code = p->exitcode;
  return 0;
}

mp_pid mp_process_pid(const mp_process *p) { return valid(p) ? p->pid : 0; }

const char *mp_process_name(const mp_process *p) {
  return valid(p) ? p->name : NULL;
}

int mp_process_daemon(const mp_process *p) {
  return valid(p) ? p->daemon : MP_EINVAL;
}

int mp_process_free(mp_process *p) {
  if (!valid(p))
    return MP_EINVAL;
  if (p->state == MP__STARTED && !p->inherited && wait_state(p, 0) != 0)
    return MP_ESTATE;
  if (p->state == MP__EXITED)
    registry_remove(p);
  mp__os_proc_release(&p->os);
  p->magic = 0;
  free(p->name);
  free(p->arg);
  free(p);
  return 0;
}

mp_pid mp_current_pid(void) { return mp__os_current_pid(); }

mp_pid mp_parent_pid(void) {
  return mp__self.parent_pid ? mp__self.parent_pid : mp__os_parent_pid();
}

const char *mp_current_name(void) { return mp__self.name; }
int mp_current_daemon(void) { return mp__self.daemon; }
int mp_cpu_count(void) { return mp__os_cpu_count(); }
