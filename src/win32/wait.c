/* mp_wait on Windows. A pipe has nothing to wait on until a read is
 * pending, so every connection gets an overlapped read into its own
 * receive buffer (what arrives is kept there, not lost), and a process its
 * handle. WaitForMultipleObjects takes at most 64 handles: beyond that,
 * threads wait on groups of 63 plus a stop event and signal a shared one. */
#include <stdlib.h>
#include <string.h>

#include "conn.h"

#define GROUP (MAXIMUM_WAIT_OBJECTS - 1)

enum { IDLE, SKIPPED, LOCKED, READING };

typedef struct group {
  const HANDLE *hs;
  DWORD n;
  HANDLE stop, fired;
} group;

static DWORD WINAPI group_main(void *arg) {
  group *g = arg;
  HANDLE list[MAXIMUM_WAIT_OBJECTS];
  list[0] = g->stop;
  memcpy(list + 1, g->hs, g->n * sizeof *list);
  DWORD w = WaitForMultipleObjects(g->n + 1, list, FALSE, INFINITE);
  if (w > WAIT_OBJECT_0 && w <= WAIT_OBJECT_0 + g->n)
    SetEvent(g->fired);
  return 0;
}

static void join_all(HANDLE *threads, size_t n) {
  for (size_t i = 0; i < n; i++) {
    WaitForSingleObject(threads[i], INFINITE);
    CloseHandle(threads[i]);
  }
}

static int wait_groups(const HANDLE *hs, size_t n, DWORD timeout) {
  size_t ng = (n + GROUP - 1) / GROUP, started = 0;
  group *g = calloc(ng, sizeof *g);
  HANDLE *threads = calloc(ng, sizeof *threads);
  HANDLE stop = CreateEventW(NULL, TRUE, FALSE, NULL);
  HANDLE fired = CreateEventW(NULL, TRUE, FALSE, NULL);
  int rc = g && threads && stop && fired ? 0 : MP_ENOMEM;
  for (size_t i = 0; rc == 0 && i < ng; i++) {
    g[i] = (group){hs + i * GROUP, (DWORD)(n - i * GROUP < GROUP ? n - i * GROUP : GROUP),
                   stop, fired};
    threads[i] = CreateThread(NULL, 64 * 1024, group_main, &g[i],
                              STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
    if (threads[i])
      started++;
    else
      rc = mp__os_error((int)GetLastError());
  }
  if (rc == 0)
    rc = WaitForSingleObject(fired, timeout) == WAIT_OBJECT_0;
  if (stop)
    SetEvent(stop);
  join_all(threads, started);
  if (stop)
    CloseHandle(stop);
  if (fired)
    CloseHandle(fired);
  free(threads);
  free(g);
  return rc;
}

/* 1 if one of hs is signalled within timeout_ms, 0 if not, or a code. */
static int wait_any(const HANDLE *hs, size_t n, int timeout_ms) {
  DWORD t = timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms;
  if (n == 0) {
    /* Only ends another thread is receiving from: look again soon. */
    Sleep(t == INFINITE ? 16 : t);
    return 0;
  }
  if (n > MAXIMUM_WAIT_OBJECTS)
    return wait_groups(hs, n, t);
  DWORD w = WaitForMultipleObjects((DWORD)n, hs, FALSE, t);
  if (w == WAIT_FAILED)
    return mp__os_error((int)GetLastError());
  return w != WAIT_TIMEOUT;
}

/* Sets up slot i; adds what to wait on to hs. 1 if ready now. */
static int arm(mp__wait_slot *s, char *state, OVERLAPPED *ov, HANDLE *hs,
               size_t *nh) {
  if (s->kind == MP_WAIT_PROCESS) {
    if (mp__wait_proc_done(s->proc) || !s->proc->os.process)
      return 1;
    hs[(*nh)++] = s->proc->os.process;
    return 0;
  }
  mp__conn *c = s->conn;
  /* Another thread receives from it (or it is listed twice): its buffer
   * is not ours to read into now. */
  if (!TryAcquireSRWLockExclusive(&c->rd)) {
    *state = SKIPPED;
    return 0;
  }
  *state = LOCKED;
  if (mp__conn_buffered_ready(c))
    return 1;
  /* Room for a whole packet: a message of the pipe read in part could
   * lose its rest with its writer. */
  int rc = mp__conn_reserve(c, MP__CONN_PACKET_MAX);
  if (rc == 0)
    rc = mp__win_conn_start(c, c->buf + c->end, MP__CONN_PACKET_MAX, ov);
  if (rc == MP_EEOF)
    c->eof = 1;
  if (rc < 0)
    return rc == MP_EEOF ? 1 : rc;
  *state = READING;
  hs[(*nh)++] = ov->hEvent;
  return 0;
}

/* Collects slot i after the wait. 1 if ready. */
static int collect(mp__wait_slot *s, char state, OVERLAPPED *ov) {
  if (s->kind == MP_WAIT_PROCESS)
    return mp__wait_proc_done(s->proc) || !s->proc->os.process ||
           WaitForSingleObject(s->proc->os.process, 0) == WAIT_OBJECT_0;
  mp__conn *c = s->conn;
  if (state == SKIPPED && !TryAcquireSRWLockExclusive(&c->rd))
    return 0;
  if (state == READING) {
    size_t got = 0;
    int rc = mp__win_conn_finish(c, ov, &got);
    c->end += got;
    if (rc == MP_EEOF)
      c->eof = 1;
  }
  int ready = mp__conn_buffered_ready(c);
  ReleaseSRWLockExclusive(&c->rd);
  return ready;
}

int mp__os_wait_slots(mp__wait_slot *s, size_t n, int timeout_ms) {
  HANDLE *hs = malloc(n * sizeof *hs);
  OVERLAPPED *ov = malloc(n * sizeof *ov);
  char *state = calloc(n, 1);
  if (!hs || !ov || !state) {
    free(hs);
    free(ov);
    free(state);
    return MP_ENOMEM;
  }
  size_t nh = 0;
  int err = 0, early = 0;
  for (size_t i = 0; i < n && err == 0; i++) {
    if (s[i].kind == MP_WAIT_QUEUE)
      continue;
    int rc = arm(&s[i], &state[i], &ov[i], hs, &nh);
    if (rc < 0)
      err = rc;
    early += rc > 0;
  }
  if (err == 0) {
    int rc = wait_any(hs, nh, early ? 0 : timeout_ms);
    if (rc < 0)
      err = rc;
  }
  int ready = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i].kind == MP_WAIT_QUEUE || (s[i].kind == MP_WAIT_CONN && state[i] == IDLE))
      continue;
    s[i].ready = collect(&s[i], state[i], &ov[i]);
    ready += s[i].ready;
  }
  free(hs);
  free(ov);
  free(state);
  return err < 0 ? err : ready;
}
