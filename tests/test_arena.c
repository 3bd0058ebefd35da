/* The arena comes to be when a process creates its first object or
 * starts its first child. Threads of a fresh process that create their
 * first objects at the same moment race to create it; before the header
 * was published whole (release, read with acquire), a thread could see
 * the arena before its header was written and get MP_ENOMEM (34 of 3,000
 * runs). A child of this family is never fresh (starting it made the
 * arena), so the fresh process is a helper program, tests/progs/
 * arena_race, run many times: in one mode all its threads start at once,
 * in the other one thread stalls at the fault point "arena.mapped" (mapped,
 * header not written) while the others create objects.
 *
 * Labelled "threads": the ThreadSanitizer leg runs it too. */
#include "support/test_support.h"

#include <stdio.h>
#include <string.h>

#define RACE_RUNS 20
#define PAUSED_RUNS 5

static void run_prog(const char *mode, int runs, void **state) {
  const char *dir = *state;
  char exe[TST_PATH_MAX], out[TST_PATH_MAX], err[TST_PATH_MAX];
  assert_int_equal(tst_prog_path(exe, sizeof exe, "arena_race"), 0);
  tst_path(out, sizeof out, dir, "out.txt");
  tst_path(err, sizeof err, dir, "err.txt");
  for (int i = 0; i < runs; i++) {
    const char *args[] = {mode, NULL};
    int code = -1;
    int rc = tst_run(exe, args, out, err, TST_LONG_MS, &code);
    if (rc != 0 || code != 0) {
      char text[4096] = "";
      tst_read_file(out, text, sizeof text);
      fail_msg("arena_race %s, run %d: %s, exit code %d\n%s", mode, i + 1,
               rc == 1 ? "hung" : rc ? "not run" : "ended", code, text);
    }
  }
}

static void test_arena_first_objects_race(void **state) {
  run_prog("race", RACE_RUNS, state);
}

static void test_arena_creator_stalls_while_others_create(void **state) {
#ifndef MPROC_FAULT_POINTS
  (void)state;
  skip(); /* the stall is a fault point */
#else
  run_prog("paused", PAUSED_RUNS, state);
#endif
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_arena_first_objects_race,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(
          test_arena_creator_stalls_while_others_create, tst_setup_tmpdir,
          tst_teardown_tmpdir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
