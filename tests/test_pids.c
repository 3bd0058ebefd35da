/* Pids and the calling process: mp_current_pid / mp_parent_pid in the
 * launched program and in a child (reported through a file) agree with
 * the parent's view and with the OS; a forked child does not keep its
 * parent's cached pid; mp_cpu_count is at least 1 and matches the OS. */
#if !defined(_WIN32) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#include "support/test_support.h"

#include <stdio.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <sched.h>
#include <unistd.h>
#endif

typedef struct report {
  long long mp_pid, mp_ppid, os_pid, os_ppid;
  int cpus, daemon;
  char name[300];
} report;

static int role_report(void *arg) {
  const char *path = arg;
  return tst_write_text(path, "%lld %lld %lld %lld %d %d\n",
                        (long long)mp_current_pid(), (long long)mp_parent_pid(),
                        (long long)tst_os_pid(), (long long)tst_os_ppid(),
                        mp_cpu_count(), mp_current_daemon()) == 0
             ? 0
             : 3;
}

static void read_report(const char *path, report *r) {
  char buf[512];
  assert_true(tst_read_file(path, buf, sizeof buf) > 0);
  assert_int_equal(sscanf(buf, "%lld %lld %lld %lld %d %d", &r->mp_pid,
                          &r->mp_ppid, &r->os_pid, &r->os_ppid, &r->cpus,
                          &r->daemon),
                   6);
}

static void test_own_pids(void **state) {
  (void)state;
  assert_true(mp_current_pid() > 0);
  assert_int_equal(mp_current_pid(), tst_os_pid());
#ifdef _WIN32
  /* A program started by something that is no Windows process (ctest
   * through Wine) has no Windows parent: 0 there, so only >= 0. */
  assert_true(mp_parent_pid() >= 0);
#else
  assert_true(mp_parent_pid() > 0);
#endif
  assert_int_equal(mp_parent_pid(), tst_os_ppid());
  assert_int_not_equal(mp_parent_pid(), mp_current_pid());
  assert_int_equal(mp_current_daemon(), 0);
}

static void check_child(const char *dir, mp_start_method method, int daemon) {
  char path[TST_PATH_MAX];
  tst_path(path, sizeof path, dir, "report.txt");
  mp_process_options o = {0};
  o.method = method;
  o.daemon = daemon;
  mp_process *p = tst_start(role_report, path, strlen(path) + 1, &o);
  mp_pid pid = mp_process_pid(p);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 0);
  report r;
  read_report(path, &r);
  /* The child's own view. */
  assert_true(r.mp_pid > 0);
  assert_int_equal(r.mp_pid, r.os_pid);
  assert_int_equal(r.mp_ppid, r.os_ppid);
  /* Matches the parent's view. */
  assert_int_equal(r.mp_pid, pid);
  assert_int_not_equal(r.mp_pid, mp_current_pid());
  assert_int_equal(r.mp_ppid, mp_current_pid());
  assert_int_equal(r.cpus, mp_cpu_count());
  assert_int_equal(r.daemon, daemon ? 1 : 0);
  assert_int_equal(mp_process_free(p), 0);
}

static void test_child_pids_leg_method(void **state) {
  check_child(*state, MP_START_DEFAULT, 0);
}

static void test_child_pids_spawn(void **state) {
  check_child(*state, MP_START_SPAWN, 0);
}

static void test_child_pids_fork(void **state) {
#ifdef _WIN32
  (void)state;
  skip(); /* no fork on Windows */
#else
  check_child(*state, MP_START_FORK, 0);
#endif
}

static void test_daemon_child_knows_it(void **state) {
  check_child(*state, MP_START_DEFAULT, 1);
}

static void test_cpu_count(void **state) {
  (void)state;
  int n = mp_cpu_count();
  assert_true(n >= 1);
  assert_true(n <= 65536);
  assert_int_equal(mp_cpu_count(), n);
#ifdef _WIN32
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  DWORD active = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
  if ((DWORD)n != si.dwNumberOfProcessors && (DWORD)n != active)
    fail_msg("mp_cpu_count %d matches neither dwNumberOfProcessors %lu nor "
             "the active processor count %lu",
             n, (unsigned long)si.dwNumberOfProcessors, (unsigned long)active);
#else
  long onln = sysconf(_SC_NPROCESSORS_ONLN);
  long conf = sysconf(_SC_NPROCESSORS_CONF);
  int affinity = -1;
#ifdef __linux__
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    affinity = CPU_COUNT(&set);
#endif
  if (n != onln && n != conf && n != affinity)
    fail_msg("mp_cpu_count %d matches none of online %ld, configured %ld, "
             "affinity %d",
             n, onln, conf, affinity);
#endif
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_own_pids),
      cmocka_unit_test_setup_teardown(test_child_pids_leg_method,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_child_pids_spawn, tst_setup_tmpdir,
                                      tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_child_pids_fork, tst_setup_tmpdir,
                                      tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_daemon_child_knows_it,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test(test_cpu_count),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
