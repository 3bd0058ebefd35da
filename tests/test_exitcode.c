/* Exit codes on every leg: the target's return value 0..255, exit(n)
 * inside the target, terminate -> -15, kill -> -9, an invalid memory
 * access -> -11; terminate/kill are no-ops after exit and refused before
 * start; the code is MP_ESTATE before start and before exit.
 *
 * exit(n) in a child runs no atexit handler of its parent's (a forked
 * child has copies of them). POSIX: a child whose status another waiter
 * takes (SIGCHLD ignored; a thread reaping with waitpid(-1)) still
 * reaches its end: join 0, its reported code (or -signal if we signalled
 * it, else MP_EXITCODE_UNKNOWN), free works. A forked child's copy of a
 * sibling's process object refuses to wait for or signal it. */
#if !defined(_WIN32) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#include "support/test_support.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#ifndef _WIN32
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>
#endif
#ifdef __linux__
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

static int role_return(void *arg) { return *(int *)arg; }

static int role_exit(void *arg) {
  exit(*(int *)arg);
  return 99; /* not reached */
}

static int role_sleep(void *arg) {
  tst_sleep_ms(*(int *)arg);
  return 0;
}

static int role_crash(void *arg) {
  (void)arg;
  tst_crash_now();
  return 98;
}

static int run_code(mp_target t, int v) {
  mp_process *p = tst_start(t, &v, sizeof v, NULL);
  int code = tst_join_code(p, TST_LONG_MS);
  assert_int_equal(mp_process_free(p), 0);
  return code;
}

static void test_return_values(void **state) {
  (void)state;
  const int values[] = {0, 1, 2, 42, 127, 128, 200, 255};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
    assert_int_equal(run_code(role_return, values[i]), values[i]);
}

static void test_exit_inside_target(void **state) {
  (void)state;
  assert_int_equal(run_code(role_exit, 7), 7);
  assert_int_equal(run_code(role_exit, 0), 0);
  assert_int_equal(run_code(role_exit, 1), 1);
  assert_int_equal(run_code(role_exit, 255), 255);
}

static void test_terminate(void **state) {
  (void)state;
  int ms = 120000;
  mp_process *p = tst_start(role_sleep, &ms, sizeof ms, NULL);
  tst_guard_process(p);
  /* Let it get going (not needed for the result, but a more common
   * case), then terminate. */
  tst_sleep_ms(200);
  assert_int_equal(mp_process_is_alive(p), 1);
  int64_t t0 = tst_now_ms();
  assert_int_equal(mp_process_terminate(p), 0);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), -15);
  /* It ended because of terminate, not because it slept its time. */
  assert_true(tst_now_ms() - t0 < 60000);
  assert_int_equal(mp_process_is_alive(p), 0);
  assert_int_equal(tst_free(p), 0);
}

static void test_terminate_right_after_start(void **state) {
  (void)state;
  int ms = 120000;
  mp_process *p = tst_start(role_sleep, &ms, sizeof ms, NULL);
  tst_guard_process(p);
  assert_int_equal(mp_process_terminate(p), 0);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), -15);
  assert_int_equal(tst_free(p), 0);
}

static void test_kill(void **state) {
  (void)state;
  int ms = 120000;
  mp_process *p = tst_start(role_sleep, &ms, sizeof ms, NULL);
  tst_guard_process(p);
  tst_sleep_ms(200);
  assert_int_equal(mp_process_kill(p), 0);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), -9);
  assert_int_equal(mp_process_is_alive(p), 0);
  assert_int_equal(tst_free(p), 0);
}

static void test_crash_is_minus_11(void **state) {
  (void)state;
  int unused = 0;
  assert_int_equal(run_code(role_crash, unused), -11);
}

static void test_terminate_kill_after_exit_are_noops(void **state) {
  (void)state;
  int v = 5;
  mp_process *p = tst_start(role_return, &v, sizeof v, NULL);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 5);
  assert_int_equal(mp_process_terminate(p), 0);
  assert_int_equal(mp_process_kill(p), 0);
  assert_int_equal(mp_process_join(p, 0), 0);
  int code = -1;
  assert_int_equal(mp_process_exitcode(p, &code), 0);
  assert_int_equal(code, 5);
  assert_int_equal(mp_process_free(p), 0);
}

/* Exited but not yet joined: terminate/kill must not change the code
 * (the child is already gone; the status is the real one). */
static void test_terminate_after_unjoined_exit(void **state) {
  (void)state;
  int v = 6;
  mp_process *p = tst_start(role_return, &v, sizeof v, NULL);
  int64_t deadline = tst_now_ms() + TST_LONG_MS;
  while (mp_process_is_alive(p) == 1 && tst_now_ms() < deadline)
    tst_sleep_ms(10);
  assert_int_equal(mp_process_is_alive(p), 0);
  assert_int_equal(mp_process_terminate(p), 0);
  assert_int_equal(mp_process_kill(p), 0);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 6);
  assert_int_equal(mp_process_free(p), 0);
}

