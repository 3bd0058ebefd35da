/* Output the parent had buffered before start appears once, not once per
 * child; what a child prints reaches the shared stdout (it is flushed when
 * the child ends), in order.
 *
 * Two views: a child role that redirects its own stdout to a file, leaves
 * text in the buffer, starts a grandchild that prints; and the
 * buffered_output program run with its stdout in a file.
 *
 * A start does not wait for another thread stuck writing to stdout (the
 * stdout_blocked program; POSIX: Windows' C runtime cannot tell). */
#include "support/test_support.h"

#include <stdio.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>

#include <io.h>
#endif

typedef struct out_arg {
  char path[TST_PATH_MAX];
  mp_start_method grandchild_method;
} out_arg;

static int role_print_line(void *arg) {
  (void)arg;
  printf("GRANDCHILD-LINE\n");
  return 0;
}

static int role_redirect_and_start(void *arg) {
  out_arg *a = arg;
  if (freopen(a->path, "w", stdout) == NULL)
    return 2;
  setvbuf(stdout, NULL, _IOFBF, 8192);
#ifdef _WIN32
  /* Make the redirection visible to the OS too, so that a spawned child
   * inherits it as its standard output. */
  SetStdHandle(STD_OUTPUT_HANDLE, (HANDLE)_get_osfhandle(_fileno(stdout)));
#endif
  printf("PRE-START-MARK");
  mp_process_options o = {0};
  o.method = a->grandchild_method;
  mp_process *p = NULL;
  if (mp_process_create(&p, role_print_line, NULL, 0, &o) != 0)
    return 3;
  if (mp_process_start(p) != 0)
    return 4;
  int code = -1;
  if (mp_process_join(p, 60000) != 0 || mp_process_exitcode(p, &code) != 0)
    return 5;
  mp_process_free(p);
  printf("\nCHILD-END code=%d\n", code);
  return 0;
}

static void check_redirect(const char *dir, mp_start_method gm) {
  out_arg a;
  memset(&a, 0, sizeof a);
  tst_path(a.path, sizeof a.path, dir, "child-stdout.txt");
  a.grandchild_method = gm;
  mp_process *p = tst_start(role_redirect_and_start, &a, sizeof a, NULL);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 0);
  assert_int_equal(mp_process_free(p), 0);
  char buf[4096];
  assert_true(tst_read_file(a.path, buf, sizeof buf) > 0);
  tst_strip_cr(buf);
  print_message("child stdout: [%s]\n", buf);
  assert_int_equal(tst_count(buf, "PRE-START-MARK"), 1);
  assert_int_equal(tst_count(buf, "GRANDCHILD-LINE"), 1);
  assert_int_equal(tst_count(buf, "CHILD-END code=0"), 1);
  assert_true(tst_find(buf, "PRE-START-MARK") <
              tst_find(buf, "GRANDCHILD-LINE"));
  assert_true(tst_find(buf, "GRANDCHILD-LINE") < tst_find(buf, "CHILD-END"));
}

static void test_buffered_once_leg_method(void **state) {
  check_redirect(*state, MP_START_DEFAULT);
}

static void test_buffered_once_fork(void **state) {
#ifdef _WIN32
  (void)state;
  skip(); /* no fork on Windows */
#else
  check_redirect(*state, MP_START_FORK);
#endif
}

static void test_buffered_once_spawn(void **state) {
  check_redirect(*state, MP_START_SPAWN);
}

static void test_program_output_once(void **state) {
  const char *dir = *state;
  char exe[TST_PATH_MAX], out[TST_PATH_MAX], err[TST_PATH_MAX];
  char buf[4096], ebuf[4096];
  assert_int_equal(tst_prog_path(exe, sizeof exe, "buffered_output"), 0);
  assert_true(tst_file_exists(exe));
  tst_path(out, sizeof out, dir, "out.txt");
  tst_path(err, sizeof err, dir, "err.txt");
  int code = -1;
  assert_int_equal(tst_run(exe, NULL, out, err, TST_LONG_MS, &code), 0);
  assert_true(tst_read_file(out, buf, sizeof buf) >= 0);
  assert_true(tst_read_file(err, ebuf, sizeof ebuf) >= 0);
  tst_strip_cr(buf);
  print_message("stdout: [%s]\nstderr: [%s]\n", buf, ebuf);
  assert_int_equal(code, 0);
  assert_int_equal(tst_count(buf, "BEFORE-START"), 1);
  assert_int_equal(tst_count(buf, "IN-CHILD-0\n"), 1);
  assert_int_equal(tst_count(buf, "IN-CHILD-1\n"), 1);
  assert_int_equal(tst_count(buf, "IN-CHILD-2\n"), 1);
  assert_int_equal(tst_count(buf, "AFTER-JOIN codes=20,21,22\n"), 1);
  assert_true(tst_find(buf, "BEFORE-START") < tst_find(buf, "IN-CHILD-0"));
  assert_true(tst_find(buf, "IN-CHILD-0") < tst_find(buf, "IN-CHILD-1"));
  assert_true(tst_find(buf, "IN-CHILD-1") < tst_find(buf, "IN-CHILD-2"));
  assert_true(tst_find(buf, "IN-CHILD-2") < tst_find(buf, "AFTER-JOIN"));
  /* The library prints nothing of its own (Wine may add its own noise to
   * stderr, so look for the library's words only). */
  assert_int_equal(tst_count(ebuf, "mp_"), 0);
  assert_int_equal(tst_count(ebuf, "mproc"), 0);
}

static void test_start_not_held_by_stuck_writer(void **state) {
#ifdef _WIN32
  (void)state;
  skip(); /* no ftrylockfile: there a start waits for the write (mproc.h) */
#else
  const char *dir = *state;
  char exe[TST_PATH_MAX], out[TST_PATH_MAX], err[TST_PATH_MAX], ebuf[4096];
  assert_int_equal(tst_prog_path(exe, sizeof exe, "stdout_blocked"), 0);
  assert_true(tst_file_exists(exe));
  tst_path(out, sizeof out, dir, "out.txt");
  tst_path(err, sizeof err, dir, "err.txt");
  int code = -1;
  assert_int_equal(tst_run(exe, NULL, out, err, TST_LONG_MS, &code), 0);
  ebuf[0] = '\0';
  tst_read_file(err, ebuf, sizeof ebuf);
  print_message("stdout_blocked: exit %d, stderr [%s]\n", code, ebuf);
  assert_int_equal(code, 0);
#endif
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_buffered_once_leg_method,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_buffered_once_fork, tst_setup_tmpdir,
                                      tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_buffered_once_spawn,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_program_output_once,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_start_not_held_by_stuck_writer,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
