/* The OS handles this process passes to the children it spawns: the
 * arena's segment and the ends of pipes. A process-local list; forked
 * children inherit it with the rest of memory. */
#include <stdlib.h>
#include <string.h>

#include "shared.h"

static mp__mutex lock = MP__MUTEX_INIT;
static mp__inherit_entry *table;
static size_t count, capacity;

int mp__inherit_add(uint32_t kind, uint32_t flags, uint64_t id, int64_t handle) {
  mp__mutex_lock(&lock);
  if (count == capacity) {
    size_t cap = capacity ? capacity * 2 : 16;
    mp__inherit_entry *grown = realloc(table, cap * sizeof *grown);
    if (!grown) {
      mp__mutex_unlock(&lock);
      return MP_ENOMEM;
    }
    table = grown;
    capacity = cap;
  }
  table[count++] = (mp__inherit_entry){kind, flags, id, handle};
  mp__mutex_unlock(&lock);
  return 0;
}

void mp__inherit_remove(uint64_t id) {
  mp__mutex_lock(&lock);
  for (size_t i = 0; i < count; i++)
    if (table[i].id == id) {
      table[i] = table[--count];
      break;
    }
  mp__mutex_unlock(&lock);
}

int mp__inherit_snapshot(mp__inherit_entry **out, size_t *n) {
  mp__mutex_lock(&lock);
  *n = count;
  *out = NULL;
  int rc = 0;
  if (count > 0) {
    *out = malloc(count * sizeof **out);
    if (*out)
      memcpy(*out, table, count * sizeof **out);
    else
      rc = MP_ENOMEM;
  }
  mp__mutex_unlock(&lock);
  return rc;
}

int mp__inherit_adopt(const mp__inherit_entry *e, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int rc = 0;
    if (e[i].kind == MP__INHERIT_ARENA) {
      rc = mp__os_arena_attach(e[i].handle);
      if (rc == 0)
        mp__arena_id = mp__arena->id;
    } else if (e[i].kind == MP__INHERIT_CONN) {
      rc = mp__conn_adopt(&e[i]);
    }
    if (rc == 0)
      rc = mp__inherit_add(e[i].kind, e[i].flags, e[i].id, e[i].handle);
    if (rc < 0)
      return rc;
  }
  return 0;
}
