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

void *mp_shm_ptr(mp_shm m) {
  shm_obj *o;
  if (mp__obj_lookup(&m, MP__T_SHM, (void **)&o) < 0)
    return NULL;
  /* Commits the whole block in this process's view (Windows). */
  return mp__arena_ptr(m._off + sizeof *o, (size_t)o->size) ? (void *)(o + 1)
                                                             : NULL;
}

size_t mp_shm_size(mp_shm m) {
  shm_obj *o;
  return mp__obj_lookup(&m, MP__T_SHM, (void **)&o) < 0 ? 0 : (size_t)o->size;
}

int mp_shm_free(mp_shm *m) { return mp__obj_free(m, MP__T_SHM, NULL, 0); }
