/* Twin of the second program of seeds/000: five processes that print who
 * they are.
 *
 *   def foo(i):
 *       print("这里是 ", multiprocessing.current_process().name)
 *       print('模块名称:', __name__)
 *       print('父进程 id:', os.getppid())
 *       print('当前子进程 id:', os.getpid())
 *       print('------------------------')
 *
 *   if __name__ == '__main__':
 *       for i in range(5):
 *           p = multiprocessing.Process(target=foo, args=(i,))
 *           p.start()
 */
#include <stdio.h>

#include <mproc.h>

#include "example.h"

/* Python's __name__ inside the child: a spawned child imports the main
 * module again under the name "__mp_main__"; a forked child is a copy of
 * the parent, where it is still "__main__". */
static const char *module_name(void) {
  return mp_get_start_method() == MP_START_SPAWN ? "__mp_main__" : "__main__";
}

static int foo(void *arg) {
  int i = *(const int *)arg; /* args=(i,); foo does not use it, as in Python */
  (void)i;
  /* print(a, b) puts a space between a and b; "这里是 " ends with one too. */
  printf("这里是  %s\n", mp_current_name());
  printf("模块名称: %s\n", module_name());
  printf("父进程 id: %lld\n", (long long)mp_parent_pid());
  printf("当前子进程 id: %lld\n", (long long)mp_current_pid());
  printf("------------------------\n");
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);

  for (int i = 0; i < 5; i++) {
    mp_process *p;
    CHECK(mp_process_create(&p, foo, &i, sizeof i, NULL));
    CHECK(mp_process_start(p));
  }
  /* No join, as in Python: when main returns, the library waits for the
   * (non-daemon) children before the program exits. */
  return 0;
}
