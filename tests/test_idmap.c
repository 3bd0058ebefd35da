/* The process-local id map (src/idmap.c) that holds this process's pipe
 * ends, closed queues and Windows named objects: compared, operation by
 * operation, with a plain array, over runs of colliding ids, growth,
 * shrinking and removals from the middle of probe runs. And the range set
 * of closed pipe ends (src/idset.c), against a plain array too. Built
 * with their sources: the library does not export them. */
#include "support/test_support.h"

#include <string.h>

#include "idmap.h"
#include "idset.h"

#define RANGE 3000 /* ids 1..RANGE: enough to grow the map several times */

static void *ref[RANGE + 1];

static uint64_t next_random(uint64_t *x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

static void assert_same(const mp__idmap *m) {
  size_t n = 0;
  for (uint64_t id = 0; id <= RANGE + 1; id++) {
    void *want = id >= 1 && id <= RANGE ? ref[id] : NULL;
    assert_ptr_equal(mp__idmap_get(m, id), want);
    n += want != NULL;
  }
  assert_int_equal(m->used, n);
}

static void test_idmap_empty(void **state) {
  (void)state;
  mp__idmap m;
  memset(&m, 0, sizeof m);
  assert_null(mp__idmap_get(&m, 7));
  assert_null(mp__idmap_remove(&m, 7));
  mp__idmap_clear(&m);
  assert_int_equal(m.used, 0);
}

static void test_idmap_set_replace_remove(void **state) {
  (void)state;
  mp__idmap m;
  memset(&m, 0, sizeof m);
  int a, b;
  assert_int_equal(mp__idmap_set(&m, 0, &a), 0); /* id 0 is an id too */
  assert_int_equal(mp__idmap_set(&m, UINT64_MAX, &b), 0);
  assert_ptr_equal(mp__idmap_get(&m, 0), &a);
  assert_int_equal(mp__idmap_set(&m, 0, &b), 0);
  assert_ptr_equal(mp__idmap_get(&m, 0), &b);
  assert_int_equal(m.used, 2);
  assert_ptr_equal(mp__idmap_remove(&m, 0), &b);
  assert_null(mp__idmap_remove(&m, 0));
  assert_ptr_equal(mp__idmap_get(&m, UINT64_MAX), &b);
  mp__idmap_clear(&m);
  assert_null(mp__idmap_get(&m, UINT64_MAX));
}

/* Random sets, replacements and removals: after each removal every id
 * still maps to what the array says (a removal that broke a probe run
 * would lose a later entry of it). */
static void test_idmap_random_against_array(void **state) {
  (void)state;
  mp__idmap m;
  memset(&m, 0, sizeof m);
  memset(ref, 0, sizeof ref);
  static char values[RANGE + 1];
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int op = 0; op < 60000; op++) {
    uint64_t id = 1 + next_random(&x) % RANGE;
    /* Set twice as often as removed: the map fills, grows, thins. */
    if (next_random(&x) % 3 != 0) {
      assert_int_equal(mp__idmap_set(&m, id, &values[id]), 0);
      ref[id] = &values[id];
    } else {
      assert_ptr_equal(mp__idmap_remove(&m, id), ref[id]);
      ref[id] = NULL;
      if (op % 97 == 0)
        assert_same(&m);
    }
  }
  assert_same(&m);
  for (uint64_t id = 1; id <= RANGE; id++) {
    assert_ptr_equal(mp__idmap_remove(&m, id), ref[id]);
    ref[id] = NULL;
  }
  assert_same(&m);
  mp__idmap_clear(&m);
}

/* A map that held many ids and lost them gives its memory back. */
static void test_idmap_shrinks(void **state) {
  (void)state;
  mp__idmap m;
  memset(&m, 0, sizeof m);
  static char v;
  for (uint64_t id = 1; id <= 100000; id++)
    assert_int_equal(mp__idmap_set(&m, id, &v), 0);
  assert_true(m.cap >= 200000);
  for (uint64_t id = 1; id <= 100000; id++) {
    if (id == 50000)
      continue;
    assert_ptr_equal(mp__idmap_remove(&m, id), &v);
  }
  assert_int_equal(m.used, 1);
  assert_true(m.cap <= 64);
  assert_ptr_equal(mp__idmap_get(&m, 50000), &v);
  mp__idmap_clear(&m);
}

static size_t runs_in(const unsigned char *in, size_t n) {
  size_t runs = 0;
  for (size_t i = 1; i <= n; i++)
    runs += in[i] && !in[i - 1];
  return runs;
}

/* Dense ids make one range; random ones as many ranges as runs. */
static void test_idset_against_array(void **state) {
  (void)state;
  mp__idset s;
  memset(&s, 0, sizeof s);
  for (uint64_t id = 1; id <= 300000; id++)
    assert_int_equal(mp__idset_add(&s, (UINT64_C(7) << 32) | id), 0);
  assert_int_equal(s.n, 1);
  assert_true(mp__idset_has(&s, (UINT64_C(7) << 32) | 1));
  assert_true(mp__idset_has(&s, (UINT64_C(7) << 32) | 300000));
  assert_false(mp__idset_has(&s, (UINT64_C(7) << 32) | 300001));
  assert_false(mp__idset_has(&s, UINT64_C(7) << 32));
  mp__idset_clear(&s);
  assert_false(mp__idset_has(&s, (UINT64_C(7) << 32) | 1));

  static unsigned char in[RANGE + 2];
  memset(in, 0, sizeof in);
  uint64_t x = 0x2545f4914f6cdd1dull;
  for (int op = 0; op < 20000; op++) {
    uint64_t id = 1 + next_random(&x) % RANGE;
    assert_int_equal(mp__idset_add(&s, id), 0);
    in[id] = 1;
    if (op % 101 == 0 || op == 19999) {
      assert_int_equal(s.n, runs_in(in, RANGE));
      for (uint64_t k = 0; k <= RANGE + 1; k++)
        assert_int_equal(mp__idset_has(&s, k), in[k]);
      for (size_t i = 1; i < s.n; i++)
        assert_true(s.r[i - 1].hi + 1 < s.r[i].lo);
    }
  }
  /* Filling every gap leaves one range, and the memory with it. */
  for (uint64_t id = 1; id <= RANGE; id++)
    assert_int_equal(mp__idset_add(&s, id), 0);
  assert_int_equal(s.n, 1);
  assert_true(s.cap <= 16);
  /* The ends of the id space. */
  assert_int_equal(mp__idset_add(&s, 0), 0);
  assert_int_equal(mp__idset_add(&s, UINT64_MAX), 0);
  assert_int_equal(s.n, 2);
  assert_true(mp__idset_has(&s, 0) && mp__idset_has(&s, UINT64_MAX));
  assert_false(mp__idset_has(&s, UINT64_MAX - 1));
  mp__idset_clear(&s);
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_idmap_empty),
      cmocka_unit_test(test_idmap_set_replace_remove),
      cmocka_unit_test(test_idmap_random_against_array),
      cmocka_unit_test(test_idmap_shrinks),
      cmocka_unit_test(test_idset_against_array),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