static void test_terminate_kill_before_start(void **state) {
  (void)state;
  mp_process *p = NULL;
  int v = 1;
  assert_int_equal(mp_process_create(&p, role_return, &v, sizeof v, NULL), 0);
  assert_int_equal(mp_process_terminate(p), MP_ESTATE);
  assert_int_equal(mp_process_kill(p), MP_ESTATE);
  /* Still startable afterwards. */
  assert_int_equal(mp_process_start(p), 0);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 1);
  assert_int_equal(mp_process_free(p), 0);
}

static void test_exitcode_before_start_and_before_exit(void **state) {
  (void)state;
  mp_process *p = NULL;
  int ms = 1500;
  int code = 1234;
  assert_int_equal(mp_process_create(&p, role_sleep, &ms, sizeof ms, NULL), 0);
  assert_int_equal(mp_process_exitcode(p, &code), MP_ESTATE);
  assert_int_equal(code, 1234);
  assert_int_equal(mp_process_start(p), 0);
  assert_int_equal(mp_process_exitcode(p, &code), MP_ESTATE);
  assert_int_equal(code, 1234);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 0);
  assert_int_equal(mp_process_free(p), 0);
}

/* exitcode waits for an exited child without blocking: once it has ended,
 * polling exitcode alone eventually gives the code, without a join. */
static void test_exitcode_without_join(void **state) {
  (void)state;
  int v = 33;
  mp_process *p = tst_start(role_return, &v, sizeof v, NULL);
  int code = -1;
  int rc = MP_ESTATE;
  int64_t deadline = tst_now_ms() + TST_LONG_MS;
  while ((rc = mp_process_exitcode(p, &code)) == MP_ESTATE &&
         tst_now_ms() < deadline)
    tst_sleep_ms(10);
  assert_int_equal(rc, 0);
  assert_int_equal(code, 33);
  assert_int_equal(mp_process_is_alive(p), 0);
  assert_int_equal(mp_process_join(p, 0), 0);
  assert_int_equal(mp_process_free(p), 0);
}

/* ---- exit(n) and the parent's atexit handlers ---- */

static char g_marker[TST_PATH_MAX];
static mp_pid g_marker_owner;

/* Registered in the test process: it leaves a mark only when it runs in
 * another process, which can only be a forked child running its copy. */
static void parent_atexit_handler(void) {
  if (g_marker[0] && tst_os_pid() != g_marker_owner)
    tst_write_text(g_marker, "ran in %lld\n", (long long)tst_os_pid());
}

static void test_exit_runs_no_parent_atexit(void **state) {
  const char *dir = *state;
  static int registered;
  if (!registered) {
    assert_int_equal(atexit(parent_atexit_handler), 0);
    registered = 1;
  }
  tst_path(g_marker, sizeof g_marker, dir, "parent-handler-ran");
  g_marker_owner = tst_os_pid();
  int code = run_code(role_exit, 7);
  int ran = tst_file_exists(g_marker);
  g_marker[0] = '\0';
  assert_int_equal(code, 7);
  if (ran)
    fail_msg("exit(7) in the child ran an atexit handler of its parent's");
}

/* ---- a child's status taken by someone else (POSIX) ---- */

#ifndef _WIN32
static int role_kill_self(void *arg) {
  (void)arg;
  raise(SIGKILL);
  return 3;
}

static _Atomic int reaper_stop;
static _Atomic int reaped;

/* Another part of the program that reaps every child it can. */
static int reaper(void *arg) {
  (void)arg;
  while (!atomic_load(&reaper_stop)) {
    int status;
    if (waitpid(-1, &status, WNOHANG) > 0)
      atomic_fetch_add(&reaped, 1);
    else
      tst_sleep_ms(1);
  }
  return 0;
}

/* Without pidfds, as on Linux < 5.3 or under a seccomp profile that does
 * not know them: pidfd_open and pidfd_send_signal fail with ENOSYS. */
static int block_pidfds(void) {
#if defined(__linux__) && defined(__x86_64__) && defined(SYS_pidfd_open)
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pidfd_open, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pidfd_send_signal, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
  };
  struct sock_fprog prog = {(unsigned short)(sizeof f / sizeof f[0]), f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
    return -1;
  return syscall(SYS_pidfd_open, getpid(), 0) < 0 && errno == ENOSYS ? 0 : -1;
#else
  return -1;
#endif
}

/* In a child role (no cmocka): starts target with v, lets the status be
 * taken (SIGCHLD ignored, or the reaper took it first), and checks that
 * mproc still brings the process to its end with code `want`. 0 when all
 * held, else the step that failed. */
