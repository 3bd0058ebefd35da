/* The argument block: copied at create (later changes or freeing the
 * caller's buffer do not matter), the child's own writable copy aligned
 * like malloc, NULL for 0 bytes, and sizes from 1 byte to 64 MiB arriving
 * byte-exact under the leg's method, fork and spawn. */
#include "support/test_support.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Exit codes of the roles. */
enum {
  OK = 0,
  BAD_NULL = 2,
  BAD_ALIGN = 3,
  BAD_HEADER = 4,
  BAD_BYTES = 5,
  BAD_FIELD = 6,
  NOT_NULL = 7
};

typedef struct small_arg {
  int32_t a;
  double b;
  char s[40];
  uint64_t c;
  unsigned char tail[3];
} small_arg;

static void fill_small(small_arg *x) {
  memset(x, 0, sizeof *x);
  x->a = -123456;
  x->b = 2.5;
  strcpy(x->s, "hello, child");
  x->c = UINT64_C(0x0123456789abcdef);
  x->tail[0] = 0xfe;
  x->tail[1] = 0x00;
  x->tail[2] = 0x7f;
}

static int role_check_small(void *arg) {
  small_arg *x = arg;
  if (x == NULL)
    return BAD_NULL;
  if ((uintptr_t)x % tst_malloc_align() != 0)
    return BAD_ALIGN;
  small_arg want;
  fill_small(&want);
  if (x->a != want.a || x->b != want.b || strcmp(x->s, want.s) != 0 ||
      x->c != want.c || memcmp(x->tail, want.tail, 3) != 0)
    return BAD_FIELD;
  /* It is the child's own copy: writable. */
  memset(x, 0xAA, sizeof *x);
  return OK;
}

static int role_expect_null(void *arg) { return arg == NULL ? OK : NOT_NULL; }

static int role_check_one_byte(void *arg) {
  if (arg == NULL)
    return BAD_NULL;
  return *(unsigned char *)arg == 0xA5 ? OK : BAD_BYTES;
}

/* A large block: a header, then bytes that depend on their position (so a
 * lost, repeated or reordered chunk is caught). */
typedef struct big_header {
  uint64_t magic;
  uint64_t size; /* whole block, header included */
  uint64_t seed;
} big_header;

#define BIG_MAGIC UINT64_C(0x6d70726f63415247)

static unsigned char pattern_byte(uint64_t i, uint64_t seed) {
  uint64_t x = i * UINT64_C(0x9E3779B97F4A7C15) + seed;
  x ^= x >> 29;
  x *= UINT64_C(0xBF58476D1CE4E5B9);
  x ^= x >> 32;
  return (unsigned char)(x >> 24);
}

static unsigned char *make_big(size_t size, uint64_t seed) {
  unsigned char *buf = malloc(size);
  if (buf == NULL)
    return NULL;
  big_header h = {BIG_MAGIC, (uint64_t)size, seed};
  memcpy(buf, &h, sizeof h);
  for (size_t i = sizeof h; i < size; i++)
    buf[i] = pattern_byte(i, seed);
  return buf;
}

static int role_check_big(void *arg) {
  if (arg == NULL)
    return BAD_NULL;
  if ((uintptr_t)arg % tst_malloc_align() != 0)
    return BAD_ALIGN;
  big_header h;
  memcpy(&h, arg, sizeof h);
  if (h.magic != BIG_MAGIC || h.size < sizeof h)
    return BAD_HEADER;
  const unsigned char *b = arg;
  for (uint64_t i = sizeof h; i < h.size; i++)
    if (b[i] != pattern_byte(i, h.seed))
      return BAD_BYTES;
  /* Writable to its last byte. */
  ((unsigned char *)arg)[h.size - 1] ^= 0xff;
  return OK;
}

static void test_small_struct(void **state) {
  (void)state;
  small_arg x;
  fill_small(&x);
  mp_process *p = tst_start(role_check_small, &x, sizeof x, NULL);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), OK);
  assert_int_equal(mp_process_free(p), 0);
  /* The parent's copy is untouched by the child's writes. */
  small_arg want;
  fill_small(&want);
  assert_memory_equal(&x, &want, sizeof x);
}

