#include "idmap.h"

#include <stdlib.h>

#include "mproc.h"

static size_t home_of(uint64_t id, size_t cap) {
  uint64_t x = id * 0x9e3779b97f4a7c15ull;
  return (size_t)(x ^ (x >> 31)) & (cap - 1);
}

/* The slot holding id, or the empty slot where it would go. */
static mp__idmap_slot *probe(const mp__idmap *m, uint64_t id) {
  size_t i = home_of(id, m->cap);
  while (m->slots[i].value && m->slots[i].id != id)
    i = (i + 1) & (m->cap - 1);
  return &m->slots[i];
}

void *mp__idmap_get(const mp__idmap *m, uint64_t id) {
  return m->cap ? probe(m, id)->value : NULL;
}

#define CAP_MIN 64

static int rehash(mp__idmap *m, size_t cap) {
  mp__idmap other = {NULL, cap, m->used};
  other.slots = calloc(other.cap, sizeof *other.slots);
  if (!other.slots)
    return MP_ENOMEM;
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].value)
      *probe(&other, m->slots[i].id) = m->slots[i];
  free(m->slots);
  *m = other;
  return 0;
}

static int grow(mp__idmap *m) { return rehash(m, m->cap ? m->cap * 2 : CAP_MIN); }

int mp__idmap_set(mp__idmap *m, uint64_t id, void *value) {
  if (m->cap) {
    mp__idmap_slot *s = probe(m, id);
    if (s->value) {
      s->value = value;
      return 0;
    }
  }
  if ((m->used + 1) * 2 > m->cap && grow(m) < 0)
    return MP_ENOMEM;
  *probe(m, id) = (mp__idmap_slot){id, value};
  m->used++;
  return 0;
}

void *mp__idmap_remove(mp__idmap *m, uint64_t id) {
  if (!m->cap)
    return NULL;
  mp__idmap_slot *s = probe(m, id);
  void *old = s->value;
  if (!old)
    return NULL;
  /* Close the hole: a later entry of the same run moves into it unless
   * its home lies after the hole, where a lookup would still find it. */
  size_t mask = m->cap - 1, hole = (size_t)(s - m->slots);
  for (size_t j = (hole + 1) & mask; m->slots[j].value; j = (j + 1) & mask) {
    size_t home = home_of(m->slots[j].id, m->cap);
    int reachable = hole <= j ? (home > hole && home <= j)
                              : (home > hole || home <= j);
    if (!reachable) {
      m->slots[hole] = m->slots[j];
      hole = j;
    }
  }
  m->slots[hole] = (mp__idmap_slot){0, NULL};
  m->used--;
  /* Memory follows what the map holds now, not the most it ever held
   * (and a forked child's walk of the pipe-end table with it). At an
   * eighth full, half the size leaves it a quarter full: a few removals
   * and additions at the edge do not rehash each time. A failed
   * shrink only keeps the larger table. */
  if (m->cap > CAP_MIN && m->used * 8 <= m->cap)
    rehash(m, m->cap / 2);
  return old;
}

void mp__idmap_clear(mp__idmap *m) {
  free(m->slots);
  *m = (mp__idmap){NULL, 0, 0};
}