static int check_lost(mp_target target, int v, int use_reaper, int kill_it,
                      int want) {
  int before = atomic_load(&reaped);
  mp_process *p = NULL;
  if (mp_process_create(&p, target, &v, sizeof v, NULL) != 0 ||
      mp_process_start(p) != 0)
    return 1;
  if (kill_it) {
    tst_sleep_ms(100);
    if ((kill_it == 9 ? mp_process_kill(p) : mp_process_terminate(p)) != 0)
      return 2;
  }
  if (use_reaper) {
    int64_t deadline = tst_now_ms() + 60000;
    while (atomic_load(&reaped) == before && tst_now_ms() < deadline)
      tst_sleep_ms(1);
    if (atomic_load(&reaped) == before)
      return 3;
    /* Gone, and no longer ours: its pid must not be signalled now. */
    if (mp_process_terminate(p) != 0 || mp_process_kill(p) != 0)
      return 4;
  }
  mp_wait_item it = {MP_WAIT_PROCESS, {.process = p}, 0};
  if (mp_wait(&it, 1, 60000) != 1)
    return 5;
  int rc = mp_process_join(p, 60000);
  if (rc != 0) {
    fprintf(stderr, "join: %d (%s), os error %d\n", rc, mp_strerror(rc),
            mp_last_os_error());
    return 6;
  }
  int code = -12345;
  if (mp_process_is_alive(p) != 0 || mp_process_exitcode(p, &code) != 0)
    return 7;
  if (code != want) {
    fprintf(stderr, "exit code %d, expected %d\n", code, want);
    return 8;
  }
  return mp_process_free(p) == 0 ? 0 : 9;
}

typedef struct lost_arg {
  int use_reaper; /* else SIGCHLD is ignored */
  int no_pidfd;
} lost_arg;

static int role_lost_status(void *arg) {
  lost_arg *a = arg;
  if (a->no_pidfd && block_pidfds() != 0)
    return 90;
  tst_thread *t = NULL;
  if (a->use_reaper) {
    atomic_store(&reaper_stop, 0);
    if (!(t = tst_thread_start(reaper, NULL)))
      return 91;
  } else {
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    if (sigaction(SIGCHLD, &ign, NULL) != 0)
      return 92;
  }
  int r = a->use_reaper;
  int rc = 10 + check_lost(role_return, 5, r, 0, 5);
  if (rc == 10)
    rc = 20 + check_lost(role_return, 0, r, 0, 0);
#ifdef __GLIBC__
  /* exit(n) reports n only where on_exit exists (mproc.h). */
  if (rc == 20)
    rc = 30 + check_lost(role_exit, 6, r, 0, 6);
#else
  if (rc == 20)
    rc = 30;
#endif
  if (rc == 30)
    rc = 40 + check_lost(role_sleep, 120000, r, 9, -9);
  if (rc == 40)
    rc = 50 + check_lost(role_sleep, 120000, r, 15, -15);
  if (rc == 50)
    rc = 60 + check_lost(role_kill_self, 0, r, 0, MP_EXITCODE_UNKNOWN);
  if (t) {
    atomic_store(&reaper_stop, 1);
    tst_thread_join(t);
  }
  return rc == 60 ? 0 : rc;
}
#endif

#ifndef _WIN32
/* A child forks a process of its own (plain fork(2)), which calls
 * exit(3): that process exits as after any fork (3, its handlers run) and
 * says nothing on the child's sentinel, so that the child's own code (5)
 * is the one its parent reads when the status is lost. */
static int role_raw_fork_exit(void *arg) {
  (void)arg;
  pid_t pid = fork();
  if (pid == 0)
    exit(3);
  if (pid < 0)
    return 20;
  /* SIGCHLD is ignored in this family: the kernel reaps it. */
  while (kill(pid, 0) == 0)
    tst_sleep_ms(1);
  return 5;
}

static int role_lost_status_raw_fork(void *arg) {
  (void)arg;
  struct sigaction ign;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  if (sigaction(SIGCHLD, &ign, NULL) != 0)
    return 92;
  mp_process_options o = {0};
  o.method = MP_START_FORK;
  mp_process *p = NULL;
  int code = -1;
  if (mp_process_create(&p, role_raw_fork_exit, NULL, 0, &o) != 0 ||
      mp_process_start(p) != 0 || mp_process_join(p, 60000) != 0 ||
      mp_process_exitcode(p, &code) != 0)
    return 93;
  mp_process_free(p);
  if (code != 5)
    fprintf(stderr, "the child's code read as %d\n", code);
  return code == 5 ? 0 : 94;
}
#endif

