/* Spawn specifics (forced with MP_START_SPAWN on every leg):
 *  - the child is the same executable, run afresh (globals at their
 *    initial values, not the parent's);
 *  - the target is found without registration: static functions, and a
 *    function in another translation unit of the executable, and one in a
 *    library the parent loaded at run time;
 *  - a library replaced on disk after the parent loaded it is never loaded
 *    by the child: it refuses (MP_EXITCODE_NOT_CHILD);
 *  - a program whose file was replaced (POSIX: deleted and another program
 *    put at its path; Windows: renamed away and another put there) still
 *    spawns: the child runs the right target, or refuses, and never runs
 *    the other program's code;
 *  - the child inherits only what it needs: a descriptor / handle the
 *    parent opened as inheritable is not open in the child;
 *  - a parent killed right after a start does not make its child refuse
 *    to run (the child's checks of its channel allow for a dead parent). */
#if !defined(_WIN32) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#include "support/test_support.h"

#include <stdio.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#ifdef _WIN32
#define MODULE_SUFFIX ".dll"
#else
#define MODULE_SUFFIX ".so"
#endif
#define EVIL_ENV "MPROC_TEST_EVIL_MARKER"


static int g_value = 1;

static int role_static_global(void *arg) {
  (void)arg;
  return g_value == 1 ? 21 : 22;
}

static mp_process *start_spawn(mp_target t, const void *arg, size_t size) {
  mp_process_options o = {0};
  o.method = MP_START_SPAWN;
  return tst_start(t, arg, size, &o);
}

static void test_static_target_fresh_globals(void **state) {
  (void)state;
  g_value = 5; /* a forked child would see 5 */
  mp_process *p = start_spawn(role_static_global, NULL, 0);
  int code = tst_join_code(p, TST_LONG_MS);
  g_value = 1;
  assert_int_equal(mp_process_free(p), 0);
  assert_int_equal(code, 21);
}

/* Several distinct static targets in one program: each child runs the
 * one it was given. */
static int role_a(void *arg) { return 31 + (arg != NULL); }
static int role_b(void *arg) { return 41 + (arg != NULL); }
static int role_c(void *arg) { return 51 + (arg != NULL); }

static void test_distinct_static_targets(void **state) {
  (void)state;
  mp_target ts[3] = {role_a, role_b, role_c};
  mp_process *ps[3];
  for (int i = 0; i < 3; i++)
    ps[i] = start_spawn(ts[i], NULL, 0);
  assert_int_equal(tst_join_code(ps[0], TST_LONG_MS), 31);
  assert_int_equal(tst_join_code(ps[1], TST_LONG_MS), 41);
  assert_int_equal(tst_join_code(ps[2], TST_LONG_MS), 51);
  for (int i = 0; i < 3; i++)
    assert_int_equal(mp_process_free(ps[i]), 0);
}

/* A target defined in another translation unit (tests/support), not
 * registered anywhere, given an argument. */
static void test_target_in_other_unit(void **state) {
  (void)state;
  int v = 61;
  mp_process *p = start_spawn(tst_role_return_int, &v, sizeof v);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 61);
  assert_int_equal(mp_process_free(p), 0);
}

/* Reports the child's executable path into a file. */
static int role_exe_path(void *arg) {
  char dir[TST_PATH_MAX];
  if (tst_exe_dir(dir, sizeof dir) != 0)
    return 2;
#ifdef _WIN32
  char self[TST_PATH_MAX];
  if (GetModuleFileNameA(NULL, self, sizeof self) == 0)
    return 3;
#else
  char self[TST_PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0)
    return 3;
  self[n] = '\0';
#endif
  return tst_write_text((const char *)arg, "%s", self) == 0 ? 0 : 4;
}

static void test_same_executable(void **state) {
  const char *dir = *state;
  char path[TST_PATH_MAX], got[TST_PATH_MAX], self[TST_PATH_MAX];
  tst_path(path, sizeof path, dir, "exe.txt");
  mp_process *p = start_spawn(role_exe_path, path, strlen(path) + 1);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 0);
  assert_int_equal(mp_process_free(p), 0);
  assert_true(tst_read_file(path, got, sizeof got) > 0);
