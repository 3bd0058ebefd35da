#include "idset.h"

#include <stdlib.h>
#include <string.h>

#include "mproc.h"

/* The index of the first range with hi >= id (n if none). */
static size_t first_not_below(const mp__idset *s, uint64_t id) {
  size_t lo = 0, hi = s->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->r[mid].hi < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

int mp__idset_has(const mp__idset *s, uint64_t id) {
  size_t i = first_not_below(s, id);
  return i < s->n && s->r[i].lo <= id;
}

static int resize(mp__idset *s, size_t cap) {
  mp__idset_range *r = realloc(s->r, cap * sizeof *r);
  if (!r)
    return MP_ENOMEM;
  s->r = r;
  s->cap = cap;
  return 0;
}

int mp__idset_add(mp__idset *s, uint64_t id) {
  size_t i = first_not_below(s, id);
  if (i < s->n && s->r[i].lo <= id)
    return 0;
  /* id lies between r[i-1] (if any) and r[i] (if any), touching neither
   * range's inside: it may extend one, join both, or stand alone. */
  int joins_prev = i > 0 && s->r[i - 1].hi == id - 1;
  int joins_next = i < s->n && s->r[i].lo == id + 1;
  if (joins_prev && joins_next) {
    s->r[i - 1].hi = s->r[i].hi;
    memmove(&s->r[i], &s->r[i + 1], (s->n - i - 1) * sizeof *s->r);
    s->n--;
    /* Shrinks with the set, so memory follows the ranges held now. */
    if (s->cap > 16 && s->n * 4 <= s->cap)
      resize(s, s->cap / 2);
    return 0;
  }
  if (joins_prev) {
    s->r[i - 1].hi = id;
    return 0;
  }
  if (joins_next) {
    s->r[i].lo = id;
    return 0;
  }
  if (s->n == s->cap && resize(s, s->cap ? s->cap * 2 : 4) < 0)
    return MP_ENOMEM;
  memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof *s->r);
  s->r[i] = (mp__idset_range){id, id};
  s->n++;
  return 0;
}

void mp__idset_clear(mp__idset *s) {
  free(s->r);
  *s = (mp__idset){NULL, 0, 0};
}
