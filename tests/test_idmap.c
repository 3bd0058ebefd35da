/* The process-local id map (src/idmap.c) that holds this process's pipe
 * ends, closed queues and Windows named objects: compared, operation by
 * operation, with a plain array, over runs of colliding ids, growth and
 * removals from the middle of probe runs. Built with the map's source:
 * the library does not export it. */
#include "support/test_support.h"

#include <string.h>

#include "idmap.h"

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

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_idmap_empty),
      cmocka_unit_test(test_idmap_set_replace_remove),
      cmocka_unit_test(test_idmap_random_against_array),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
