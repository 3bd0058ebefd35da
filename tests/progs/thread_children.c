/* Non-daemon children started from a secondary thread keep the program
 * from ending until they have, as in Python.
 *
 * usage: thread_children DIR joined|running
 * A thread starts two children (the leg's method), each of which sleeps
 * 700 ms and then writes DIR/child-<i>, and does not join or free them.
 * joined: the thread ends and main joins it, then returns 0. running: the
 * thread goes on sleeping and main returns 0 as soon as the children are
 * started. Exit 0, or 2..4 when something could not be started. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "support/test_support.h"

typedef struct arg {
  char dir[TST_PATH_MAX];
  int i;
  int keep_running;
} arg;

static _Atomic int started;

static int late_writer(void *a) {
  arg *x = a;
  char path[TST_PATH_MAX + 16], name[32];
  tst_sleep_ms(700);
  snprintf(name, sizeof name, "child-%d", x->i);
  tst_path(path, sizeof path, x->dir, name);
  return tst_write_text(path, "%lld\n", (long long)mp_current_pid()) == 0 ? 0
                                                                          : 5;
}

static int starter(void *a) {
  for (int i = 0; i < 2; i++) {
    arg x = *(arg *)a;
    x.i = i;
    mp_process *p = NULL;
    if (mp_process_create(&p, late_writer, &x, sizeof x, NULL) != 0 ||
        mp_process_start(p) != 0)
      return 3;
  }
  atomic_store(&started, 1);
  if (((arg *)a)->keep_running)
    tst_sleep_ms(60000);
  return 0;
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  if (argc != 3)
    return 2;
  static arg a; /* read by the thread after main returns */
  snprintf(a.dir, sizeof a.dir, "%s", argv[1]);
  a.keep_running = strcmp(argv[2], "running") == 0;
  tst_thread *t = tst_thread_start(starter, &a);
  if (!t)
    return 4;
  if (!a.keep_running)
    return tst_thread_join(t);
  while (!atomic_load(&started))
    tst_sleep_ms(1);
  return 0;
}
