/* Twin of "方法一:multiprocessing模块" in seeds/002:
 *
 *   def task(name):
 *       print("%s is running" % name)
 *       time.sleep(3)
 *       print("%s is done" % name)
 *
 *   if __name__ == "__main__":
 *       p = Process(target=task, args=("子进程1",))
 *       p.start()
 */
#include <stdio.h>

#include <mproc.h>

#include "example.h"

static int task(void *arg) {
  const char *name = arg;
  printf("%s is running\n", name);
  fflush(stdout);
  sleep_s(3);
  printf("%s is done\n", name);
  return 0;
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);

  mp_process *p;
  CHECK(mp_process_create(&p, task, "子进程1", sizeof "子进程1", NULL));
  CHECK(mp_process_start(p));
  /* main ends here, as in Python; the library waits for the child at exit. */
  return 0;
}
