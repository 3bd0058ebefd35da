/* The start data block a spawned child reads from its parent.
 *
 * Wire format (both ends are meant to be the same executable on the same
 * machine, so native byte order and sizes are used; the reader checks
 * every length against the block and the child checks the executable's
 * identity before it acts on anything else in it):
 *   prefix:  u32 magic, u32 version, u64 header length   (16 bytes)
 *   header:  fields of mp__start_data, strings as u32 length + bytes
 *   arg:     arg_size bytes, read by the backend straight into the child's
 *            buffer so a 64 MiB argument is never copied twice. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MP__START_MAGIC 0x4d505244u /* "MPRD" */
#define MP__START_VERSION 2u

typedef struct {
  unsigned char *buf;
  size_t len, cap;
  int failed;
} writer;

static void put(writer *w, const void *src, size_t n) {
  if (w->failed)
    return;
  if (w->len + n > w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 256;
    while (cap < w->len + n)
      cap *= 2;
    unsigned char *grown = realloc(w->buf, cap);
    if (!grown) {
      w->failed = 1;
      return;
    }
    w->buf = grown;
    w->cap = cap;
  }
  memcpy(w->buf + w->len, src, n);
  w->len += n;
}

static void put_u32(writer *w, uint32_t v) { put(w, &v, sizeof v); }
static void put_u64(writer *w, uint64_t v) { put(w, &v, sizeof v); }

static void put_str(writer *w, const char *s) {
  uint32_t n = (uint32_t)strlen(s);
  put_u32(w, n);
  put(w, s, n);
}

int mp__start_data_pack(const mp__start_data *d, void **out, size_t *len) {
  writer w = {0};
  put_u32(&w, MP__START_MAGIC);
  put_u32(&w, MP__START_VERSION);
  put_u64(&w, 0); /* header length, patched below */
  put_u64(&w, d->exe.dev);
  put_u64(&w, d->exe.ino);
  put_u64(&w, d->target.offset);
  put_u32(&w, (uint32_t)d->target.is_main);
  put_u64(&w, d->target.file.dev);
  put_u64(&w, d->target.file.ino);
  put_str(&w, d->target.path);
  put_str(&w, d->name);
  put_str(&w, d->identity);
  put_u64(&w, (uint64_t)d->parent_pid);
  put_u32(&w, (uint32_t)d->daemon);
  put_u32(&w, (uint32_t)d->parent_method);
  put_u64(&w, (uint64_t)d->sentinel);
  put_u64(&w, d->arg_size);
  put_u64(&w, (uint64_t)d->n_inherit);
  for (size_t i = 0; i < d->n_inherit; i++) {
    put_u32(&w, d->inherit[i].kind);
    put_u32(&w, d->inherit[i].flags);
    put_u64(&w, d->inherit[i].id);
    put_u64(&w, (uint64_t)d->inherit[i].handle);
  }
  if (w.failed) {
    free(w.buf);
    return MP_ENOMEM;
  }
  uint64_t header_len = w.len - MP__START_PREFIX_LEN;
  memcpy(w.buf + 8, &header_len, sizeof header_len);
  *out = w.buf;
  *len = w.len;
  return 0;
}

typedef struct {
  const unsigned char *p, *end;
  int failed;
} reader;

static void get(reader *r, void *dst, size_t n) {
  if (r->failed || (size_t)(r->end - r->p) < n) {
    r->failed = 1;
    memset(dst, 0, n);
    return;
  }
  memcpy(dst, r->p, n);
  r->p += n;
}

static uint32_t get_u32(reader *r) {
  uint32_t v;
  get(r, &v, sizeof v);
  return v;
}

static uint64_t get_u64(reader *r) {
  uint64_t v;
  get(r, &v, sizeof v);
  return v;
}

static void get_str(reader *r, char *dst, size_t cap) {
  uint32_t n = get_u32(r);
  if (n >= cap) {
    r->failed = 1;
    dst[0] = '\0';
    return;
  }
  get(r, dst, n);
  dst[n] = '\0';
}

/* buf holds the prefix and the header. */
int mp__start_data_unpack(const void *buf, size_t len, mp__start_data *d) {
  reader r = {buf, (const unsigned char *)buf + len, 0};
  memset(d, 0, sizeof *d);
  if (get_u32(&r) != MP__START_MAGIC || get_u32(&r) != MP__START_VERSION)
    return MP_EINVAL;
  if (get_u64(&r) != len - MP__START_PREFIX_LEN)
    return MP_EINVAL;
  d->exe.dev = get_u64(&r);
  d->exe.ino = get_u64(&r);
  d->target.offset = get_u64(&r);
  d->target.is_main = get_u32(&r) != 0;
  d->target.file.dev = get_u64(&r);
  d->target.file.ino = get_u64(&r);
  get_str(&r, d->target.path, sizeof d->target.path);
  get_str(&r, d->name, sizeof d->name);
  get_str(&r, d->identity, sizeof d->identity);
  d->parent_pid = (mp_pid)get_u64(&r);
  d->daemon = get_u32(&r) != 0;
  d->parent_method = (mp_start_method)get_u32(&r);
  d->sentinel = (int64_t)get_u64(&r);
  d->arg_size = get_u64(&r);
  uint64_t n = get_u64(&r);
  /* Bounded by what the header can hold, so a bad count can't ask for
   * more memory than the block it came in. */
  if (r.failed || n > (uint64_t)(r.end - r.p) / 24 ||
      mp__check_method(d->parent_method) < 0)
    return MP_EINVAL;
  if (n > 0) {
    d->inherit = calloc((size_t)n, sizeof *d->inherit);
    if (!d->inherit)
      return MP_ENOMEM;
    d->n_inherit = (size_t)n;
    for (size_t i = 0; i < d->n_inherit; i++) {
      d->inherit[i].kind = get_u32(&r);
      d->inherit[i].flags = get_u32(&r);
      d->inherit[i].id = get_u64(&r);
      d->inherit[i].handle = (int64_t)get_u64(&r);
    }
  }
  if (r.failed || r.p != r.end) {
    mp__start_data_clear(d);
    return MP_EINVAL;
  }
  return 0;
}

void mp__start_data_clear(mp__start_data *d) {
  free(d->inherit);
  d->inherit = NULL;
  d->n_inherit = 0;
}
