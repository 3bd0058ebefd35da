/* Windows has no futex between processes, so each shared wait word, robust
 * mutex and lock-owner slot gets a named kernel object,
 * "Local\mproc-<family secret>-<key>-<kind>". This process opens each at
 * most once and keeps the handle here.
 *
 * What the names protect, and what they do not:
 *   - The secret comes from the OS's random source and lives in the arena
 *     header: a process outside the family cannot guess a name, so it
 *     cannot create an object first (a squatter) to block or spy on the
 *     family. Every object is made with a DACL that admits the current
 *     user only (security.c), so other users, and processes of lower
 *     integrity, cannot open one even if they learn its name.
 *   - The process that makes an object creates its kernel object at once
 *     and refuses one that exists already (MP_ESYS, with
 *     ERROR_ALREADY_EXISTS as the OS error): it never adopts an object it
 *     did not make.
 *   - Other processes open lazily. When every handle to an object was
 *     closed its name is gone, and the first member of the family to need
 *     it makes it again; that is legitimate (nobody could be waiting on
 *     it), and there a squatter that knew the name would be adopted.
 *   - Processes of the same user are not a security boundary on Windows:
 *     one can list the names of the session's objects (and so learn the
 *     secret), open them, or read the family's memory. The names keep
 *     out strangers and mistakes, not the user's own hostile programs.
 *
 * The kernel deletes each object with its last handle, so nothing outlives
 * the family. Handles of objects another process freed are dropped here
 * too: each entry remembers its object's offset and id, and when the cache
 * has doubled since its last sweep, entries whose object no longer carries
 * that id are closed. */
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

#include "idmap.h"
#include "shared.h"

#define SWEEP_FROM 64 /* entries below which a sweep is not worth it */

typedef struct entry {
  HANDLE h;
  uint32_t obj16; /* the owning object's offset / 16; 0: none */
  uint64_t id;    /* that object's id when the entry was made */
} entry;

static mp__idmap cache; /* name_id(key, kind) -> entry */
static size_t after_sweep; /* entries left by the last sweep */
static const char kinds[] = {'w', 'm', 'o'}; /* wait word, mutex, owner */

/* Keys come from a counter in the arena (owner slots: their index), far
 * below 2^56: the low byte is free for the kind. */
#define KEY_LIMIT (UINT64_C(1) << 56)

static uint64_t name_id(uint64_t key, char kind) {
  return key << 8 | (unsigned char)kind;
}

static void name_of(wchar_t *name, size_t cap, uint64_t key, char kind) {
  swprintf(name, cap, L"Local\\mproc-%016llx%016llx-%llx-%c",
           (unsigned long long)mp__arena_name_key[0],
           (unsigned long long)mp__arena_name_key[1], (unsigned long long)key,
           kind);
}

/* The id the object at obj16 carries now; 0 if none or out of range. */
static uint64_t id_at(uint32_t obj16) {
  if (!obj16)
    return 0;
  mp__obj_hdr *o = mp__arena_ptr((uint64_t)obj16 * 16, sizeof *o);
  return o ? atomic_load(&o->id) : 0;
}

/* Under MP__LOCK_OS: closes the handles of objects that were freed. */
static void sweep(void) {
  /* Removing shifts entries back, so collect the ids first. */
  uint64_t *gone = NULL;
  size_t ngone = 0, capgone = 0;
  for (size_t i = 0; i < cache.cap; i++) {
    entry *e = cache.slots[i].value;
    if (!e || !e->obj16 || id_at(e->obj16) == e->id)
      continue;
    if (ngone == capgone) {
      size_t c = capgone ? capgone * 2 : 64;
      uint64_t *g = realloc(gone, c * sizeof *g);
      if (!g)
        break;
      gone = g;
      capgone = c;
    }
    gone[ngone++] = cache.slots[i].id;
  }
  for (size_t i = 0; i < ngone; i++) {
    entry *e = mp__idmap_remove(&cache, gone[i]);
    if (e) {
      CloseHandle(e->h);
      free(e);
    }
  }
  free(gone);
  after_sweep = cache.used;
}

/* Under MP__LOCK_OS: keeps h for (key, kind). Not cached for want of
 * memory: still usable, and one handle leaks. */
