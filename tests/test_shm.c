/* Shared memory: size, zero fill (also of reused memory), the same bytes
 * seen from parent and children both ways, a 64 MiB region, free, bad
 * input; and that a process family leaves nothing behind in /dev/shm,
 * whether it exits normally or every process of it is killed with
 * SIGKILL (the arena is an unnamed memfd that dies with its last user).
 *
 * For the last part this executable is also the family: run with
 * "--family normal" or "--family hang" it creates objects, lets children
 * use them, and exits or waits to be killed. */
#include "support/sync_util.h"

#include <stdio.h>
#include <string.h>

#ifndef _WIN32
#include <dirent.h>
#endif

#define BIG (64u << 20)

typedef struct m_arg {
  mp_shm shm;
  size_t size;
  uint32_t seed;
  int slice; /* which part a child checks and writes */
  int parts;
} m_arg;

static uint32_t word_at(uint32_t seed, size_t i) {
  return seed * 2654435761u ^ (uint32_t)i * 40503u;
}

static void fill(uint32_t *w, size_t from, size_t to, uint32_t seed) {
  for (size_t i = from; i < to; i++)
    w[i] = word_at(seed, i);
}

static int matches(const uint32_t *w, size_t from, size_t to, uint32_t seed) {
  for (size_t i = from; i < to; i++)
    if (w[i] != word_at(seed, i))
      return 0;
  return 1;
}

/* Checks its slice holds the parent's pattern, then writes its own. */
static int role_check_and_write(void *arg) {
  m_arg *a = arg;
  uint32_t *w = mp_shm_ptr(a->shm);
  SU_CHECK(w != NULL);
  SU_CHECK(mp_shm_size(a->shm) == a->size);
  size_t words = a->size / 4, per = words / (size_t)a->parts;
  size_t from = per * (size_t)a->slice, to = from + per;
  SU_CHECK(matches(w, from, to, a->seed));
  fill(w, from, to, a->seed + 1 + (uint32_t)a->slice);
  return 0;
}

/* ---- tests ---- */

static void test_shm_size_and_zero_fill(void **state) {
  (void)state;
  static const size_t sizes[] = {1, 15, 16, 100, 4096, 100000, 3 << 20};
  for (int round = 0; round < 3; round++) {
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
      mp_shm m;
      assert_int_equal(mp_shm_create(&m, sizes[k]), 0);
      assert_int_equal(mp_shm_size(m), sizes[k]);
      unsigned char *p = mp_shm_ptr(m);
      assert_non_null(p);
      assert_int_equal((uintptr_t)p % 16, 0);
      assert_ptr_equal(mp_shm_ptr(m), p);
      for (size_t i = 0; i < sizes[k]; i++)
        if (p[i] != 0)
          fail_msg("byte %zu of %zu is %d (round %d)", i, sizes[k], p[i],
                   round);
      /* Dirty it, so that reuse of this memory must zero it again. */
      memset(p, 0xa5, sizes[k]);
      assert_int_equal(mp_shm_free(&m), 0);
    }
  }
}

static void shared_both_ways(size_t size, int parts) {
  m_arg a;
  memset(&a, 0, sizeof a);
  a.size = size;
  a.seed = 7;
  a.parts = parts;
  uint32_t *w = su_shm_new(&a.shm, size);
  fill(w, 0, size / 4, a.seed);
  mp_process *ps[8];
  for (int i = 0; i < parts; i++) {
    a.slice = i;
    ps[i] = tst_start(role_check_and_write, &a, sizeof a, NULL);
  }
  su_join_n(ps, parts, 0);
  size_t per = size / 4 / (size_t)parts;
  for (int i = 0; i < parts; i++)
    if (!matches(w, per * (size_t)i, per * (size_t)(i + 1),
                 a.seed + 1 + (uint32_t)i))
      fail_msg("slice %d does not hold what its child wrote", i);
  assert_int_equal(mp_shm_free(&a.shm), 0);
}

static void test_shm_visible_both_ways(void **state) {
  (void)state;
  shared_both_ways(1 << 20, 4);
}

static void test_shm_64_mib(void **state) {
  (void)state;
  shared_both_ways(BIG, 2);
}