static void run_lost_status(int use_reaper, int no_pidfd) {
#ifdef _WIN32
  (void)use_reaper;
  (void)no_pidfd;
  skip(); /* no SIGCHLD, no waitpid: Windows never loses an exit code */
#else
  lost_arg a = {use_reaper, no_pidfd};
  mp_process *p = tst_start(role_lost_status, &a, sizeof a, NULL);
  tst_guard_process(p);
  int code = tst_join_code(p, 4 * TST_LONG_MS);
  assert_int_equal(tst_free(p), 0);
  if (code == 90) {
    print_message("cannot install a seccomp filter here: skipped\n");
    skip();
  }
  /* 0, or the check (tens) and its step (units) that failed. */
  assert_int_equal(code, 0);
#endif
}

static void test_sigchld_ignored(void **state) {
  (void)state;
  run_lost_status(0, 0);
}

static void test_children_reaped_elsewhere(void **state) {
  (void)state;
  run_lost_status(1, 0);
}

static void test_sigchld_ignored_without_pidfd(void **state) {
  (void)state;
  run_lost_status(0, 1);
}

static void test_children_reaped_elsewhere_without_pidfd(void **state) {
  (void)state;
  run_lost_status(1, 1);
}

static void test_raw_fork_of_a_child_reports_nothing(void **state) {
  (void)state;
#ifdef _WIN32
  skip(); /* no fork */
#else
  mp_process *p = tst_start(role_lost_status_raw_fork, NULL, 0, NULL);
  tst_guard_process(p);
  int code = tst_join_code(p, TST_LONG_MS);
  assert_int_equal(tst_free(p), 0);
  assert_int_equal(code, 0);
#endif
}

/* ---- a forked child's copy of its sibling ---- */

#ifndef _WIN32
typedef struct sib_arg {
  mp_process *sibling; /* the parent's object: valid in a forked copy */
} sib_arg;

static int role_touch_sibling(void *arg) {
  mp_process *s = ((sib_arg *)arg)->sibling;
  int code = 0;
  if (mp_process_join(s, 0) != MP_ESTATE)
    return 10;
  if (mp_process_is_alive(s) != MP_ESTATE)
    return 11;
  if (mp_process_terminate(s) != MP_ESTATE)
    return 12;
  if (mp_process_kill(s) != MP_ESTATE)
    return 13;
  if (mp_process_exitcode(s, &code) != MP_ESTATE)
    return 14;
  mp_wait_item it = {MP_WAIT_PROCESS, {.process = s}, 0};
  if (mp_wait(&it, 1, 0) != MP_ESTATE)
    return 15;
  if (mp_process_pid(s) <= 0)
    return 16;
  if (mp_process_free(s) != 0)
    return 17;
  return 0;
}
#endif

static void test_forked_child_leaves_sibling_alone(void **state) {
  (void)state;
#ifdef _WIN32
  skip(); /* no fork */
#else
  int ms = 3000;
  mp_process_options o = {0};
  o.method = MP_START_FORK;
  mp_process *sib = tst_start(role_sleep, &ms, sizeof ms, &o);
  tst_guard_process(sib);
  sib_arg a = {sib};
  mp_process *p = tst_start(role_touch_sibling, &a, sizeof a, &o);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 0);
  assert_int_equal(mp_process_free(p), 0);
  /* Neither signalled nor reaped by its sibling. */
  assert_int_equal(mp_process_is_alive(sib), 1);
  assert_int_equal(tst_join_code(sib, TST_LONG_MS), 0);
  assert_int_equal(tst_free(sib), 0);
#endif
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_return_values),
      cmocka_unit_test(test_exit_inside_target),
      cmocka_unit_test_teardown(test_terminate, tst_teardown_processes),
      cmocka_unit_test_teardown(test_terminate_right_after_start,
                                tst_teardown_processes),
      cmocka_unit_test_teardown(test_kill, tst_teardown_processes),
      cmocka_unit_test(test_crash_is_minus_11),
      cmocka_unit_test(test_terminate_kill_after_exit_are_noops),
      cmocka_unit_test(test_terminate_after_unjoined_exit),
      cmocka_unit_test(test_terminate_kill_before_start),
      cmocka_unit_test(test_exitcode_before_start_and_before_exit),
      cmocka_unit_test(test_exitcode_without_join),
      cmocka_unit_test_setup_teardown(test_exit_runs_no_parent_atexit,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_teardown(test_sigchld_ignored, tst_teardown_processes),
      cmocka_unit_test_teardown(test_children_reaped_elsewhere,
                                tst_teardown_processes),
      cmocka_unit_test_teardown(test_sigchld_ignored_without_pidfd,
                                tst_teardown_processes),
      cmocka_unit_test_teardown(test_children_reaped_elsewhere_without_pidfd,
                                tst_teardown_processes),
      cmocka_unit_test_teardown(test_raw_fork_of_a_child_reports_nothing,
                                tst_teardown_processes),
      cmocka_unit_test_teardown(test_forked_child_leaves_sibling_alone,
                                tst_teardown_processes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
