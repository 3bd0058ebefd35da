/* Nested processes: a child starts its own child, with either method (all
 * four fork/spawn combinations on POSIX), and chains several levels deep;
 * each level's exit code carries the one below, and every level reports
 * its pid and parent pid, which must chain up to the test process. */
#include "support/test_support.h"

#include <stdio.h>
#include <string.h>

#define MAX_LEVELS 6

typedef struct n_arg {
  char dir[TST_PATH_MAX];
  int depth; /* this process's level, from 0 */
  int max;   /* the deepest level */
  mp_start_method methods[MAX_LEVELS];
} n_arg;

static int role_level(void *arg) {
  n_arg a = *(n_arg *)arg;
  char path[TST_PATH_MAX], name[64];
  snprintf(name, sizeof name, "level-%d.txt", a.depth);
  tst_path(path, sizeof path, a.dir, name);
  if (tst_write_text(path, "%lld %lld %lld %lld\n", (long long)mp_current_pid(),
                     (long long)mp_parent_pid(), (long long)tst_os_pid(),
                     (long long)tst_os_ppid()) != 0)
    return 2;
  if (a.depth >= a.max)
    return 40;
  n_arg sub = a;
  sub.depth = a.depth + 1;
  mp_process_options o = {0};
  o.method = a.methods[sub.depth];
  mp_process *p = NULL;
  if (mp_process_create(&p, role_level, &sub, sizeof sub, &o) != 0)
    return 3;
  if (mp_process_start(p) != 0)
    return 4;
  snprintf(name, sizeof name, "made-%d.txt", a.depth);
  tst_path(path, sizeof path, a.dir, name);
  tst_write_i64(path, mp_process_pid(p));
  int code = -1;
  if (mp_process_join(p, 120000) != 0 || mp_process_exitcode(p, &code) != 0)
    return 5;
  mp_process_free(p);
  return code >= 40 && code < 40 + MAX_LEVELS ? code + 1 : 6;
}

static void run_chain(const char *dir, int max, const mp_start_method *m) {
  n_arg a;
  memset(&a, 0, sizeof a);
  snprintf(a.dir, sizeof a.dir, "%s", dir);
  a.depth = 0;
  a.max = max;
  for (int i = 0; i <= max; i++)
    a.methods[i] = m[i];
  mp_process_options o = {0};
  o.method = m[0];
  mp_process *p = tst_start(role_level, &a, sizeof a, &o);
  mp_pid top = mp_process_pid(p);
  int code = tst_join_code(p, 2 * TST_LONG_MS);
  assert_int_equal(mp_process_free(p), 0);
  assert_int_equal(code, 40 + max);

  long long prev_pid = (long long)mp_current_pid();
  for (int d = 0; d <= max; d++) {
    char path[TST_PATH_MAX], name[64], buf[256];
    long long mpid, mppid, opid, oppid;
    snprintf(name, sizeof name, "level-%d.txt", d);
    tst_path(path, sizeof path, dir, name);
    assert_true(tst_read_file(path, buf, sizeof buf) > 0);
    assert_int_equal(
        sscanf(buf, "%lld %lld %lld %lld", &mpid, &mppid, &opid, &oppid), 4);
    assert_int_equal(mpid, opid);
    assert_int_equal(mppid, oppid);
    assert_int_equal(mppid, prev_pid);
    assert_int_not_equal(mpid, prev_pid);
    if (d == 0) {
      assert_int_equal(mpid, top);
    } else {
      int64_t made = 0;
      snprintf(name, sizeof name, "made-%d.txt", d - 1);
      tst_path(path, sizeof path, dir, name);
      assert_int_equal(tst_read_i64(path, &made), 0);
      assert_int_equal(made, mpid);
    }
    prev_pid = mpid;
  }
}

static void test_child_starts_child_leg_method(void **state) {
  const mp_start_method m[] = {MP_START_DEFAULT, MP_START_DEFAULT};
  run_chain(*state, 1, m);
}

static void test_spawn_spawn(void **state) {
  const mp_start_method m[] = {MP_START_SPAWN, MP_START_SPAWN};
  run_chain(*state, 1, m);
}

static void test_fork_fork(void **state) {
#ifdef _WIN32
  (void)state;
  skip(); /* no fork on Windows */
#else
  const mp_start_method m[] = {MP_START_FORK, MP_START_FORK};
  run_chain(*state, 1, m);
#endif
}

static void test_fork_spawn(void **state) {
#ifdef _WIN32
  (void)state;
  skip(); /* no fork on Windows */
#else
  const mp_start_method m[] = {MP_START_FORK, MP_START_SPAWN};
  run_chain(*state, 1, m);
#endif
}

static void test_spawn_fork(void **state) {
#ifdef _WIN32
  (void)state;
  skip(); /* no fork on Windows */
#else
  const mp_start_method m[] = {MP_START_SPAWN, MP_START_FORK};
  run_chain(*state, 1, m);
#endif
}

static void test_deep_chain_leg_method(void **state) {
  const mp_start_method m[] = {MP_START_DEFAULT, MP_START_DEFAULT,
                               MP_START_DEFAULT, MP_START_DEFAULT,
                               MP_START_DEFAULT};
  run_chain(*state, 4, m);
}

static void test_deep_chain_mixed(void **state) {
#ifdef _WIN32
  (void)state;
  skip(); /* no fork on Windows */
#else
  const mp_start_method m[] = {MP_START_SPAWN, MP_START_FORK, MP_START_SPAWN,
                               MP_START_SPAWN, MP_START_FORK, MP_START_FORK};
  run_chain(*state, 5, m);
#endif
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_child_starts_child_leg_method,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_spawn_spawn, tst_setup_tmpdir,
                                      tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_fork_fork, tst_setup_tmpdir,
                                      tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_fork_spawn, tst_setup_tmpdir,
                                      tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_spawn_fork, tst_setup_tmpdir,
                                      tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_deep_chain_leg_method,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_deep_chain_mixed, tst_setup_tmpdir,
                                      tst_teardown_tmpdir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
