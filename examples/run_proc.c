/* Twin of "创建子进程" in seeds/003:
 *
 *   def run_proc(name):
 *       print('Run child process %s (%s)...' % (name, os.getpid()))
 *
 *   print('Parent process %s.' % os.getpid())
 *   p = Process(target=run_proc, args=('test', ))
 *   print('Child process will start.')
 *   p.start()
 *   p.join()
 *   print('Child process end.')
 *
 * The seed has no `if __name__ == '__main__':`, so in Python it only works
 * under fork (under spawn the re-imported module would start a process
 * again, and Python refuses). In C the guard is always the first line of
 * main, and the same program works with both start methods. */
#include <stdio.h>

#include <mproc.h>

#include "example.h"

static int run_proc(void *arg) {
  const char *name = arg;
  printf("Run child process %s (%lld)...\n", name,
         (long long)mp_current_pid());
  return 0;
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);

  printf("Parent process %lld.\n", (long long)mp_current_pid());
  mp_process *p;
  CHECK(mp_process_create(&p, run_proc, "test", sizeof "test", NULL));
  printf("Child process will start.\n");
  CHECK(mp_process_start(p));
  CHECK(mp_process_join(p, MP_INFINITE));
  printf("Child process end.\n");
  mp_process_free(p);
  return 0;
}
