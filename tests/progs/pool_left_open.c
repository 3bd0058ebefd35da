/* A program that leaves a pool open at exit, as Python's
 * test_worker_finalization_via_atexit_handler_of_multiprocessing does:
 * at exit the library terminates the pool (as Python's finalizer), so the
 * program ends, promptly, with its own exit code; the task still held
 * fails with MP_ECLOSED and its error callback runs (once).
 *
 * usage: pool_left_open return|exit|callback
 * Prints "sqr 36", "worker <pid>" for both workers, then "exiting", and
 * returns 0 from main (return) or calls exit(0) (exit) without closing,
 * joining or freeing anything. callback: a task's callback calls exit(0)
 * in the pool's result thread while main waits for a task that never ends
 * (main then takes the pool's events itself): the program must still end
 * promptly; the held tasks' error callbacks cannot run then (the thread
 * that runs them is the one exiting). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/pool_util.h"

static void on_error(mp_async *a, void *user) {
  (void)user;
  printf("error_callback %s\n", mp_strerror(mp_async_get(a, NULL, 0, NULL, 0)));
}

static void exit_now(mp_async *a, void *user) {
  (void)a;
  (void)user;
  printf("callback exit\n");
  fflush(stdout);
  exit(0);
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  if (argc != 2) {
    fprintf(stderr, "usage: pool_left_open return|exit|callback\n");
    return 2;
  }
  mp_pool_options o;
  memset(&o, 0, sizeof o);
  o.processes = 2;
  mp_pool *p;
  if (mp_pool_create(&p, &o) != 0)
    return 10;
  int64_t x = 6, y = 0;
  if (mp_pool_apply(p, pu_sqr, &x, sizeof x, &y, sizeof y, NULL) != 0)
    return 11;
  printf("sqr %lld\n", (long long)y);
  /* Both workers' pids: two tasks that meet at a barrier run in two. */
  int64_t pids[2];
  if (pu_worker_pids(p, 2, pids) != 0)
    return 13;
  printf("worker %lld\nworker %lld\n", (long long)pids[0], (long long)pids[1]);
  /* A task that never ends by itself. */
  mp_shm m;
  if (mp_shm_create(&m, sizeof(pu_board)) != 0)
    return 14;
  pu_job j;
  memset(&j, 0, sizeof j);
  j.board = m;
  if (mp_event_create(&j.go) != 0)
    return 15;
  mp_async_options ao = {NULL, on_error, NULL};
  if (mp_pool_apply_async(p, pu_hold, &j, sizeof j, &ao, NULL) != 0)
    return 16;
  pu_board *board = mp_shm_ptr(m);
  while (atomic_load(&board->pid[0]) == 0)
    tst_sleep_ms(1);
  printf("exiting\n");
  if (strcmp(argv[1], "exit") == 0)
    exit(0);
  if (strcmp(argv[1], "callback") == 0) {
    fflush(stdout);
    mp_async_options xo = {exit_now, NULL, NULL};
    if (mp_pool_apply_async(p, pu_sqr, &x, sizeof x, &xo, NULL) != 0)
      return 17;
    /* Never returns: the callback above ends the program. */
    mp_pool_apply(p, pu_hold, &j, sizeof j, NULL, 0, NULL);
    return 18;
  }
  return 0;
}