#ifdef _WIN32
  assert_true(GetModuleFileNameA(NULL, self, sizeof self) > 0);
  assert_int_equal(_stricmp(got, self), 0);
#else
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  assert_true(n > 0);
  self[n] = '\0';
  assert_string_equal(got, self);
#endif
}

/* ---- inheritance ---- */

typedef struct inh_arg {
  long long handle; /* fd on POSIX, HANDLE value on Windows */
  long long size;   /* the file's size, to recognise it */
} inh_arg;

/* 0: not open in the child; 5: the parent's file is open in the child. */
static int role_check_not_inherited(void *arg) {
  inh_arg *a = arg;
#ifdef _WIN32
  HANDLE h = (HANDLE)(intptr_t)a->handle;
  DWORD flags;
  if (!GetHandleInformation(h, &flags))
    return 0;
  /* Something has this value; is it our file? */
  LARGE_INTEGER sz;
  if (GetFileType(h) == FILE_TYPE_DISK && GetFileSizeEx(h, &sz) &&
      sz.QuadPart == a->size)
    return 5;
  return 0;
#else
  int fd = (int)a->handle;
  if (fcntl(fd, F_GETFD) == -1 && errno == EBADF)
    return 0;
  off_t end = lseek(fd, 0, SEEK_END);
  if (end == (off_t)a->size)
    return 5;
  return 0;
#endif
}

