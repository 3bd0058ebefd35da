/* At exit of the launched program, as Python at interpreter exit: its
 * daemon children are terminated and its non-daemon children waited for.
 *
 * usage: atexit_main DIR return|exit
 * Starts a non-daemon child that sleeps 300 ms and then writes DIR/g1.marker,
 * and a daemon child that writes its pid to DIR/g2.pid and then sleeps for
 * ever; waits until DIR/g2.pid exists; writes both pids (as the parent
 * sees them) to DIR/pids.txt; then returns 3 from main (return) or calls
 * exit(4) (exit), without joining or freeing anything. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/test_support.h"

typedef struct arg {
  char dir[1024];
} arg;

static int non_daemon(void *a) {
  char path[1200];
  tst_sleep_ms(300);
  tst_path(path, sizeof path, ((arg *)a)->dir, "g1.marker");
  return tst_write_text(path, "done\n") == 0 ? 0 : 5;
}

static int daemon_forever(void *a) {
  char path[1200];
  tst_path(path, sizeof path, ((arg *)a)->dir, "g2.pid");
  tst_write_text(path, "%lld\n", (long long)mp_current_pid());
  for (;;)
    tst_sleep_ms(1000);
  return 0;
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  if (argc != 3) {
    fprintf(stderr, "usage: atexit_main DIR return|exit\n");
    return 2;
  }
  arg a;
  memset(&a, 0, sizeof a);
  snprintf(a.dir, sizeof a.dir, "%s", argv[1]);

  mp_process *g1 = NULL, *g2 = NULL;
  mp_process_options o = {0};
  if (mp_process_create(&g1, non_daemon, &a, sizeof a, NULL) != 0 ||
      mp_process_start(g1) != 0)
    return 10;
  o.daemon = 1;
  if (mp_process_create(&g2, daemon_forever, &a, sizeof a, &o) != 0 ||
      mp_process_start(g2) != 0)
    return 11;
  char path[1200];
  tst_path(path, sizeof path, a.dir, "g2.pid");
  if (!tst_wait_file(path, 60000))
    return 12;
  tst_path(path, sizeof path, a.dir, "pids.txt");
  tst_write_text(path, "%lld %lld\n", (long long)mp_process_pid(g1),
                 (long long)mp_process_pid(g2));
  if (strcmp(argv[2], "exit") == 0)
    exit(4);
  return 3;
}