static void test_shm_free(void **state) {
  (void)state;
  mp_shm m;
  assert_int_equal(mp_shm_create(&m, 1000), 0);
  mp_shm copy = m;
  assert_non_null(mp_shm_ptr(copy));
  assert_int_equal(mp_shm_free(&m), 0);
  assert_int_equal(m._arena | m._off | m._id, 0);
  assert_null(mp_shm_ptr(m));
  assert_null(mp_shm_ptr(copy));
  assert_int_equal(mp_shm_size(copy), 0);
  assert_int_equal(mp_shm_free(&copy), MP_EINVAL);
  assert_int_equal(mp_shm_free(&m), MP_EINVAL);
}

static void test_shm_bad_input(void **state) {
  (void)state;
  mp_shm m;
  assert_int_equal(mp_shm_create(NULL, 10), MP_EINVAL);
  assert_int_equal(mp_shm_create(&m, SIZE_MAX), MP_EINVAL);
  assert_int_equal(mp_shm_create(&m, (size_t)1 << 50), MP_ENOMEM);
  assert_int_equal(mp_shm_free(NULL), MP_EINVAL);
  mp_shm zero = {0, 0, 0};
  assert_null(mp_shm_ptr(zero));
  assert_int_equal(mp_shm_size(zero), 0);
  assert_int_equal(mp_shm_free(&zero), MP_EINVAL);

  assert_int_equal(mp_shm_create(&m, 64), 0);
  mp_shm forged = m;
  forged._off += 16;
  assert_null(mp_shm_ptr(forged));
  assert_int_equal(mp_shm_size(forged), 0);
  forged = m;
  forged._id++;
  assert_null(mp_shm_ptr(forged));
  assert_int_equal(mp_shm_free(&forged), MP_EINVAL);
  mp_lock l;
  assert_int_equal(mp_lock_create(&l), 0);
  memcpy(&forged, &l, sizeof forged);
  assert_null(mp_shm_ptr(forged));
  assert_int_equal(mp_lock_free(&l), 0);
  assert_non_null(mp_shm_ptr(m));
  assert_int_equal(mp_shm_free(&m), 0);
}

/* Bytes a program writes into shared memory never pass for an object,
 * whatever offset a forger computes for them: not {5, 1} (an id and the
 * Lock type), and not a copy of a real Lock's id. Refused before any use,
 * so acquire leaves the bytes as they were. */
static void test_shm_bytes_mimicking_a_lock(void **state) {
  (void)state;
  mp_lock real;
  assert_int_equal(mp_lock_create(&real), 0);
  mp_shm m;
  enum { SLOTS = 256 };
  uint64_t *w = su_shm_new(&m, SLOTS * 16);
  for (int k = 0; k < SLOTS; k++) {
    w[2 * k] = k % 2 ? real._id : 5;
    w[2 * k + 1] = 1; /* type 1, flags 0: a Lock's header */
  }
  uint64_t before[SLOTS * 2];
  memcpy(before, w, sizeof before);
  const uint64_t low36 = ((uint64_t)1 << 36) - 1;
  int passed = 0;
  for (int k = 0; k < SLOTS; k++) {
    /* The data starts 32 bytes into the object. */
    uint64_t off = m._off + 32 + 16 * (uint64_t)k;
    uint64_t offs[3] = {off, off & low36, (real._off & ~low36) | (off & low36)};
    uint64_t ids[2] = {5, real._id};
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 2; j++) {
        mp_lock f = {m._arena, offs[i], ids[j]};
        passed += mp_lock_acquire(&f, 0) != MP_EINVAL;
        passed += mp_lock_release(&f) != MP_EINVAL;
        mp_rlock r = {m._arena, offs[i], ids[j]};
        passed += mp_rlock_acquire(&r, 0) != MP_EINVAL;
      }
  }
  assert_int_equal(passed, 0);
  assert_memory_equal(w, before, sizeof before);
  assert_int_equal(mp_lock_acquire(&real, 0), 0);
  assert_int_equal(mp_lock_release(&real), 0);
  assert_int_equal(mp_lock_free(&real), 0);
  assert_int_equal(mp_shm_free(&m), 0);
}

/* ---- the family that must leave nothing behind ---- */

