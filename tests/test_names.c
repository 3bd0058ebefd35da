/* Process names: "MainProcess" in the launched program; default names
 * "Process-N" with N counting the processes this process created (custom
 * names count too, as in Python); custom names copied at create; the
 * child's mp_current_name() equals its process name (default, custom,
 * 255 bytes, UTF-8); nested defaults "Process-N:M" and "Process-N:M:K",
 * with each child's counter starting again at 1. */
#include "support/test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct name_arg {
  char dir[TST_PATH_MAX];
  int levels; /* how many generations below this one to create */
} name_arg;

/* The file a process named `name` reports into (':' is not allowed in
 * Windows file names). */
static void seen_path(char *out, size_t cap, const char *dir,
                      const char *prefix, const char *name) {
  char file[400];
  snprintf(file, sizeof file, "%s%s", prefix, name);
  for (char *c = file; *c; c++)
    if (*c == ':')
      *c = '_';
  tst_path(out, cap, dir, file);
}

/* Writes its current name to <dir>/seen-<name>, then creates two
 * default-named children (levels > 0), records the names the library gave
 * them in <dir>/made-<name>-<i>, starts and joins them. */
static int role_names(void *arg) {
  name_arg *a = arg;
  char path[TST_PATH_MAX];
  const char *me = mp_current_name();
  if (me == NULL)
    return 2;
  seen_path(path, sizeof path, a->dir, "seen-", me);
  if (tst_write_text(path, "%s", me) != 0)
    return 3;
  if (a->levels <= 0)
    return 0;
  name_arg sub = *a;
  sub.levels = a->levels - 1;
  mp_process *kids[2];
  for (int i = 0; i < 2; i++) {
    if (mp_process_create(&kids[i], role_names, &sub, sizeof sub, NULL) != 0)
      return 4;
    char made[64];
    snprintf(made, sizeof made, "made-%d-", i);
    seen_path(path, sizeof path, a->dir, made, me);
    if (tst_write_text(path, "%s", mp_process_name(kids[i])) != 0)
      return 5;
  }
  int bad = 0;
  for (int i = 0; i < 2; i++)
    if (mp_process_start(kids[i]) != 0)
      bad = 6;
  for (int i = 0; i < 2; i++) {
    int code = -1;
    if (mp_process_join(kids[i], 120000) != 0 ||
        mp_process_exitcode(kids[i], &code) != 0 || code != 0)
      bad = bad ? bad : 7;
    mp_process_free(kids[i]);
  }
  return bad;
}

static int role_return_0(void *arg) {
  (void)arg;
  return 0;
}

/* N of a "Process-N" name, or -1. */
static int default_number(const char *name) {
  int n = -1;
  char tail;
  if (name == NULL || sscanf(name, "Process-%d%c", &n, &tail) != 1)
    return -1;
  return n;
}

static void expect_file_text(const char *dir, const char *prefix,
                             const char *name, const char *want) {
  char path[TST_PATH_MAX], buf[600];
  seen_path(path, sizeof path, dir, prefix, name);
  if (tst_read_file(path, buf, sizeof buf) < 0)
    fail_msg("missing report %s (expected a process named %s)", path, name);
  assert_string_equal(buf, want);
}

static void test_main_process_name(void **state) {
  (void)state;
  assert_non_null(mp_current_name());
  assert_string_equal(mp_current_name(), "MainProcess");
}

static void test_default_names_count_up(void **state) {
  (void)state;
  mp_process *a = NULL, *b = NULL, *c = NULL;
  mp_process_options o = {0};
  assert_int_equal(mp_process_create(&a, role_return_0, NULL, 0, NULL), 0);
  assert_int_equal(mp_process_create(&b, role_return_0, NULL, 0, &o), 0);
  int na = default_number(mp_process_name(a));
  int nb = default_number(mp_process_name(b));
  if (na < 1)
    fail_msg("default name \"%s\" is not Process-N", mp_process_name(a));
  assert_int_equal(nb, na + 1);
  /* A custom name uses up a number too (Python counts every Process). */
  o.name = "custom";
  assert_int_equal(mp_process_create(&c, role_return_0, NULL, 0, &o), 0);
  assert_string_equal(mp_process_name(c), "custom");
  assert_int_equal(mp_process_free(c), 0);
  assert_int_equal(mp_process_create(&c, role_return_0, NULL, 0, NULL), 0);
  assert_int_equal(default_number(mp_process_name(c)), na + 3);
  /* The exact text. */
  char want[32];
  snprintf(want, sizeof want, "Process-%d", na);
  assert_string_equal(mp_process_name(a), want);
  assert_int_equal(mp_process_free(a), 0);
  assert_int_equal(mp_process_free(b), 0);
  assert_int_equal(mp_process_free(c), 0);
}

/* The first process this test program creates is Process-1: run as the
 * first test case. */
static void test_first_is_process_1(void **state) {
  (void)state;
  mp_process *a = NULL;
  assert_int_equal(mp_process_create(&a, role_return_0, NULL, 0, NULL), 0);
  assert_string_equal(mp_process_name(a), "Process-1");
  assert_int_equal(mp_process_free(a), 0);
}

static void test_custom_name_copied(void **state) {
  (void)state;
  char name[32] = "worker-7";
  mp_process_options o = {0};
  o.name = name;
  mp_process *p = NULL;
  assert_int_equal(mp_process_create(&p, role_return_0, NULL, 0, &o), 0);
  strcpy(name, "changed");
  assert_string_equal(mp_process_name(p), "worker-7");
  assert_int_equal(mp_process_free(p), 0);
}

