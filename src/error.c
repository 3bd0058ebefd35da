#include "internal.h"

/* One slot per thread: an MP_ESYS from one thread must not be explained by
 * another thread's failure. */
static _Thread_local int last_os_error;

int mp__os_error(int os_error) {
  last_os_error = os_error;
  return MP_ESYS;
}

int mp_last_os_error(void) { return last_os_error; }

const char *mp_strerror(int code) {
  switch (code) {
  case 0:
    return "success";
#define MP__ERR_TEXT(name, value, text)                                        \
  case (value):                                                                \
    return text;
    MP_ERRNO_MAP(MP__ERR_TEXT)
#undef MP__ERR_TEXT
  default:
    return "unknown error";
  }
}
