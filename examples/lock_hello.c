/* Twin of the Lock program in Python's multiprocessing documentation (the
 * seeds name Lock among multiprocessing's components without a program):
 * ten processes print in turn, one at a time.
 *
 *   from multiprocessing import Process, Lock
 *
 *   def f(l, i):
 *       l.acquire()
 *       try:
 *           print('hello world', i)
 *       finally:
 *           l.release()
 *
 *   if __name__ == '__main__':
 *       lock = Lock()
 *
 *       for num in range(10):
 *           Process(target=f, args=(lock, num)).start()
 *
 * The lines come in whatever order the processes get the lock.
 */
#include <stdio.h>

#include <mproc.h>

#include "example.h"

/* args=(lock, num): the lock handle is a plain value, copied into the
 * argument block like the number beside it. */
struct f_args {
  mp_lock l;
  int i;
};

static int f(void *arg) {
  struct f_args *a = arg;
  CHECK(mp_lock_acquire(&a->l, MP_INFINITE));
  printf("hello world %d\n", a->i);
  fflush(stdout); /* while holding the lock: the line goes out whole */
  CHECK(mp_lock_release(&a->l));
  return 0;
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);

  mp_lock lock;
  CHECK(mp_lock_create(&lock));

  for (int num = 0; num < 10; num++) {
    struct f_args args = {lock, num};
    mp_process *p;
    CHECK(mp_process_create(&p, f, &args, sizeof args, NULL));
    CHECK(mp_process_start(p));
  }
  /* No join and no mp_lock_free, as in Python: when main returns, the
   * library waits for the children, and the lock goes away with the last
   * process of the family. */
  return 0;
}