typedef struct fam_arg {
  mp_shm shm;
  mp_lock lock;
  mp_rlock rlock;
  mp_sem sem;
  mp_event ev;
  mp_cond cond;
  mp_barrier barrier;
  mp_sem ready;
  int hang;
} fam_arg;

/* Uses every kind of object, then exits or hangs holding some. */
static int role_family_member(void *arg) {
  fam_arg *a = arg;
  char *p = mp_shm_ptr(a->shm);
  SU_CHECK(p != NULL);
  memset(p, 1, mp_shm_size(a->shm));
  SU_CHECK(mp_lock_acquire(&a->lock, TST_LONG_MS) == 0);
  SU_CHECK(mp_rlock_acquire(&a->rlock, TST_LONG_MS) == 0);
  SU_CHECK(mp_sem_release(&a->sem) == 0);
  SU_CHECK(mp_event_set(&a->ev) == 0);
  SU_CHECK(mp_cond_acquire(&a->cond, TST_LONG_MS) == 0);
  SU_CHECK(mp_cond_notify_all(&a->cond) == 0);
  SU_CHECK(mp_barrier_wait(&a->barrier, 0) == 0);
  if (a->hang) {
    SU_CHECK(mp_sem_release(&a->ready) == 0);
    for (;;)
      tst_sleep_ms(1000);
  }
  SU_CHECK(mp_cond_release(&a->cond) == 0);
  SU_CHECK(mp_rlock_release(&a->rlock) == 0);
  SU_CHECK(mp_lock_release(&a->lock) == 0);
  return 0;
}

static int run_family(int hang) {
  fam_arg a;
  memset(&a, 0, sizeof a);
  if (mp_shm_create(&a.shm, 1 << 20) || mp_lock_create(&a.lock) ||
      mp_rlock_create(&a.rlock) || mp_sem_create(&a.sem, 0, 0) ||
      mp_event_create(&a.ev) || mp_cond_create(&a.cond) ||
      mp_barrier_create(&a.barrier, 1) || mp_sem_create(&a.ready, 0, 0))
    return 10;
  /* One member killed while holding objects, one that exits normally. */
  a.hang = 1;
  mp_process *p;
  if (mp_process_create(&p, role_family_member, &a, sizeof a, NULL) ||
      mp_process_start(p) || mp_sem_acquire(&a.ready, TST_LONG_MS) ||
      mp_process_kill(p) || mp_process_join(p, TST_LONG_MS) ||
      mp_process_free(p))
    return 11;
  a.hang = 0;
  if (mp_lock_acquire(&a.lock, TST_LONG_MS) != MP_EOWNERDEAD ||
      mp_lock_release(&a.lock) ||
      mp_rlock_acquire(&a.rlock, TST_LONG_MS) != MP_EOWNERDEAD ||
      mp_rlock_release(&a.rlock) ||
      mp_cond_acquire(&a.cond, TST_LONG_MS) != MP_EOWNERDEAD ||
      mp_cond_release(&a.cond))
    return 12;
  if (mp_process_create(&p, role_family_member, &a, sizeof a, NULL) ||
      mp_process_start(p) || mp_process_join(p, TST_LONG_MS))
    return 13;
  int code = -1;
  if (mp_process_exitcode(p, &code) || code != 0 || mp_process_free(p))
    return 14;
  if (hang) {
    /* A member still running, and this one: both to be killed. */
    a.hang = 1;
    if (mp_process_create(&p, role_family_member, &a, sizeof a, NULL) ||
        mp_process_start(p) || mp_sem_acquire(&a.ready, TST_LONG_MS))
      return 15;
    printf("ready\n");
    fflush(stdout);
    for (;;)
      tst_sleep_ms(1000);
  }
  /* Some objects freed, some not: exit reclaims both. */
  if (mp_sem_free(&a.sem) || mp_cond_free(&a.cond))
    return 16;
  printf("done\n");
  return 0;
}

#ifndef _WIN32
/* The names in /dev/shm, one per line, in buf. */
static void list_dev_shm(char *buf, size_t cap) {
  buf[0] = '\0';
  DIR *d = opendir("/dev/shm");
  assert_non_null(d);
  struct dirent *e;
  size_t used = 0;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    int n = snprintf(buf + used, cap - used, "/%s/\n", e->d_name);
    if (n < 0 || (size_t)n >= cap - used)
      break;
    used += (size_t)n;
  }
  closedir(d);
}

