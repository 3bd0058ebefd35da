/* Tasks and helpers shared by the Pool tests (tests/test_pool*.c) and the
 * helper programs that run a pool (tests/progs/pool_*.c).
 *
 * Tasks run in pool workers: they never call cmocka asserts; they report
 * through their return code (0 or a failure code the test expects) and
 * their result bytes. Helpers named pu_assert_* / pu_pool* use cmocka and
 * are for the test process only. */
#ifndef MPROC_POOL_UTIL_H
#define MPROC_POOL_UTIL_H

#include <stdatomic.h>
#include <stdint.h>

#include "sync_util.h"

/* ---- tasks ---- */
/* int64 -> its square. */
int pu_sqr(const void *arg, size_t size, mp_result *res);
/* Returns the int in arg as its code (0: success, empty result). */
int pu_code(const void *arg, size_t size, mp_result *res);
/* The argument's bytes, back as the result. */
int pu_echo(const void *arg, size_t size, mp_result *res);
/* {pid, index of the item (int64 arg or 0)} of the worker. */
typedef struct pu_who {
  int64_t pid;
  int64_t item;
} pu_who;
int pu_who_am_i(const void *arg, size_t size, mp_result *res);

/* A board in shared memory that tasks and the test both see. */
#define PU_SLOTS 1024
typedef struct pu_board {
  _Atomic int64_t count;          /* tasks that ran to their end */
  _Atomic int64_t inits;          /* initializer calls */
  _Atomic int64_t pid[PU_SLOTS];  /* pids written by tasks */
  _Atomic int64_t runs[PU_SLOTS]; /* per task index: times it ran */
} pu_board;

/* What the board tasks get. */
typedef struct pu_job {
  mp_shm board;  /* a pu_board */
  mp_event go;   /* pu_hold waits for it */
  int64_t index; /* the task's slot on the board */
  int32_t how;   /* pu_die: PU_DIE_* */
  int32_t fail_at; /* pu_init_*: the call (from 1) from which to fail */
} pu_job;

/* Counts a run of job->index on the board and writes its pid there;
 * returns index as the result. */
int pu_count(const void *arg, size_t size, mp_result *res);
/* Writes its pid to pid[index], then waits (60 s at most) for `go`;
 * returns 0 with its pid as the result, 1 if go never came. */
int pu_hold(const void *arg, size_t size, mp_result *res);
/* Writes its pid to pid[index], then dies as `how` says (0: pu_count). */
enum { PU_DIE_CRASH = 1, PU_DIE_EXIT = 2, PU_DIE_KILL_SELF = 3 };
int pu_die(const void *arg, size_t size, mp_result *res);
/* An initializer (mp_target): counts the call on the board, writes its
 * pid to pid[call - 1], and fails (code 9) from call fail_at on (0:
 * never). */
int pu_init_flaky(void *arg);

/* ---- test process only ---- */
/* A pool of n workers, asserting success. */
mp_pool *pu_pool(unsigned n, unsigned maxtasks);
/* Terminates, joins and frees, asserting success. */
void pu_pool_end(mp_pool *p);
/* A zeroed board in shared memory. */
pu_board *pu_board_new(mp_shm *m);
/* A pu_job for board m and slot index; its event is the caller's to make. */
pu_job pu_job_make(mp_shm m, int64_t index);
/* jobs[i] = pu_job_make(m, i) for i < n. */
void pu_jobs_make(pu_job *jobs, int n, mp_shm m);
/* The same with a new event `go` (for pu_hold); mp_event_free(&j.go). */
pu_job pu_job_held(mp_shm m, int64_t index);

/* Callbacks that count, for mp_async_options: pu_counting(&c). */
typedef struct pu_counts {
  _Atomic int ok, err;
  _Atomic int last_rc; /* what mp_async_get said in the error callback */
} pu_counts;
mp_async_options pu_counting(pu_counts *c);

/* A task for n workers at once: waits at the mp_barrier (n parties) it
 * gets, then answers with its pid; and the pids of all n workers of p
 * through it (0, or the map's failure). */
int pu_pid_after_barrier(const void *arg, size_t size, mp_result *res);
int pu_worker_pids(mp_pool *p, unsigned n, int64_t *pids);
/* Waits until board->pid[i] is set; returns it (fails the test if not). */
int64_t pu_wait_pid(pu_board *b, int i);

#endif
