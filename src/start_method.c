#include <stdatomic.h>
#include <string.h>

#include "internal.h"

#ifdef _WIN32
#define MP__PLATFORM_DEFAULT MP_START_SPAWN
#else
#define MP__PLATFORM_DEFAULT MP_START_FORK
#endif

static mp_start_method env_method(void);

/* MP_START_DEFAULT until set. Atomic: threads may start processes while
 * another sets the method. */
static _Atomic int chosen = MP_START_DEFAULT;

/* The environment is read once, at first use, as mproc.h promises: a
 * program that changes it later must not change method under its own
 * feet (its children would disagree with it). */
static mp_start_method default_method(void) {
  /* Two threads racing here both compute the same value from the same
   * environment, so a plain atomic store is enough (no once-lock, which
   * would need fork handling). */
  static _Atomic int cached = MP_START_DEFAULT;
  int m = atomic_load_explicit(&cached, memory_order_relaxed);
  if (m == MP_START_DEFAULT) {
    m = (int)env_method();
    atomic_store_explicit(&cached, m, memory_order_relaxed);
  }
  return (mp_start_method)m;
}

static mp_start_method env_method(void) {
  char value[16];
  if (mp__getenv("MP_START_METHOD", value, sizeof value) == 0) {
    if (strcmp(value, "spawn") == 0)
      return MP_START_SPAWN;
    /* fork in the environment on Windows falls back to the only method
     * there is rather than making every start fail. */
    if (strcmp(value, "fork") == 0 && MP__PLATFORM_DEFAULT == MP_START_FORK)
      return MP_START_FORK;
  }
  return MP__PLATFORM_DEFAULT;
}

int mp__check_method(mp_start_method method) {
  switch (method) {
  case MP_START_DEFAULT:
  case MP_START_SPAWN:
    return 0;
  case MP_START_FORK:
    /* Fork is the default exactly where the OS has it. */
    return MP__PLATFORM_DEFAULT == MP_START_FORK ? 0 : MP_ENOTSUP;
  default:
    return MP_EINVAL;
  }
}

int mp_set_start_method(mp_start_method method) {
  int rc = mp__check_method(method);
  if (rc == 0)
    atomic_store_explicit(&chosen, (int)method, memory_order_relaxed);
  return rc;
}

mp_start_method mp_get_start_method(void) {
  int m = atomic_load_explicit(&chosen, memory_order_relaxed);
  return m == MP_START_DEFAULT ? default_method() : (mp_start_method)m;
}

mp_start_method mp__effective_method(mp_start_method requested) {
  return requested == MP_START_DEFAULT ? mp_get_start_method() : requested;
}