/* Names of the library's (every name it gives in /dev/shm starts with
 * "mproc") in after that are not in before. Other programs' names are not
 * this test's business: an MPI job or a browser on the same machine may
 * leave theirs. */
static int new_entries(const char *before, const char *after, char *first,
                       size_t cap) {
  int n = 0;
  for (const char *line = after; *line;) {
    const char *end = strchr(line, '\n');
    char name[512];
    size_t len = (size_t)(end - line + 1);
    if (len >= sizeof name)
      len = sizeof name - 1;
    memcpy(name, line, len);
    name[len] = '\0';
    if (strncmp(name, "/mproc", 6) == 0 && !strstr(before, name)) {
      if (n++ == 0)
        snprintf(first, cap, "%s", name);
    }
    line = end + 1;
  }
  return n;
}
#endif

/* Runs this executable as a family; with expect_killed, until tst_run
 * kills it (on POSIX with its whole process group, by SIGKILL). */
static void run_family_program(const char *mode, int expect_killed) {
  char exe[TST_PATH_MAX], dir[TST_PATH_MAX], out[TST_PATH_MAX],
      err[TST_PATH_MAX], tmp[TST_PATH_MAX], text[256] = "";
  assert_int_equal(tst_exe_dir(dir, sizeof dir), 0);
  tst_path(exe, sizeof exe, dir, "test_shm" TST_EXE_SUFFIX);
  assert_int_equal(tst_make_tmpdir(tmp, sizeof tmp), 0);
  tst_path(out, sizeof out, tmp, "out.txt");
  tst_path(err, sizeof err, tmp, "err.txt");
  const char *args[] = {"--family", mode, NULL};
  int code = -1;
  int rc = tst_run(exe, args, out, err, expect_killed ? 5000 : TST_LONG_MS,
                   &code);
  assert_true(tst_read_file(out, text, sizeof text) >= 0);
  tst_remove_tmpdir(tmp);
  if (expect_killed) {
    assert_int_equal(rc, 1);
    assert_true(tst_find(text, "ready") >= 0);
  } else {
    assert_int_equal(rc, 0);
    assert_int_equal(code, 0);
    assert_true(tst_find(text, "done") >= 0);
  }
}

static void family_leaves_nothing(const char *mode, int expect_killed) {
#ifdef _WIN32
  /* No /dev/shm to look at: the arena is an unnamed section and the named
   * wait objects die with their last handle. The family still has to run
   * (a killed one would leave its children behind here: not run). */
  if (!expect_killed)
    run_family_program(mode, 0);
  skip();
#else
  static char before[1 << 16], after[1 << 16];
  list_dev_shm(before, sizeof before);
  run_family_program(mode, expect_killed);
  /* Another program may come and go in /dev/shm meanwhile: only a name
   * that is new and stays counts. */
  char first[512] = "";
  for (int tries = 0; tries < 20; tries++) {
    list_dev_shm(after, sizeof after);
    if (new_entries(before, after, first, sizeof first) == 0)
      return;
    tst_sleep_ms(100);
  }
  fail_msg("left behind in /dev/shm: %s", first);
#endif
}

static void test_shm_family_exit_leaves_nothing(void **state) {
  (void)state;
  family_leaves_nothing("normal", 0);
}

static void test_shm_family_killed_leaves_nothing(void **state) {
  (void)state;
  family_leaves_nothing("hang", 1);
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  if (argc == 3 && strcmp(argv[1], "--family") == 0)
    return run_family(strcmp(argv[2], "hang") == 0);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shm_size_and_zero_fill),
      cmocka_unit_test(test_shm_visible_both_ways),
      cmocka_unit_test(test_shm_64_mib),
      cmocka_unit_test(test_shm_free),
      cmocka_unit_test(test_shm_bad_input),
      cmocka_unit_test(test_shm_bytes_mimicking_a_lock),
      cmocka_unit_test(test_shm_family_exit_leaves_nothing),
      cmocka_unit_test(test_shm_family_killed_leaves_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
