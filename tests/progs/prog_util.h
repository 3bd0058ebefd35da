/* Tiny portable helpers for the helper programs in tests/progs (they link
 * only mproc, not the test support library). Header-only. */
#ifndef MPROC_PROG_UTIL_H
#define MPROC_PROG_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#define PU_SEP "\\"
#else
#include <errno.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#define PU_SEP "/"
#endif

static void pu_sleep_ms(int ms) {
#ifdef _WIN32
  Sleep((DWORD)ms);
#else
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
#endif
}

static void pu_path(char *out, size_t cap, const char *dir, const char *name) {
  snprintf(out, cap, "%s%s%s", dir, PU_SEP, name);
}

static int pu_file_exists(const char *path) {
#ifdef _WIN32
  return GetFileAttributesA(path) != INVALID_FILE_ATTRIBUTES;
#else
  struct stat st;
  return stat(path, &st) == 0;
#endif
}

/* Writes text to path atomically (temp file + rename). 0 on success. */
static int pu_write_text(const char *path, const char *text) {
  char tmp[1200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "wb");
  if (f == NULL)
    return -1;
  fputs(text, f);
  if (fclose(f) != 0)
    return -1;
#ifdef _WIN32
  return MoveFileExA(tmp, path, MOVEFILE_REPLACE_EXISTING) ? 0 : -1;
#else
  return rename(tmp, path);
#endif
}

static int pu_wait_file(const char *path, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 10) {
    if (pu_file_exists(path))
      return 1;
    pu_sleep_ms(10);
  }
  return pu_file_exists(path);
}

#endif