static void test_copied_at_create(void **state) {
  (void)state;
  small_arg *x = malloc(sizeof *x);
  assert_non_null(x);
  fill_small(x);
  mp_process *p = NULL;
  assert_int_equal(mp_process_create(&p, role_check_small, x, sizeof *x, NULL),
                   0);
  /* Changed, then freed, before start: the child still sees the values
   * of the time of create. */
  memset(x, 0x5c, sizeof *x);
  free(x);
  assert_int_equal(mp_process_start(p), 0);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), OK);
  assert_int_equal(mp_process_free(p), 0);
}

static void test_zero_bytes_gives_null(void **state) {
  (void)state;
  int x = 42;
  mp_process *p = tst_start(role_expect_null, NULL, 0, NULL);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), OK);
  assert_int_equal(mp_process_free(p), 0);
  /* A pointer with 0 bytes is still "no argument". */
  p = tst_start(role_expect_null, &x, 0, NULL);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), OK);
  assert_int_equal(mp_process_free(p), 0);
}

static void test_one_byte(void **state) {
  (void)state;
  unsigned char b = 0xA5;
  mp_process *p = tst_start(role_check_one_byte, &b, 1, NULL);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), OK);
  assert_int_equal(mp_process_free(p), 0);
}

static void run_big(size_t size, mp_start_method method, uint64_t seed) {
  unsigned char *buf = make_big(size, seed);
  assert_non_null(buf);
  mp_process_options o = {0};
  o.method = method;
  mp_process *p = NULL;
  assert_int_equal(mp_process_create(&p, role_check_big, buf, size, &o), 0);
  /* Copied now: spoil and free ours before the child starts. */
  memset(buf, 0, size);
  free(buf);
  int rc = mp_process_start(p);
  if (rc != 0)
    fail_msg("start: %d (%s)", rc, mp_strerror(rc));
  assert_int_equal(tst_join_code(p, 4 * TST_LONG_MS), OK);
  assert_int_equal(mp_process_free(p), 0);
}

static void test_odd_sizes(void **state) {
  (void)state;
  const size_t sizes[] = {sizeof(big_header),
                          sizeof(big_header) + 1,
                          4095,
                          4096,
                          4097,
                          65535,
                          65537,
                          (1u << 20) + 7};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    run_big(sizes[i], MP_START_DEFAULT, 1000 + i);
}

static void test_64mib_leg_method(void **state) {
  (void)state;
  run_big((size_t)64 << 20, MP_START_DEFAULT, 7);
}

static void test_64mib_spawn(void **state) {
  (void)state;
  run_big((size_t)64 << 20, MP_START_SPAWN, 8);
}

static void test_64mib_fork(void **state) {
  (void)state;
#ifdef _WIN32
  skip(); /* no fork on Windows */
#else
  run_big((size_t)64 << 20, MP_START_FORK, 9);
#endif
}

/* A few children from one buffer, each with its own copy. */
static void test_same_buffer_many_children(void **state) {
  (void)state;
  small_arg x;
  fill_small(&x);
  mp_process *ps[4];
  for (int i = 0; i < 4; i++)
    ps[i] = tst_start(role_check_small, &x, sizeof x, NULL);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(tst_join_code(ps[i], TST_LONG_MS), OK);
    assert_int_equal(mp_process_free(ps[i]), 0);
  }
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_small_struct),
      cmocka_unit_test(test_copied_at_create),
      cmocka_unit_test(test_zero_bytes_gives_null),
      cmocka_unit_test(test_one_byte),
      cmocka_unit_test(test_odd_sizes),
      cmocka_unit_test(test_64mib_leg_method),
      cmocka_unit_test(test_64mib_spawn),
      cmocka_unit_test(test_64mib_fork),
      cmocka_unit_test(test_same_buffer_many_children),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
