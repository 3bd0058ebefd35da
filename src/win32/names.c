/* Windows has no futex between processes, so each shared wait word and
 * robust mutex gets a named kernel object, "Local\mproc-<arena>-<key>-<k>".
 * The kernel deletes it with its last handle, so nothing outlives the
 * family. This process opens each at most once and keeps the handle here. */
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

#include "shared.h"

typedef struct entry {
  uint64_t key;
  char kind;
  HANDLE h;
} entry;

static mp__mutex lock = MP__MUTEX_INIT;
static entry *slots;
static size_t nslots, used;

static size_t hash(uint64_t key, char kind) {
  uint64_t x = key * 0x9e3779b97f4a7c15ull ^ (uint64_t)(unsigned char)kind;
  return (size_t)(x ^ (x >> 29));
}

static int grow(void) {
  size_t n = nslots ? nslots * 2 : 64;
  entry *fresh = calloc(n, sizeof *fresh);
  if (!fresh)
    return -1;
  for (size_t i = 0; i < nslots; i++) {
    if (!slots[i].h)
      continue;
    size_t j = hash(slots[i].key, slots[i].kind) & (n - 1);
    while (fresh[j].h)
      j = (j + 1) & (n - 1);
    fresh[j] = slots[i];
  }
  free(slots);
  slots = fresh;
  nslots = n;
  return 0;
}

static HANDLE create(uint64_t key, char kind) {
  wchar_t name[96];
  swprintf(name, sizeof name / sizeof name[0], L"Local\\mproc-%016llx-%llx-%c",
           (unsigned long long)mp__arena->id, (unsigned long long)key, kind);
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
  mp__mutex_lock(&lock);
  HANDLE h = NULL;
  if (nslots) {
    for (size_t j = hash(key, kind) & (nslots - 1); slots[j].h;
         j = (j + 1) & (nslots - 1))
      if (slots[j].key == key && slots[j].kind == kind) {
        h = slots[j].h;
        break;
      }
  }
  if (!h && (h = create(key, kind)) != NULL) {
    if ((used + 1) * 2 > nslots && grow() != 0) {
      mp__mutex_unlock(&lock);
      return h; /* usable, just not cached: leaks one handle */
    }
    size_t j = hash(key, kind) & (nslots - 1);
    while (slots[j].h)
      j = (j + 1) & (nslots - 1);
    slots[j] = (entry){key, kind, h};
    used++;
  }
  mp__mutex_unlock(&lock);
  return h;
}

void mp__os_forget_key(uint64_t key) {
  mp__mutex_lock(&lock);
  /* Rebuild without the key's entries: simpler than tombstones, and
   * freeing objects is rare next to using them. */
  entry *old = slots;
  size_t n = nslots;
  slots = NULL;
  nslots = used = 0;
  for (size_t i = 0; i < n; i++) {
    if (!old[i].h)
      continue;
    if (old[i].key == key) {
      CloseHandle(old[i].h);
      continue;
    }
    if ((used + 1) * 2 > nslots && grow() != 0)
      continue;
    size_t j = hash(old[i].key, old[i].kind) & (nslots - 1);
    while (slots[j].h)
      j = (j + 1) & (nslots - 1);
    slots[j] = old[i];
    used++;
  }
  free(old);
  mp__mutex_unlock(&lock);
}