static void remember(uint64_t key, char kind, uint32_t obj16, HANDLE h) {
  if (cache.used >= SWEEP_FROM && cache.used >= 2 * after_sweep)
    sweep();
  entry *e = malloc(sizeof *e);
  if (!e)
    return;
  e->h = h;
  e->obj16 = obj16;
  e->id = id_at(obj16);
  if (mp__idmap_set(&cache, name_id(key, kind), e) < 0)
    free(e);
}

static HANDLE open_named(const wchar_t *name, char kind) {
  if (kind == 'w')
    return OpenSemaphoreW(SYNCHRONIZE | SEMAPHORE_MODIFY_STATE, FALSE, name);
  return OpenMutexW(SYNCHRONIZE | MUTEX_MODIFY_STATE, FALSE, name);
}

/* Creates the object; *existed set if the name was taken (then the handle
 * is to that object). NULL with the OS error stored on failure. */
static HANDLE create_named(const wchar_t *name, char kind, int owned,
                           int *existed) {
  SECURITY_ATTRIBUTES *sa;
  if (mp__win_owner_only(&sa) < 0)
    return NULL;
  HANDLE h = kind == 'w' ? CreateSemaphoreW(sa, 0, 0x7fffffff, name)
                         : CreateMutexW(sa, owned ? TRUE : FALSE, name);
  DWORD err = GetLastError();
  if (!h) {
    mp__os_error((int)err);
    return NULL;
  }
  *existed = err == ERROR_ALREADY_EXISTS;
  return h;
}

static int valid_key(uint64_t key) {
  if (key < KEY_LIMIT)
    return 1;
  mp__os_error(ERROR_INVALID_DATA); /* a key some process overwrote */
  return 0;
}

HANDLE mp__win_create(uint64_t key, char kind, uint32_t obj16, int owned) {
  if (!valid_key(key))
    return NULL;
  wchar_t name[96];
  name_of(name, sizeof name / sizeof name[0], key, kind);
  int existed = 0;
  HANDLE h = create_named(name, kind, owned, &existed);
  if (h && existed) {
    /* Someone made it first: a squatter, or a stale object. Refused. */
    CloseHandle(h);
    mp__os_error(ERROR_ALREADY_EXISTS);
    return NULL;
  }
  if (h) {
    mp__local_lock(MP__LOCK_OS);
    entry *old = mp__idmap_remove(&cache, name_id(key, kind));
    remember(key, kind, obj16, h);
    mp__local_unlock(MP__LOCK_OS);
    if (old) {
      CloseHandle(old->h);
      free(old);
    }
  }
  return h;
}

HANDLE mp__win_open(uint64_t key, char kind, uint32_t obj16, int or_create) {
  if (!valid_key(key))
    return NULL;
  mp__local_lock(MP__LOCK_OS);
  entry *e = mp__idmap_get(&cache, name_id(key, kind));
  HANDLE h = e ? e->h : NULL;
  if (!h) {
    wchar_t name[96];
    name_of(name, sizeof name / sizeof name[0], key, kind);
    h = open_named(name, kind);
    if (!h) {
      DWORD err = GetLastError();
      int existed = 0;
      /* Gone with its last handle: make it again (see the top). */
      if (or_create && err == ERROR_FILE_NOT_FOUND)
        h = create_named(name, kind, 0, &existed);
      else
        mp__os_error((int)err);
    }
    if (h)
      remember(key, kind, obj16, h);
  }
  mp__local_unlock(MP__LOCK_OS);
  return h;
}

void mp__os_forget_key(uint64_t key) {
  if (key >= KEY_LIMIT)
    return;
  mp__local_lock(MP__LOCK_OS);
  for (size_t i = 0; i < sizeof kinds; i++) {
    entry *e = mp__idmap_remove(&cache, name_id(key, kinds[i]));
    if (e) {
      CloseHandle(e->h);
      free(e);
    }
  }
  mp__local_unlock(MP__LOCK_OS);
}

#ifdef MPROC_FAULT_POINTS
#include "fault.h"

int mp__fault_win_name(unsigned ahead, char kind, char *out, size_t cap) {
  mp__arena_hdr *a = mp__arena_get();
  if (!a || !out)
    return MP_EINVAL;
  wchar_t name[96];
  name_of(name, sizeof name / sizeof name[0], atomic_load(&a->next_key) + ahead,
          kind);
  int n = WideCharToMultiByte(CP_UTF8, 0, name, -1, out, (int)cap, NULL, NULL);
  return n > 0 ? 0 : MP_EINVAL;
}
#endif
