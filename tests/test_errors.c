/* Error codes and mp_strerror: every code is negative, distinct, and has
 * its own non-empty static message; 0 is "success"; anything else is
 * "unknown error"; mp_last_os_error is 0 before any MP_ESYS. */
#include "support/test_support.h"

#include <limits.h>
#include <string.h>

static const int all_codes[] = {
#define X(name, value, text) MP_##name,
    MP_ERRNO_MAP(X)
#undef X
};
static const char *const all_texts[] = {
#define X(name, value, text) text,
    MP_ERRNO_MAP(X)
#undef X
};
#define N_CODES (sizeof all_codes / sizeof all_codes[0])

static void test_required_codes_exist(void **state) {
  (void)state;
  /* The spec names these; they must be negative and distinct. */
  const int required[] = {MP_EINVAL,    MP_ENOMEM,  MP_ESTATE,
                          MP_ETIMEDOUT, MP_ENOTSUP, MP_ESYS};
  for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
    assert_true(required[i] < 0);
    for (size_t j = 0; j < i; j++)
      assert_int_not_equal(required[i], required[j]);
  }
}

static void test_codes_negative_and_distinct(void **state) {
  (void)state;
  assert_true(N_CODES >= 6);
  for (size_t i = 0; i < N_CODES; i++) {
    assert_true(all_codes[i] < 0);
    for (size_t j = 0; j < i; j++)
      assert_int_not_equal(all_codes[i], all_codes[j]);
  }
}

static void test_every_code_has_distinct_message(void **state) {
  (void)state;
  const char *unknown = mp_strerror(-100000);
  assert_non_null(unknown);
  for (size_t i = 0; i < N_CODES; i++) {
    const char *m = mp_strerror(all_codes[i]);
    assert_non_null(m);
    assert_true(strlen(m) > 0);
    /* The header's table is the message. */
    assert_string_equal(m, all_texts[i]);
    /* Not the fallback, not "success". */
    assert_string_not_equal(m, unknown);
    assert_string_not_equal(m, mp_strerror(0));
    for (size_t j = 0; j < i; j++)
      assert_string_not_equal(m, mp_strerror(all_codes[j]));
    /* Stable: the same static string each time. */
    assert_ptr_equal(m, mp_strerror(all_codes[i]));
  }
}

static void test_success_message(void **state) {
  (void)state;
  assert_string_equal(mp_strerror(0), "success");
}

static void test_unknown_codes(void **state) {
  (void)state;
  const int unknown[] = {1,   42,    INT_MAX, INT_MIN, -100000,
                         -13, -1000, 255,     -255,    -99};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    int known = 0;
    for (size_t j = 0; j < N_CODES; j++)
      if (all_codes[j] == unknown[i])
        known = 1;
    if (known)
      continue;
    const char *m = mp_strerror(unknown[i]);
    assert_non_null(m);
    assert_string_equal(m, "unknown error");
  }
  /* The code just past the last one is unknown too. */
  int lowest = 0;
  for (size_t j = 0; j < N_CODES; j++)
    if (all_codes[j] < lowest)
      lowest = all_codes[j];
  assert_string_equal(mp_strerror(lowest - 1), "unknown error");
}

static void test_last_os_error_initially_zero(void **state) {
  (void)state;
  /* Nothing in this fresh process returned MP_ESYS yet (errors from
   * argument checks are not OS errors). */
  mp_process *p = NULL;
  assert_int_equal(mp_process_create(&p, NULL, NULL, 0, NULL), MP_EINVAL);
  assert_int_equal(mp_last_os_error(), 0);
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_last_os_error_initially_zero),
      cmocka_unit_test(test_required_codes_exist),
      cmocka_unit_test(test_codes_negative_and_distinct),
      cmocka_unit_test(test_every_code_has_distinct_message),
      cmocka_unit_test(test_success_message),
      cmocka_unit_test(test_unknown_codes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