static void test_inheritable_handle_not_inherited(void **state) {
  const char *dir = *state;
  char path[TST_PATH_MAX];
  tst_path(path, sizeof path, dir, "secret.bin");
  const long long size = 12347;
  static char data[12347];
  memset(data, 'z', sizeof data);
  assert_int_equal(tst_write_file(path, data, sizeof data), 0);
  inh_arg a;
#ifdef _WIN32
  SECURITY_ATTRIBUTES sa;
  sa.nLength = sizeof sa;
  sa.lpSecurityDescriptor = NULL;
  sa.bInheritHandle = TRUE;
  HANDLE h =
      CreateFileA(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_DELETE, &sa,
                  OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
  assert_true(h != INVALID_HANDLE_VALUE);
  a.handle = (long long)(intptr_t)h;
#else
  /* Plain open: no O_CLOEXEC, so only the library can keep it out. */
  int fd = open(path, O_RDONLY);
  assert_true(fd >= 0);
  /* A high number too, beyond the usual low fds. */
  int high = fcntl(fd, F_DUPFD, 200);
  assert_true(high >= 200);
  a.handle = fd;
#endif
  a.size = size;
  mp_process *p = start_spawn(role_check_not_inherited, &a, sizeof a);
  int code = tst_join_code(p, TST_LONG_MS);
  assert_int_equal(mp_process_free(p), 0);
#ifndef _WIN32
  a.handle = high;
  p = start_spawn(role_check_not_inherited, &a, sizeof a);
  int code_high = tst_join_code(p, TST_LONG_MS);
  assert_int_equal(mp_process_free(p), 0);
  close(high);
  close(fd);
  if (code != 0 || code_high != 0)
    fail_msg("a descriptor the parent opened without O_CLOEXEC is open in "
             "the spawned child: fd %d %s, fd %d %s",
             fd, code ? "inherited" : "closed", high,
             code_high ? "inherited" : "closed");
#else
  CloseHandle(h);
  if (code != 0)
    fail_msg("an inheritable handle of the parent is open in the spawned "
             "child (exit code %d)",
             code);
#endif
}

/* ---- a library loaded at run time, then replaced ---- */

static void module_path(char *out, size_t cap, const char *name) {
  char dir[TST_PATH_MAX];
  assert_int_equal(tst_exe_dir(dir, sizeof dir), 0);
  int n = snprintf(out, cap, "%s%s%s%s", dir, TST_SEP, name, MODULE_SUFFIX);
  assert_true(n > 0 && (size_t)n < cap);
  assert_true(tst_file_exists(out));
}

static void test_module_target_then_replaced(void **state) {
  const char *dir = *state;
  char good[TST_PATH_MAX], evil[TST_PATH_MAX], lib[TST_PATH_MAX],
      marker[TST_PATH_MAX], moved[TST_PATH_MAX];
  module_path(good, sizeof good, "mod_good");
  module_path(evil, sizeof evil, "mod_evil");
  tst_path(lib, sizeof lib, dir, "mod" MODULE_SUFFIX);
  tst_path(moved, sizeof moved, dir, "mod-old" MODULE_SUFFIX);
  tst_path(marker, sizeof marker, dir, "evil-ran");
  assert_int_equal(tst_copy_file(good, lib), 0);
#ifdef _WIN32
  HMODULE h = LoadLibraryA(lib);
  assert_non_null(h);
  mp_target t = (mp_target)(void (*)(void))GetProcAddress(h, "mod_target");
#else
  void *h = dlopen(lib, RTLD_NOW);
  assert_non_null(h);
  mp_target t = (mp_target)(uintptr_t)dlsym(h, "mod_target");
#endif
  assert_non_null(t);
  assert_int_equal(tst_setenv(EVIL_ENV, marker), 0);

  /* Found by the child, loaded there from the same file. */
  mp_process *p = start_spawn(t, NULL, 0);
  int code = tst_join_code(p, TST_LONG_MS);
  assert_int_equal(mp_process_free(p), 0);
  assert_int_equal(code, 42);

  /* Another library where the parent's was: POSIX replaces the file
   * (rename over it); Windows cannot touch a loaded DLL but can rename
   * it away. */
#ifdef _WIN32
  assert_true(MoveFileA(lib, moved));
  assert_int_equal(tst_copy_file(evil, lib), 0);
#else
  (void)moved;
  char tmp[TST_PATH_MAX];
  tst_path(tmp, sizeof tmp, dir, "mod.new");
  assert_int_equal(tst_copy_file(evil, tmp), 0);
  assert_int_equal(rename(tmp, lib), 0);
#endif
  p = start_spawn(t, NULL, 0);
  code = tst_join_code(p, TST_LONG_MS);
  assert_int_equal(mp_process_free(p), 0);
  tst_setenv(EVIL_ENV, NULL);
  int evil_ran = tst_file_exists(marker);
#ifdef _WIN32
  FreeLibrary(h);
#else
  dlclose(h);
#endif
  if (evil_ran)
    fail_msg("the spawned child loaded the library put in place of the "
             "parent's (exit code %d)",
             code);
  assert_int_equal(code, MP_EXITCODE_NOT_CHILD);
}

/* ---- the program's own file replaced ---- */

/* ---- a parent killed right after the start ---- */

enum { ORPHAN_RAN = 77 };

static int role_orphan(void *arg) {
  mp_queue *q = arg;
  int v = ORPHAN_RAN;
  return mp_queue_put(q, &v, sizeof v, TST_LONG_MS) == 0 ? 0 : 1;
}

/* Starts a spawned child and is killed at once, while that child is most
 * likely still loading: before it has checked where its channel came
 * from. */
static int role_orphan_starter(void *arg) {
  mp_process_options o;
  memset(&o, 0, sizeof o);
  o.method = MP_START_SPAWN;
  mp_process *k;
  if (mp_process_create(&k, role_orphan, arg, sizeof(mp_queue), &o) != 0 ||
      mp_process_start(k) != 0)
    return 2;
#ifdef _WIN32
  TerminateProcess(GetCurrentProcess(), 9);
#else
  kill(getpid(), SIGKILL);
#endif
  return 3;
}

static void test_parent_killed_right_after_start(void **state) {
  (void)state;
  mp_queue q;
  assert_int_equal(mp_queue_create(&q, 0), 0);
  for (int round = 0; round < 5; round++) {
    mp_process *p = tst_start(role_orphan_starter, &q, sizeof q, NULL);
    int code = tst_join_code(p, TST_LONG_MS);
    assert_true(code != 2 && code != 3);
    assert_int_equal(tst_free(p), 0);
    int v = 0;
    size_t len = 0;
    assert_int_equal(mp_queue_get(&q, &v, sizeof v, &len, TST_LONG_MS), 0);
    assert_int_equal(v, ORPHAN_RAN);
  }
  mp_queue_free(&q);
}

static int role_42(void *arg) {
  (void)arg;
  return 42;
}

/* Run in a copy of this program: replaces its own file by `impostor`
 * (another mproc program), then spawns role_42. Exit 0 when the child
 * ran role_42, 1 when it refused, 2 for any other code, 3 when the start
 * failed, 4 when the file could not be replaced. */
static int replace_self_main(const char *impostor) {
  char self[TST_PATH_MAX];
#ifdef _WIN32
  char old[TST_PATH_MAX + 8];
  if (GetModuleFileNameA(NULL, self, sizeof self) == 0)
    return 4;
  snprintf(old, sizeof old, "%s.old", self);
  if (!MoveFileA(self, old) || tst_copy_file(impostor, self) != 0)
    return 4;
#else
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0)
    return 4;
  self[n] = '\0';
  if (unlink(self) != 0 || tst_copy_file(impostor, self) != 0)
    return 4;
#endif
  mp_process_options o = {0};
  o.method = MP_START_SPAWN;
  mp_process *p = NULL;
  int code = -1;
  if (mp_process_create(&p, role_42, NULL, 0, &o) != 0)
    return 3;
  int rc = mp_process_start(p);
  if (rc != 0) {
    fprintf(stderr, "start: %d (%s), os error %d\n", rc, mp_strerror(rc),
            mp_last_os_error());
    return 3;
  }
  if (mp_process_join(p, 60000) != 0 || mp_process_exitcode(p, &code) != 0)
    return 3;
  mp_process_free(p);
  fprintf(stderr, "child exit code %d\n", code);
  return code == 42 ? 0 : code == MP_EXITCODE_NOT_CHILD ? 1 : 2;
}

