/* "Different objects may be used from different threads": four threads
 * each create, start and join their own processes at the same time; every
 * exit code is right and every default name is a distinct Process-N (the
 * counter is not torn by the race). */
#include "support/test_support.h"

#include <stdio.h>
#include <string.h>

#define THREADS 4
#define PER_THREAD 6

typedef struct t_arg {
  int thread;
  int numbers[PER_THREAD]; /* N of each default name, filled by the thread */
  int failures;
} t_arg;

static int role_code(void *arg) {
  int v = *(int *)arg;
  tst_sleep_ms(20 * (v % 3));
  return v;
}

static int thread_body(void *p) {
  t_arg *a = p;
  for (int i = 0; i < PER_THREAD; i++) {
    int v = 10 * a->thread + i + 1;
    mp_process *proc = NULL;
    if (mp_process_create(&proc, role_code, &v, sizeof v, NULL) != 0) {
      a->failures++;
      continue;
    }
    char tail;
    if (sscanf(mp_process_name(proc), "Process-%d%c", &a->numbers[i], &tail) !=
        1)
      a->failures++;
    int code = -1;
    if (mp_process_start(proc) != 0 || mp_process_join(proc, 120000) != 0 ||
        mp_process_exitcode(proc, &code) != 0 || code != v)
      a->failures++;
    if (mp_process_free(proc) != 0)
      a->failures++;
  }
  return a->failures;
}

static void test_processes_from_several_threads(void **state) {
  (void)state;
  t_arg args[THREADS];
  tst_thread *ts[THREADS];
  memset(args, 0, sizeof args);
  for (int t = 0; t < THREADS; t++) {
    args[t].thread = t;
    ts[t] = tst_thread_start(thread_body, &args[t]);
    assert_non_null(ts[t]);
  }
  for (int t = 0; t < THREADS; t++)
    assert_int_equal(tst_thread_join(ts[t]), 0);
  /* All names distinct, all positive. */
  for (int t = 0; t < THREADS; t++)
    for (int i = 0; i < PER_THREAD; i++) {
      int n = args[t].numbers[i];
      assert_true(n >= 1);
      for (int u = 0; u < THREADS; u++)
        for (int j = 0; j < PER_THREAD; j++)
          if (u != t || j != i)
            assert_int_not_equal(n, args[u].numbers[j]);
    }
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_processes_from_several_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
