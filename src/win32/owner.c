/* The OS lock of a lock-owner slot on Windows (the table and the tokens
 * are in ../owner.c): a named kernel mutex per slot (names.c, kind 'o'),
 * created held by the slot's thread, which holds it for its life. When the
 * thread exits or its process dies, the kernel abandons the mutex, and the
 * next wait on it says WAIT_ABANDONED; a mutex whose name is gone (every
 * handle closed) had no live holder either. Nothing is given back at
 * thread exit: abandonment is the notice. */
#include "shared.h"

void mp__os_owner_claimed(void) {}

int mp__os_owner_make(uint32_t idx, void *os) {
  (void)os;
  /* One that exists already was made by someone else: refused. */
  return mp__win_create(idx, 'o', 0, 1) ? 0 : MP_ESYS;
}

int mp__os_owner_take(uint32_t idx, void *os) {
  (void)os;
  HANDLE h = mp__win_open(idx, 'o', 0, 0);
  if (!h)
    return GetLastError() == ERROR_FILE_NOT_FOUND &&
           mp__win_create(idx, 'o', 0, 1) != NULL;
  DWORD r = WaitForSingleObject(h, 0);
  return r == WAIT_OBJECT_0 || r == WAIT_ABANDONED;
}

int mp__os_owner_probe(uint32_t idx, void *os) {
  (void)os;
  HANDLE h = mp__win_open(idx, 'o', 0, 0);
  if (!h)
    return GetLastError() == ERROR_FILE_NOT_FOUND ? MP__OWNER_FREE
                                                  : MP__OWNER_UNKNOWN;
  switch (WaitForSingleObject(h, 0)) {
  case WAIT_TIMEOUT:
    return MP__OWNER_HELD;
  case WAIT_ABANDONED:
    return MP__OWNER_DIED;
  case WAIT_OBJECT_0:
    ReleaseMutex(h);
    return MP__OWNER_FREE;
  default:
    return MP__OWNER_UNKNOWN;
  }
}

void mp__os_owner_release(uint32_t idx, void *os) {
  (void)os;
  HANDLE h = mp__win_open(idx, 'o', 0, 0);
  if (h)
    ReleaseMutex(h);
}