static void check_child_sees_name(const char *dir, const char *custom) {
  name_arg a;
  memset(&a, 0, sizeof a);
  snprintf(a.dir, sizeof a.dir, "%s", dir);
  a.levels = 0;
  mp_process_options o = {0};
  o.name = custom;
  mp_process *p = tst_start(role_names, &a, sizeof a, &o);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 0);
  const char *name = mp_process_name(p);
  if (custom)
    assert_string_equal(name, custom);
  expect_file_text(dir, "seen-", name, name);
  assert_int_equal(mp_process_free(p), 0);
}

static void test_child_current_name_default(void **state) {
  check_child_sees_name(*state, NULL);
}

static void test_child_current_name_custom(void **state) {
  check_child_sees_name(*state, "my-worker");
}

/* 255 bytes exactly: the child sees all of it (reported through a file
 * named by a fixed name). */
static int role_write_name_fixed(void *arg) {
  char path[TST_PATH_MAX];
  tst_path(path, sizeof path, (const char *)arg, "longname.txt");
  return tst_write_text(path, "%s", mp_current_name()) == 0 ? 0 : 3;
}

/* The child reports mp_current_name(): it must be name, byte for byte. */
static void assert_child_sees_name(const char *dir, const char *name) {
  mp_process_options o = {0};
  o.name = name;
  mp_process *p = tst_start(role_write_name_fixed, dir, strlen(dir) + 1, &o);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 0);
  char path[TST_PATH_MAX], buf[600];
  tst_path(path, sizeof path, dir, "longname.txt");
  assert_true(tst_read_file(path, buf, sizeof buf) >= 0);
  assert_string_equal(buf, name);
  assert_int_equal(mp_process_free(p), 0);
}

static void test_child_current_name_255(void **state) {
  char name[256];
  for (int i = 0; i < 255; i++)
    name[i] = (char)('A' + i % 26);
  name[255] = '\0';
  assert_child_sees_name(*state, name);
}

static void test_child_current_name_utf8(void **state) {
  assert_child_sees_name(
      *state, "\xe5\xad\x90\xe8\xbf\x9b\xe7\xa8\x8b-1 \xc3\xa9t\xc3\xa9");
}

/* Process-N starts Process-N:1 and Process-N:2, each of which starts
 * Process-N:i:1 and Process-N:i:2. */
static void test_nested_default_names(void **state) {
  const char *dir = *state;
  name_arg a;
  memset(&a, 0, sizeof a);
  snprintf(a.dir, sizeof a.dir, "%s", dir);
  a.levels = 2;
  mp_process *p = tst_start(role_names, &a, sizeof a, NULL);
  assert_int_equal(tst_join_code(p, 4 * TST_LONG_MS), 0);
  const char *top = mp_process_name(p);
  int n = default_number(top);
  assert_true(n >= 1);
  char c1[300], c2[300], g[400];
  snprintf(c1, sizeof c1, "%s:1", top);
  snprintf(c2, sizeof c2, "%s:2", top);
  expect_file_text(dir, "seen-", top, top);
  expect_file_text(dir, "made-0-", top, c1);
  expect_file_text(dir, "made-1-", top, c2);
  expect_file_text(dir, "seen-", c1, c1);
  expect_file_text(dir, "seen-", c2, c2);
  for (int i = 1; i <= 2; i++) {
    const char *mid = i == 1 ? c1 : c2;
    for (int j = 1; j <= 2; j++) {
      snprintf(g, sizeof g, "%s:%d", mid, j);
      expect_file_text(dir, "seen-", g, g);
    }
    snprintf(g, sizeof g, "%s:1", mid);
    expect_file_text(dir, "made-0-", mid, g);
    snprintf(g, sizeof g, "%s:2", mid);
    expect_file_text(dir, "made-1-", mid, g);
  }
  assert_int_equal(mp_process_free(p), 0);
}

/* A custom-named child still has its number: its children are
 * Process-K:1, Process-K:2 where K is the number it used up (Python's
 * identity). */
static void test_nested_names_under_custom_name(void **state) {
  const char *dir = *state;
  mp_process *probe = NULL;
  assert_int_equal(mp_process_create(&probe, role_return_0, NULL, 0, NULL), 0);
  int n = default_number(mp_process_name(probe));
  assert_true(n >= 1);
  assert_int_equal(mp_process_free(probe), 0);

  name_arg a;
  memset(&a, 0, sizeof a);
  snprintf(a.dir, sizeof a.dir, "%s", dir);
  a.levels = 1;
  mp_process_options o = {0};
  o.name = "boss";
  mp_process *p = tst_start(role_names, &a, sizeof a, &o);
  assert_int_equal(tst_join_code(p, 2 * TST_LONG_MS), 0);
  char c1[64], c2[64];
  snprintf(c1, sizeof c1, "Process-%d:1", n + 1);
  snprintf(c2, sizeof c2, "Process-%d:2", n + 1);
  expect_file_text(dir, "seen-", "boss", "boss");
  expect_file_text(dir, "made-0-", "boss", c1);
  expect_file_text(dir, "made-1-", "boss", c2);
  expect_file_text(dir, "seen-", c1, c1);
  expect_file_text(dir, "seen-", c2, c2);
  assert_int_equal(mp_process_free(p), 0);
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_first_is_process_1),
      cmocka_unit_test(test_main_process_name),
      cmocka_unit_test(test_default_names_count_up),
      cmocka_unit_test(test_custom_name_copied),
      cmocka_unit_test_setup_teardown(test_child_current_name_default,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_child_current_name_custom,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_child_current_name_255,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_child_current_name_utf8,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_nested_default_names,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_nested_names_under_custom_name,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
