/* A process-local set of 64-bit ids kept as sorted, disjoint ranges: the
 * pipe ends this process closed (conn.c). Ids that come one after another
 * (each process numbers the ends it makes densely) share one range, so
 * the set stays small however many ids it holds. Not thread-safe: the
 * user holds its own lock. A zeroed mp__idset is an empty set. */
#ifndef MPROC_IDSET_H
#define MPROC_IDSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct mp__idset_range {
  uint64_t lo, hi; /* inclusive */
} mp__idset_range;

typedef struct mp__idset {
  mp__idset_range *r; /* n of them, ascending, never touching */
  size_t n, cap;
} mp__idset;

/* 0 (also when id was in already) or MP_ENOMEM. */
int mp__idset_add(mp__idset *s, uint64_t id);
/* 1 if id is in the set. */
int mp__idset_has(const mp__idset *s, uint64_t id);
/* Empties the set and frees its memory. */
void mp__idset_clear(mp__idset *s);

#endif
