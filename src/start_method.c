#include <string.h>

#include "internal.h"

#ifdef _WIN32
#define MP__PLATFORM_DEFAULT MP_START_SPAWN
#else
#define MP__PLATFORM_DEFAULT MP_START_FORK
#endif

/* MP_START_DEFAULT until set; the environment is read on each use of the
 * default so that a test harness can change it between runs of a program
 * without the library caching a stale value. */
static mp_start_method chosen = MP_START_DEFAULT;

static mp_start_method default_method(void) {
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

int mp_set_start_method(mp_start_method method) {
  switch (method) {
  case MP_START_DEFAULT:
  case MP_START_SPAWN:
    chosen = method;
    return 0;
  case MP_START_FORK:
    if (MP__PLATFORM_DEFAULT != MP_START_FORK)
      return MP_ENOTSUP;
    chosen = method;
    return 0;
  default:
    return MP_EINVAL;
  }
}

mp_start_method mp_get_start_method(void) {
  return chosen == MP_START_DEFAULT ? default_method() : chosen;
}

mp_start_method mp__effective_method(mp_start_method requested) {
  return requested == MP_START_DEFAULT ? mp_get_start_method() : requested;
}
