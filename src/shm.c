/* Shared memory: a zero-filled block of the arena. */
#include "shared.h"

typedef struct shm_obj {
  mp__obj_hdr hdr;
  uint64_t size;
  uint64_t pad; /* the data starts 16-aligned after the header */
} shm_obj;

int mp_shm_create(mp_shm *m, size_t size) {
  if (!m || size > (size_t)PTRDIFF_MAX - sizeof(shm_obj))
    return MP_EINVAL;
  shm_obj *o;
  mp__handle h;
  int rc = mp__obj_create(MP__T_SHM, sizeof *o + size, &h, (void **)&o);
  if (rc < 0)
    return rc;
  o->size = size;
  *(mp__handle *)m = h;
  return 0;
}

/* The object, with a size its block really holds: the size word is in
 * shared memory, where any process of the family can overwrite it. */
static shm_obj *lookup(mp_shm *m) {
  shm_obj *o;
  if (mp__obj_lookup(m, MP__T_SHM, (void **)&o) < 0 ||
      o->size > (uint64_t)PTRDIFF_MAX ||
      !mp__arena_block_holds(mp__handle_off((mp__handle *)m),
                             sizeof *o + o->size))
    return NULL;
  return o;
}

void *mp_shm_ptr(mp_shm m) {
  shm_obj *o = lookup(&m);
  return o ? (void *)(o + 1) : NULL;
}

size_t mp_shm_size(mp_shm m) {
  shm_obj *o = lookup(&m);
  return o ? (size_t)o->size : 0;
}

int mp_shm_free(mp_shm *m) { return mp__obj_free(m, MP__T_SHM, NULL, 0); }
