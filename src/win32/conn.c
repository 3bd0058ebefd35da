/* The OS pipe of a connection on Windows: a named pipe of messages,
 * opened for overlapped I/O so that a read can time out (wait on its
 * event, then cancel it). Anonymous pipes cannot do overlapped I/O, hence
 * the name: 128 random bits, only one instance (FILE_FLAG_FIRST_PIPE_
 * INSTANCE: nobody can have made it first), owner-only security like
 * every named object of the library, closed to remote clients, and the
 * client checked to be this process.
 *
 * Message type, not byte type: a reader whose buffer holds a whole
 * message gets it whole in one read, and a write still pending when its
 * writer dies is taken back whole. With bytes, a reader could take the
 * first half of a write whose writer then died, and packets (packet.c)
 * could be torn. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "conn.h"

#define PIPE_BUF_SIZE MP__CONN_PACKET_MAX
#define CHUNK_MAX (1u << 30)

static int create_server(int duplex, HANDLE *out) {
  SECURITY_ATTRIBUTES *sa;
  int rc = mp__win_owner_only(&sa);
  if (rc < 0)
    return rc;
  DWORD open_mode = (duplex ? PIPE_ACCESS_DUPLEX : PIPE_ACCESS_INBOUND) |
                    FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE;
  DWORD pipe_mode = PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT |
                    PIPE_REJECT_REMOTE_CLIENTS;
  /* A name can only clash with a pipe someone else made, and only a
   * process that made the pipe or reached it first makes either call
   * fail: try another name. */
  DWORD err = ERROR_ACCESS_DENIED;
  for (int tries = 0; tries < 16; tries++) {
    uint64_t r[2];
    if ((rc = mp__os_random(r, sizeof r)) < 0)
      return rc;
    wchar_t name[64];
    swprintf(name, sizeof name / sizeof name[0],
             L"\\\\.\\pipe\\mproc-%016llx%016llx", (unsigned long long)r[0],
             (unsigned long long)r[1]);
    HANDLE h = CreateNamedPipeW(name, open_mode, pipe_mode, 1, PIPE_BUF_SIZE,
                                PIPE_BUF_SIZE, 0, sa);
    if (h == INVALID_HANDLE_VALUE) {
      err = GetLastError();
      if (err == ERROR_ACCESS_DENIED || err == ERROR_PIPE_BUSY)
        continue;
      return mp__os_error((int)err);
    }
    DWORD access = duplex ? GENERIC_READ | GENERIC_WRITE : GENERIC_WRITE;
    HANDLE client = CreateFileW(name, access, 0, NULL, OPEN_EXISTING,
                                FILE_FLAG_OVERLAPPED, NULL);
    if (client == INVALID_HANDLE_VALUE) {
      err = GetLastError();
      CloseHandle(h);
      if (err == ERROR_PIPE_BUSY)
        continue;
      return mp__os_error((int)err);
    }
    ULONG client_pid = 0;
    if (!GetNamedPipeClientProcessId(h, &client_pid) ||
        client_pid != GetCurrentProcessId()) {
      err = ERROR_ACCESS_DENIED;
      CloseHandle(client);
      CloseHandle(h);
      continue;
    }
    /* A client starts in byte read mode; a duplex client reads too. */
    DWORD mode = PIPE_READMODE_MESSAGE;
    if (duplex && !SetNamedPipeHandleState(client, &mode, NULL, NULL)) {
      err = GetLastError();
      CloseHandle(client);
      CloseHandle(h);
      return mp__os_error((int)err);
    }
    out[0] = h;
    out[1] = client;
    return 0;
  }
  return mp__os_error((int)err);
}

/* The client is connected already; the server end only has to agree. */
static int connect_server(HANDLE server) {
  OVERLAPPED ov;
  memset(&ov, 0, sizeof ov);
  ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (!ov.hEvent)
    return mp__os_error((int)GetLastError());
  int rc = 0;
  if (!ConnectNamedPipe(server, &ov)) {
    DWORD err = GetLastError(), n;
    if (err == ERROR_IO_PENDING && !GetOverlappedResult(server, &ov, &n, TRUE))
      err = GetLastError();
    else if (err == ERROR_IO_PENDING)
      err = ERROR_PIPE_CONNECTED;
    if (err != ERROR_PIPE_CONNECTED)
      rc = mp__os_error((int)err);
  }
  CloseHandle(ov.hEvent);
  return rc;
}

/* One handle per end serves both directions of a duplex pipe. */
int mp__os_conn_pair(int duplex, mp__conn_os *a, mp__conn_os *b) {
  HANDLE h[2] = {NULL, NULL};
  int rc = create_server(duplex, h);
  if (rc == 0 && (rc = connect_server(h[0])) < 0) {
    CloseHandle(h[0]);
    CloseHandle(h[1]);
  }
  if (rc < 0)
    return rc;
  int64_t ha = (int64_t)(intptr_t)h[0], hb = (int64_t)(intptr_t)h[1];
  a->rd = ha;
  a->wr = duplex ? ha : MP__CONN_NONE;
  b->rd = duplex ? hb : MP__CONN_NONE;
  b->wr = hb;
  return 0;
}

static HANDLE event_of(int64_t *slot) {
  if (!*slot)
    *slot = (int64_t)(intptr_t)CreateEventW(NULL, TRUE, FALSE, NULL);
  return (HANDLE)(intptr_t)*slot;
}

