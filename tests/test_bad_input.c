/* Bad input gives MP_EINVAL (or the documented neutral value), never a
 * crash: NULL out/target/process/code pointers, NULL arg with a size,
 * sizes above PTRDIFF_MAX, empty or over-long names, negative timeouts
 * other than MP_INFINITE. (Invalid start methods: test_start_method.) */
#include "support/test_support.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

static int role_return_3(void *arg) {
  (void)arg;
  return 3;
}

static void test_create_null_out(void **state) {
  (void)state;
  int x = 1;
  assert_int_equal(mp_process_create(NULL, role_return_3, &x, sizeof x, NULL),
                   MP_EINVAL);
  assert_int_equal(mp_process_create(NULL, role_return_3, NULL, 0, NULL),
                   MP_EINVAL);
}

static void test_create_null_target(void **state) {
  (void)state;
  mp_process *p = NULL;
  assert_int_equal(mp_process_create(&p, NULL, NULL, 0, NULL), MP_EINVAL);
  assert_null(p);
}

static void test_create_null_arg_with_size(void **state) {
  (void)state;
  mp_process *p = NULL;
  assert_int_equal(mp_process_create(&p, role_return_3, NULL, 1, NULL),
                   MP_EINVAL);
  assert_int_equal(mp_process_create(&p, role_return_3, NULL, 4096, NULL),
                   MP_EINVAL);
  assert_int_equal(mp_process_create(&p, role_return_3, NULL, (size_t)-1, NULL),
                   MP_EINVAL);
  assert_null(p);
}

static void test_create_huge_sizes(void **state) {
  (void)state;
  mp_process *p = NULL;
  char small[16] = {0};
  /* "negative" sizes: above PTRDIFF_MAX, refused before any copy. */
  assert_int_equal(
      mp_process_create(&p, role_return_3, small, (size_t)-1, NULL), MP_EINVAL);
  assert_int_equal(
      mp_process_create(&p, role_return_3, small, (size_t)-100, NULL),
      MP_EINVAL);
  assert_int_equal(mp_process_create(&p, role_return_3, small,
                                     (size_t)PTRDIFF_MAX + 1, NULL),
                   MP_EINVAL);
  assert_int_equal(
      mp_process_create(&p, role_return_3, small, SIZE_MAX / 2 + 1, NULL),
      MP_EINVAL);
  assert_null(p);
}

static void test_create_zero_size_with_pointer_ok(void **state) {
  (void)state;
  mp_process *p = NULL;
  int x = 5;
  assert_int_equal(mp_process_create(&p, role_return_3, &x, 0, NULL), 0);
  assert_non_null(p);
  assert_int_equal(mp_process_free(p), 0);
}

static void test_names_empty_and_too_long(void **state) {
  (void)state;
  mp_process *p = NULL;
  mp_process_options o = {0};
  char name[300];

  o.name = "";
  assert_int_equal(mp_process_create(&p, role_return_3, NULL, 0, &o),
                   MP_EINVAL);
  assert_null(p);

  memset(name, 'n', 256);
  name[256] = '\0';
  o.name = name;
  assert_int_equal(mp_process_create(&p, role_return_3, NULL, 0, &o),
                   MP_EINVAL);
  assert_null(p);

  memset(name, 'n', 299);
  name[299] = '\0';
  assert_int_equal(mp_process_create(&p, role_return_3, NULL, 0, &o),
                   MP_EINVAL);
  assert_null(p);

  /* The limits themselves are fine. */
  name[255] = '\0';
  assert_int_equal(mp_process_create(&p, role_return_3, NULL, 0, &o), 0);
  assert_non_null(p);
  assert_string_equal(mp_process_name(p), name);
  assert_int_equal(mp_process_free(p), 0);

  p = NULL;
  o.name = "x";
  assert_int_equal(mp_process_create(&p, role_return_3, NULL, 0, &o), 0);
  assert_string_equal(mp_process_name(p), "x");
  assert_int_equal(mp_process_free(p), 0);
}

static void test_null_process_everywhere(void **state) {
  (void)state;
  int code = 77;
  assert_int_equal(mp_process_start(NULL), MP_EINVAL);
  assert_int_equal(mp_process_join(NULL, 0), MP_EINVAL);
  assert_int_equal(mp_process_join(NULL, MP_INFINITE), MP_EINVAL);
  assert_int_equal(mp_process_join(NULL, 100), MP_EINVAL);
  assert_true(mp_process_is_alive(NULL) < 0);
  assert_int_equal(mp_process_is_alive(NULL), MP_EINVAL);
  assert_int_equal(mp_process_terminate(NULL), MP_EINVAL);
  assert_int_equal(mp_process_kill(NULL), MP_EINVAL);
  assert_int_equal(mp_process_exitcode(NULL, &code), MP_EINVAL);
  assert_int_equal(code, 77);
  assert_int_equal(mp_process_exitcode(NULL, NULL), MP_EINVAL);
  assert_int_equal(mp_process_pid(NULL), 0);
  assert_null(mp_process_name(NULL));
  assert_int_equal(mp_process_daemon(NULL), MP_EINVAL);
  assert_int_equal(mp_process_free(NULL), MP_EINVAL);
}

static void test_exitcode_null_out(void **state) {
  (void)state;
  mp_process *p = NULL;
  assert_int_equal(mp_process_create(&p, role_return_3, NULL, 0, NULL), 0);
  assert_int_equal(mp_process_exitcode(p, NULL), MP_EINVAL);
  assert_int_equal(mp_process_start(p), 0);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 3);
  /* Even once there is a code to give, NULL is refused. */
  assert_int_equal(mp_process_exitcode(p, NULL), MP_EINVAL);
  assert_int_equal(mp_process_free(p), 0);
}

static void test_negative_timeouts(void **state) {
  (void)state;
  mp_process *p = tst_start(role_return_3, NULL, 0, NULL);
  assert_int_equal(mp_process_join(p, -2), MP_EINVAL);
  assert_int_equal(mp_process_join(p, -1000), MP_EINVAL);
  assert_int_equal(mp_process_join(p, INT_MIN), MP_EINVAL);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 3);
  /* After exit too. */
  assert_int_equal(mp_process_join(p, -2), MP_EINVAL);
  assert_int_equal(mp_process_free(p), 0);
}

static void test_daemon_flag_normalised(void **state) {
  (void)state;
  mp_process *p = NULL;
  mp_process_options o = {0};
  o.daemon = 5;
  assert_int_equal(mp_process_create(&p, role_return_3, NULL, 0, &o), 0);
  assert_int_equal(mp_process_daemon(p), 1);
  assert_int_equal(mp_process_free(p), 0);
  o.daemon = 0;
  assert_int_equal(mp_process_create(&p, role_return_3, NULL, 0, &o), 0);
  assert_int_equal(mp_process_daemon(p), 0);
  assert_int_equal(mp_process_free(p), 0);
  assert_int_equal(mp_process_create(&p, role_return_3, NULL, 0, NULL), 0);
  assert_int_equal(mp_process_daemon(p), 0);
  assert_int_equal(mp_process_free(p), 0);
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_null_out),
      cmocka_unit_test(test_create_null_target),
      cmocka_unit_test(test_create_null_arg_with_size),
      cmocka_unit_test(test_create_huge_sizes),
      cmocka_unit_test(test_create_zero_size_with_pointer_ok),
      cmocka_unit_test(test_names_empty_and_too_long),
      cmocka_unit_test(test_null_process_everywhere),
      cmocka_unit_test(test_exitcode_null_out),
      cmocka_unit_test(test_negative_timeouts),
      cmocka_unit_test(test_daemon_flag_normalised),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
