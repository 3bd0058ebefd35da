/* Event: one wait word whose value is (sets << 1) | flag. Counting the
 * sets, not only the flag, gives Python's guarantee that a set wakes every
 * process waiting at that moment even if a clear follows at once: a
 * sleeper that finds the count changed knows a set happened. */
#include "deadline.h"
#include "fault.h"
#include "shared.h"

typedef struct event_obj {
  mp__obj_hdr hdr;
  mp__waitword word;
} event_obj;

#define FLAG 1u

static int lookup(mp_event *e, event_obj **o) {
  return mp__obj_lookup(e, MP__T_EVENT, (void **)o);
}

int mp_event_create(mp_event *e) {
  if (!e)
    return MP_EINVAL;
  event_obj *o;
  mp__handle h;
  int rc = mp__obj_create(MP__T_EVENT, sizeof *o, &h, (void **)&o);
  if (rc < 0)
    return rc;
  if ((rc = mp__waitword_init(&o->word, o, 0)) < 0) {
    mp__obj_destroy(&h, MP__T_EVENT);
    return rc;
  }
  *(mp__handle *)e = h;
  return 0;
}

int mp_event_set(mp_event *e) {
  event_obj *o;
  int rc = lookup(e, &o);
  if (rc < 0)
    return rc;
  uint32_t v = atomic_load(&o->word.value);
  do {
    if (v & FLAG)
      return 0; /* already set: nobody is waiting for this one */
  } while (!atomic_compare_exchange_weak(&o->word.value, &v,
                                         (v + 2u) | FLAG));
  MP__FAULT("event.set.wake");
  mp__waitword_wake(&o->word, UINT32_MAX);
  return 0;
}

int mp_event_clear(mp_event *e) {
  event_obj *o;
  int rc = lookup(e, &o);
  if (rc < 0)
    return rc;
  atomic_fetch_and(&o->word.value, ~FLAG);
  return 0;
}

int mp_event_is_set(mp_event *e) {
  event_obj *o;
  int rc = lookup(e, &o);
  if (rc < 0)
    return rc;
  return (atomic_load(&o->word.value) & FLAG) != 0;
}

int mp_event_wait(mp_event *e, int timeout_ms) {
  if (timeout_ms < MP_INFINITE)
    return MP_EINVAL;
  event_obj *o;
  int rc = lookup(e, &o);
  if (rc < 0)
    return rc;
  uint32_t seen = atomic_load(&o->word.value);
  if (seen & FLAG)
    return 0;
  mp__deadline d = mp__deadline_in(timeout_ms);
  for (;;) {
    int left = mp__deadline_left(&d);
    if (left == 0)
      return MP_ETIMEDOUT;
    rc = mp__waitword_wait(&o->word, seen, left);
    if (rc < 0 && rc != MP_ETIMEDOUT)
      return rc;
    /* Any change of the word other than a clear is a set: the flag, or
     * the set count if a clear came right after it. */
    uint32_t now = atomic_load(&o->word.value);
    if ((now & FLAG) || (now >> 1) != (seen >> 1))
      return 0;
    seen = now;
  }
}

int mp_event_free(mp_event *e) {
  event_obj *o;
  int rc = lookup(e, &o);
  if (rc < 0)
    return rc;
  uint64_t key = o->word.key;
  return mp__obj_free(e, MP__T_EVENT, &key, 1);
}
