/* Twin of the first program of seeds/000 ("multiprocessing模块"):
 *
 *   def run_proce(name):
 *       print("Run child process %s (%s)" % (name, os.getpid()))
 *
 *   if __name__ == '__main__':
 *       print("Parent process %s." % os.getpid())
 *       p = Process(target=run_proce, args=("test",))
 *       print("Child process will start.")
 *       p.start()
 *       p.join()
 *       print("Child process end.")
 */
#include <stdio.h>

#include <mproc.h>

#include "example.h"

/* The code the child runs. Its argument is the child's own copy of the
 * bytes given to mp_process_create: here "test" and its NUL. The return
 * value is the child's exit code. */
static int run_proce(void *arg) {
  const char *name = arg;
  printf("Run child process %s (%lld)\n", name, (long long)mp_current_pid());
  return 0;
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv); /* if __name__ == '__main__': */

  printf("Parent process %lld.\n", (long long)mp_current_pid());
  mp_process *p;
  CHECK(mp_process_create(&p, run_proce, "test", sizeof "test", NULL));
  printf("Child process will start.\n");
  CHECK(mp_process_start(p)); /* flushes stdout first, as Python does */
  CHECK(mp_process_join(p, MP_INFINITE));
  printf("Child process end.\n");
  mp_process_free(p);
  return 0;
}