/* What a pipe whose other end is closed everywhere answers. */
static int io_error(DWORD err) {
  if (err == ERROR_BROKEN_PIPE || err == ERROR_PIPE_NOT_CONNECTED ||
      err == ERROR_NO_DATA)
    return MP_EEOF;
  return mp__os_error((int)err);
}

/* Starts an overlapped read; later mp__win_conn_finish collects it. */
int mp__win_conn_start(mp__conn *c, void *dst, DWORD cap, OVERLAPPED *ov) {
  memset(ov, 0, sizeof *ov);
  ov->hEvent = event_of(&c->os.rd_event);
  if (!ov->hEvent)
    return mp__os_error((int)GetLastError());
  if (ReadFile((HANDLE)(intptr_t)c->os.rd, dst, cap, NULL, ov))
    return 0;
  /* Done at once, partly (see finish), or later. */
  DWORD err = GetLastError();
  return err == ERROR_IO_PENDING || err == ERROR_MORE_DATA ? 0 : io_error(err);
}

/* Cancels the read if still pending and reports what it got: 0 and *got
 * (0 bytes: cancelled in time), MP_EEOF, MP_ESYS. */
int mp__win_conn_finish(mp__conn *c, OVERLAPPED *ov, size_t *got) {
  HANDLE h = (HANDLE)(intptr_t)c->os.rd;
  DWORD n = 0;
  *got = 0;
  if (WaitForSingleObject(ov->hEvent, 0) != WAIT_OBJECT_0)
    CancelIoEx(h, ov);
  if (GetOverlappedResult(h, ov, &n, TRUE)) {
    *got = n;
    return 0;
  }
  DWORD err = GetLastError();
  /* A message bigger than the room: not one of our packets, whose bytes
   * the reader skips; the rest comes with the next read. */
  if (err == ERROR_MORE_DATA) {
    *got = n;
    return 0;
  }
  return err == ERROR_OPERATION_ABORTED ? 0 : io_error(err);
}

int mp__os_conn_read(mp__conn *c, void *dst, size_t cap, int timeout_ms,
                     size_t *got) {
  HANDLE h = (HANDLE)(intptr_t)c->os.rd;
  DWORD want = cap > CHUNK_MAX ? CHUNK_MAX : (DWORD)cap;
  uint64_t deadline = mp__now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
  for (;;) {
    /* Polling: ask first rather than start a read only to cancel it. */
    if (timeout_ms == 0) {
      DWORD avail = 0;
      if (!PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL))
        return io_error(GetLastError());
      /* The read below offers its whole room all the same: a message
       * read in part could lose its rest with its writer. */
      if (avail == 0)
        return MP_ETIMEDOUT;
    }
    OVERLAPPED ov;
    int rc = mp__win_conn_start(c, dst, want, &ov);
    if (rc < 0)
      return rc;
    DWORD left = INFINITE;
    if (timeout_ms >= 0) {
      uint64_t now = mp__now_ms();
      left = now >= deadline ? 0 : (DWORD)(deadline - now);
    }
    WaitForSingleObject(ov.hEvent, left);
    rc = mp__win_conn_finish(c, &ov, got);
    if (rc < 0 || *got > 0)
      return rc;
    if (timeout_ms >= 0 && mp__now_ms() >= deadline)
      return MP_ETIMEDOUT;
  }
}

void mp__os_conn_write_begin(void) {}
void mp__os_conn_write_end(int rc) { (void)rc; }

/* One WriteFile per packet, one message of the pipe: a reader gets it
 * whole, and one still pending when its writer dies is taken back whole.
 * No gather write on pipes: the packet is put together first (a small
 * one on the stack). */
static int write_one(mp__conn *c, const mp__conn_pkt *p) {
  unsigned char small[4096];
  size_t len = MP__CONN_HDR + p->len;
  unsigned char *buf = small;
  if (len > sizeof small) {
    if (!c->sbuf && !(c->sbuf = malloc(MP__CONN_PACKET_MAX)))
      return MP_ENOMEM;
    buf = c->sbuf;
  }
  memcpy(buf, p->hdr, MP__CONN_HDR);
  if (p->len > 0)
    memcpy(buf + MP__CONN_HDR, p->data, p->len);
  HANDLE h = (HANDLE)(intptr_t)c->os.wr;
  OVERLAPPED ov;
  memset(&ov, 0, sizeof ov);
  ov.hEvent = event_of(&c->os.wr_event);
  if (!ov.hEvent)
    return mp__os_error((int)GetLastError());
  DWORD n = 0;
  if (!WriteFile(h, buf, (DWORD)len, NULL, &ov) && GetLastError() != ERROR_IO_PENDING)
    return io_error(GetLastError());
  if (!GetOverlappedResult(h, &ov, &n, TRUE))
    return io_error(GetLastError());
  return n == len ? 0 : mp__os_error(ERROR_WRITE_FAULT);
}

int mp__os_conn_write(mp__conn *c, const mp__conn_pkt *p, size_t n) {
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++)
    rc = write_one(c, &p[i]);
  return rc;
}

/* Our copy, made by DuplicateHandle in the parent, is not inheritable. */
void mp__os_conn_adopt(int64_t h) { (void)h; }

void mp__os_conn_close(mp__conn *c) {
  if (c->os.wr == c->os.rd)
    c->os.wr = MP__CONN_NONE;
  int64_t *hs[4] = {&c->os.rd, &c->os.wr, &c->os.rd_event, &c->os.wr_event};
  for (int i = 0; i < 4; i++) {
    if (*hs[i])
      CloseHandle((HANDLE)(intptr_t)*hs[i]);
    *hs[i] = 0;
  }
}

