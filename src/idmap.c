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

static int grow(mp__idmap *m) {
  mp__idmap bigger = {NULL, m->cap ? m->cap * 2 : 64, m->used};
  bigger.slots = calloc(bigger.cap, sizeof *bigger.slots);
  if (!bigger.slots)
    return MP_ENOMEM;
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].value)
      *probe(&bigger, m->slots[i].id) = m->slots[i];
  free(m->slots);
  *m = bigger;
  return 0;
}

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
  return old;
}

void mp__idmap_clear(mp__idmap *m) {
  free(m->slots);
  *m = (mp__idmap){NULL, 0, 0};
}
