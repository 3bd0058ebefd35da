/* The pool's threads and condition variables on Windows: a CRT thread
 * (_beginthreadex, so that the C runtime's per-thread state is set up for
 * callbacks that use it) and a CONDITION_VARIABLE over the SRW lock that
 * is the library's mutex here. */
#include <process.h>
#include <stdlib.h>

#include "pool.h"

struct mp__thread {
  HANDLE h;
  void (*fn)(void *);
  void *arg;
};

static unsigned __stdcall trampoline(void *arg) {
  mp__thread *t = arg;
  t->fn(t->arg);
  return 0;
}

int mp__thread_start(mp__thread **out, void (*fn)(void *), void *arg) {
  mp__thread *t = malloc(sizeof *t);
  if (!t)
    return MP_ENOMEM;
  t->fn = fn;
  t->arg = arg;
  uintptr_t h = _beginthreadex(NULL, 0, trampoline, t, 0, NULL);
  if (h == 0) {
    free(t);
    return mp__os_error((int)GetLastError());
  }
  t->h = (HANDLE)h;
  *out = t;
  return 0;
}

void mp__thread_join(mp__thread *t) {
  WaitForSingleObject(t->h, INFINITE);
  CloseHandle(t->h);
  free(t);
}

struct mp__cond {
  CONDITION_VARIABLE cv;
};

int mp__cond_new(mp__cond **out) {
  mp__cond *c = malloc(sizeof *c);
  if (!c)
    return MP_ENOMEM;
  InitializeConditionVariable(&c->cv);
  *out = c;
  return 0;
}

void mp__cond_free(mp__cond *c) { free(c); }

void mp__cond_wait(mp__cond *c, mp__mutex *m, int timeout_ms) {
  SleepConditionVariableSRW(&c->cv, m,
                            timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms, 0);
}

void mp__cond_broadcast(mp__cond *c) { WakeAllConditionVariable(&c->cv); }
