/* A process-local map from a 64-bit id to a pointer: open addressing with
 * linear probing, grown at half full, shrunk at an eighth full, deletion
 * by shifting back (no tombstones). It holds the pipe ends this process
 * has (conn.c), the queues it closed (queue.c), and on Windows the named
 * kernel objects it opened (win32/names.c). Not thread-safe: each user holds its own lock.
 * A zeroed mp__idmap is an empty map. */
#ifndef MPROC_IDMAP_H
#define MPROC_IDMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct mp__idmap_slot {
  uint64_t id;
  void *value; /* NULL: an empty slot */
} mp__idmap_slot;

typedef struct mp__idmap {
  mp__idmap_slot *slots; /* cap of them, cap a power of two (or 0) */
  size_t cap, used;
} mp__idmap;

/* The value stored for id, or NULL. */
void *mp__idmap_get(const mp__idmap *m, uint64_t id);
/* Stores value (not NULL) for id, replacing any value it had; replacing
 * never fails. 0 or MP_ENOMEM. */
int mp__idmap_set(mp__idmap *m, uint64_t id, void *value);
/* Removes id; its value, or NULL if it had none. Never fails; the map
 * shrinks when it gets sparse. */
void *mp__idmap_remove(mp__idmap *m, uint64_t id);
/* Empties the map and frees its memory. */
void mp__idmap_clear(mp__idmap *m);

#endif
