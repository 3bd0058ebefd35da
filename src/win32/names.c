/* Windows has no futex between processes, so each shared wait word and
 * robust mutex gets a named kernel object, "Local\mproc-<arena>-<key>-<k>".
 * The kernel deletes it with its last handle, so nothing outlives the
 * family. This process opens each at most once and keeps the handle here. */
#include <stdio.h>
#include <wchar.h>

#include "idmap.h"
#include "shared.h"

static mp__idmap cache; /* name_id(key, kind) -> HANDLE */
static const char kinds[] = {'w', 'm'}; /* wait word, robust mutex */

/* Keys come from a counter in the arena, far below 2^56: the low byte is
 * free for the kind. */
static uint64_t name_id(uint64_t key, char kind) {
  return key << 8 | (unsigned char)kind;
}

static HANDLE create(uint64_t key, char kind) {
  wchar_t name[96];
  swprintf(name, sizeof name / sizeof name[0], L"Local\\mproc-%016llx-%llx-%c",
           (unsigned long long)atomic_load(&mp__arena_id), (unsigned long long)key, kind);
  HANDLE h = NULL;
  if (kind == 'm')
    h = CreateMutexW(NULL, FALSE, name);
  else
    h = CreateSemaphoreW(NULL, 0, 0x7fffffff, name);
  if (!h)
    mp__os_error((int)GetLastError());
  return h;
}

/* The handle for (key, kind), opening or creating the named object. */
HANDLE mp__win_named(uint64_t key, char kind) {
  mp__local_lock(MP__LOCK_OS);
  HANDLE h = mp__idmap_get(&cache, name_id(key, kind));
  /* Not cached for want of memory: still usable, and one handle leaks. */
  if (!h && (h = create(key, kind)) != NULL)
    mp__idmap_set(&cache, name_id(key, kind), h);
  mp__local_unlock(MP__LOCK_OS);
  return h;
}

void mp__os_forget_key(uint64_t key) {
  mp__local_lock(MP__LOCK_OS);
  for (size_t i = 0; i < sizeof kinds; i++) {
    HANDLE h = mp__idmap_remove(&cache, name_id(key, kinds[i]));
    if (h)
      CloseHandle(h);
  }
  mp__local_unlock(MP__LOCK_OS);
}
