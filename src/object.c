/* Handles of shared objects: {arena id, offset, object id}. Validation is
 * what turns a freed, zeroed or forged handle into MP_EINVAL instead of a
 * crash: every check reads only memory inside the mapped arena. */
#include <string.h>

#include "shared.h"

int mp__obj_create(uint32_t type, size_t size, mp__handle *h, void **obj) {
  if (!h)
    return MP_EINVAL;
  memset(h, 0, sizeof *h);
  uint64_t off;
  int rc = mp__arena_alloc(size, &off);
  if (rc < 0)
    return rc;
  mp__obj_hdr *o = mp__arena_ptr(off, size);
  o->type = type;
  o->flags = 0;
  uint64_t id = mp__arena_new_key();
  /* Published last: until then no handle can match it. */
  atomic_store(&o->id, id);
  h->arena = atomic_load_explicit(&mp__arena_id, memory_order_relaxed);
  h->off = mp__handle_check(off, id) << MP__OFF_BITS | off;
  h->id = id;
  if (obj)
    *obj = o;
  return 0;
}

int mp__obj_destroy(const void *handle, uint32_t type) {
  void *obj;
  int rc = mp__obj_lookup(handle, type, &obj);
  if (rc < 0)
    return rc;
  mp__obj_hdr *o = obj;
  uint64_t id = atomic_load(&o->id);
  /* Two processes freeing at once: only one wins the id. */
  if (!atomic_compare_exchange_strong(&o->id, &id, 0))
    return MP_EINVAL;
  mp__arena_free(mp__handle_off(handle));
  return 0;
}

int mp__obj_free(void *handle, uint32_t type, const uint64_t *keys,
                 size_t nkeys) {
  int rc = mp__obj_destroy(handle, type);
  if (rc < 0)
    return rc;
  for (size_t i = 0; i < nkeys; i++)
    mp__os_forget_key(keys[i]);
  memset(handle, 0, sizeof(mp__handle));
  return 0;
}

/* The same on every OS; only sleeping and waking differ (<os>/sync.c). */
int mp__waitword_init(mp__waitword *w, const void *obj, uint32_t value) {
  atomic_store(&w->value, value);
  atomic_store(&w->waiters, 0);
  atomic_store(&w->woken, 0);
  w->obj16 = (uint32_t)(mp__arena_off(obj) / 16);
  w->key = mp__arena_new_key();
  return mp__os_waitword_create(w);
}
