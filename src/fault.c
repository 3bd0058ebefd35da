/* Fault points for the tests: see fault.h. Empty unless built with
 * MPROC_FAULT_POINTS. */
#include "fault.h"

#ifdef MPROC_FAULT_POINTS
#include <string.h>

#include "deadline.h"
#include "internal.h"

_Thread_local const char *mp__fault_point;
_Atomic int mp__fault_nap_ms;
static _Thread_local unsigned skip_left;
static _Thread_local mp__fault_action armed_action;
static _Thread_local int armed_ms;

void mp__fault_arm(const char *point, unsigned skip, mp__fault_action action,
                   int ms) {
  skip_left = skip;
  armed_action = action;
  armed_ms = ms;
  mp__fault_point = point;
}

int mp__fault_pending(void) { return mp__fault_point != NULL; }

void mp__fault_fixed_nap(int ms) { atomic_store(&mp__fault_nap_ms, ms); }

void mp__fault_hit(const char *point) {
  if (strcmp(point, mp__fault_point) != 0)
    return;
  if (skip_left > 0) {
    skip_left--;
    return;
  }
  mp__fault_point = NULL;
  if (armed_action == MP__FAULT_KILL)
    mp__os_die_now();
  else
    mp__sleep_ms(armed_ms > 0 ? (unsigned)armed_ms : 0);
}
#else
/* ISO C wants a translation unit to declare something. */
typedef int mp__fault_points_off;
#endif
