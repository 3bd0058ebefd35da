#include <string.h>

#include "internal.h"

#ifdef _WIN32
#define MP__PLATFORM_DEFAULT MP_START_SPAWN
#else
#define MP__PLATFORM_DEFAULT MP_START_FORK
#endif

static mp_start_method env_method(void);

/* MP_START_DEFAULT until set. */
static mp_start_method chosen = MP_START_DEFAULT;

/* The environment is read once, at first use, as mproc.h promises: a
 * program that changes it later must not change method under its own
 * feet (its children would disagree with it). */
static mp_start_method default_method(void) {
  static mp_start_method cached = MP_START_DEFAULT;
  if (cached == MP_START_DEFAULT)
    cached = env_method();
  return cached;
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
    chosen = method;
  return rc;
}

mp_start_method mp_get_start_method(void) {
  return chosen == MP_START_DEFAULT ? default_method() : chosen;
}

mp_start_method mp__effective_method(mp_start_method requested) {
  return requested == MP_START_DEFAULT ? mp_get_start_method() : requested;
}
