/* The OS handles this process passes to the children it spawns: the
 * arena's segment and the ends of pipes. A process-local list; forked
 * children inherit it with the rest of memory. */
#include <stdlib.h>
#include <string.h>

#include "shared.h"

static mp__inherit_entry *table;
static size_t count, capacity;

int mp__inherit_add(uint32_t kind, uint32_t flags, uint64_t id, int64_t handle) {
  mp__local_lock(MP__LOCK_INHERIT);
  if (count == capacity) {
    size_t cap = capacity ? capacity * 2 : 16;
    mp__inherit_entry *grown = realloc(table, cap * sizeof *grown);
    if (!grown) {
      mp__local_unlock(MP__LOCK_INHERIT);
      return MP_ENOMEM;
    }
    table = grown;
    capacity = cap;
  }
  table[count++] = (mp__inherit_entry){kind, flags, id, handle};
  mp__local_unlock(MP__LOCK_INHERIT);
  return 0;
}

void mp__inherit_remove(uint64_t id) {
  mp__local_lock(MP__LOCK_INHERIT);
  for (size_t i = 0; i < count; i++)
    if (table[i].id == id) {
      table[i] = table[--count];
      break;
    }
  mp__local_unlock(MP__LOCK_INHERIT);
}

/* Each entry of the snapshot gets its own duplicate of the OS handle, made
 * under the table's lock: another thread closing a pipe end while the
 * spawn runs can then neither make it fail nor, worse, hand the child
 * whatever file reused the number. */
int mp__inherit_snapshot(mp__inherit_entry **out, size_t *n) {
  mp__local_lock(MP__LOCK_INHERIT);
  *n = 0;
  *out = NULL;
  int rc = 0;
  if (count > 0 && !(*out = malloc(count * sizeof **out)))
    rc = MP_ENOMEM;
  for (size_t i = 0; rc == 0 && i < count; i++) {
    (*out)[i] = table[i];
    if ((rc = mp__os_handle_dup(table[i].handle, &(*out)[i].handle)) == 0)
      ++*n;
  }
  mp__local_unlock(MP__LOCK_INHERIT);
  if (rc < 0) {
    mp__inherit_release(*out, *n);
    *out = NULL;
    *n = 0;
  }
  return rc;
}

void mp__inherit_release(mp__inherit_entry *e, size_t n) {
  for (size_t i = 0; i < n; i++)
    mp__os_handle_close(e[i].handle);
  free(e);
}

/* The arena first, whatever the order of the entries: a pipe end's
 * handles are checked against the family's id (conn.c). */
int mp__inherit_adopt(const mp__inherit_entry *e, size_t n) {
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < n; i++) {
      if ((e[i].kind == MP__INHERIT_ARENA) != (pass == 0))
        continue;
      int rc = 0;
      if (e[i].kind == MP__INHERIT_ARENA) {
        rc = mp__arena_attach(e[i].handle);
      } else if (e[i].kind == MP__INHERIT_CONN) {
        rc = mp__conn_adopt(&e[i]);
      }
      if (rc == 0)
        rc = mp__inherit_add(e[i].kind, e[i].flags, e[i].id, e[i].handle);
      if (rc < 0)
        return rc;
    }
  }
  return 0;
}