static void test_program_file_replaced(void **state) {
  const char *dir = *state;
  char self[TST_PATH_MAX], copy[TST_PATH_MAX], impostor[TST_PATH_MAX];
  char out[TST_PATH_MAX], err[TST_PATH_MAX], ebuf[4096];
  assert_int_equal(tst_prog_path(self, sizeof self, "test_spawn"), 0);
  assert_int_equal(tst_prog_path(impostor, sizeof impostor, "probe"), 0);
  tst_path(copy, sizeof copy, dir, "prog" TST_EXE_SUFFIX);
  tst_path(out, sizeof out, dir, "out.txt");
  tst_path(err, sizeof err, dir, "err.txt");
  assert_int_equal(tst_copy_file(self, copy), 0);
  const char *args[] = {"--replace-self", impostor, NULL};
  int code = -1;
  assert_int_equal(tst_run(copy, args, out, err, TST_LONG_MS, &code), 0);
  ebuf[0] = '\0';
  tst_read_file(err, ebuf, sizeof ebuf);
  print_message("replaced program: exit %d, stderr [%s]\n", code, ebuf);
#ifdef _WIN32
  /* Windows starts the renamed file; Wine, which does not follow the
   * rename, starts the impostor, whose guard refuses. */
  assert_true(code == 0 || code == 1);
#else
  /* /proc/self/exe still runs the deleted file. */
  assert_int_equal(code, 0);
#endif
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  if (argc == 3 && strcmp(argv[1], "--replace-self") == 0)
    return replace_self_main(argv[2]);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_static_target_fresh_globals),
      cmocka_unit_test(test_distinct_static_targets),
      cmocka_unit_test(test_target_in_other_unit),
      cmocka_unit_test_teardown(test_parent_killed_right_after_start,
                                tst_teardown_processes),
      cmocka_unit_test_setup_teardown(test_same_executable, tst_setup_tmpdir,
                                      tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_inheritable_handle_not_inherited,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_module_target_then_replaced,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_program_file_replaced,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
