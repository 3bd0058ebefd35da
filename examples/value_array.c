/* Twin of the Value and Array program in Python's multiprocessing
 * documentation (the seeds speak of shared data without a program): a
 * child writes a shared number and a shared array; the parent reads them.
 *
 *   from multiprocessing import Process, Value, Array
 *
 *   def f(n, a):
 *       n.value = 3.1415927
 *       for i in range(len(a)):
 *           a[i] = -a[i]
 *
 *   if __name__ == '__main__':
 *       num = Value('d', 0.0)
 *       arr = Array('i', range(10))
 *
 *       p = Process(target=f, args=(num, arr))
 *       p.start()
 *       p.join()
 *
 *       print(num.value)
 *       print(arr[:])
 *
 * Output:
 *   3.1415927
 *   [0, -1, -2, -3, -4, -5, -6, -7, -8, -9]
 *
 * A Python Value or Array is shared memory plus a lock of its own, taken on
 * every access. Here that pair is spelt out: an mp_shm for the bytes and an
 * mp_lock to guard them, both plain values that travel in the argument
 * block. The child holds the array's lock around the whole loop, as
 * `with a.get_lock():` would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mproc.h>

#include "example.h"

/* Value('d', x): one shared double and its lock. */
typedef struct value_d {
  mp_shm mem;
  mp_lock lock;
} value_d;

/* Array('i', n): n shared ints and their lock. */
typedef struct array_i {
  mp_shm mem;
  mp_lock lock;
  int len;
} array_i;

/* The shared bytes, mapped in this process. */
static void *shared(mp_shm m) {
  void *p = mp_shm_ptr(m);
  if (!p) {
    fprintf(stderr, "mp_shm_ptr failed\n");
    exit(1);
  }
  return p;
}

static int value_d_create(value_d *v, double x) {
  int rc = mp_shm_create(&v->mem, sizeof(double));
  if (rc < 0)
    return rc;
  *(double *)shared(v->mem) = x;
  return mp_lock_create(&v->lock);
}

static int array_i_create(array_i *a, int len) {
  int rc = mp_shm_create(&a->mem, (size_t)len * sizeof(int)); /* zeroed */
  if (rc < 0)
    return rc;
  a->len = len;
  return mp_lock_create(&a->lock);
}

/* print(x) for a float: the shortest text that reads back as the same
 * double, as Python's repr does (enough for the values printed here). */
static void print_float(double x) {
  char buf[32];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, x);
    if (strtod(buf, NULL) == x)
      break;
  }
  printf("%s%s\n", buf, strpbrk(buf, ".e") ? "" : ".0");
}

/* args=(num, arr) */
struct f_args {
  value_d n;
  array_i a;
};

static int f(void *arg) {
  struct f_args *args = arg;

  /* n.value = 3.1415927 */
  CHECK(mp_lock_acquire(&args->n.lock, MP_INFINITE));
  *(double *)shared(args->n.mem) = 3.1415927;
  CHECK(mp_lock_release(&args->n.lock));

  /* for i in range(len(a)): a[i] = -a[i] */
  int *a = shared(args->a.mem);
  CHECK(mp_lock_acquire(&args->a.lock, MP_INFINITE));
  for (int i = 0; i < args->a.len; i++)
    a[i] = -a[i];
  CHECK(mp_lock_release(&args->a.lock));
  return 0;
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);

  struct f_args args;
  CHECK(value_d_create(&args.n, 0.0)); /* num = Value('d', 0.0) */
  CHECK(array_i_create(&args.a, 10));  /* arr = Array('i', range(10)) */
  int *arr = shared(args.a.mem);
  for (int i = 0; i < 10; i++)
    arr[i] = i;

  mp_process *p;
  CHECK(mp_process_create(&p, f, &args, sizeof args, NULL));
  CHECK(mp_process_start(p));
  CHECK(mp_process_join(p, MP_INFINITE));
  mp_process_free(p);

  /* print(num.value) */
  CHECK(mp_lock_acquire(&args.n.lock, MP_INFINITE));
  print_float(*(double *)shared(args.n.mem));
  CHECK(mp_lock_release(&args.n.lock));

  /* print(arr[:]) */
  CHECK(mp_lock_acquire(&args.a.lock, MP_INFINITE));
  printf("[");
  for (int i = 0; i < args.a.len; i++)
    printf("%s%d", i ? ", " : "", arr[i]);
  printf("]\n");
  CHECK(mp_lock_release(&args.a.lock));

  /* Python frees them when num and arr go away; C says when. */
  CHECK(mp_lock_free(&args.n.lock));
  CHECK(mp_shm_free(&args.n.mem));
  CHECK(mp_lock_free(&args.a.lock));
  CHECK(mp_shm_free(&args.a.mem));
  return 0;
}
