/* MPROC_CHILD is untrusted: a process started with it set, by anyone, runs
 * nothing the variable or its channel says unless both come from its
 * parent. Every refusal is prompt (no read from a descriptor before it is
 * checked), prints one line on stderr naming MPROC_CHILD, exits with
 * MP_EXITCODE_NOT_CHILD, and main() never runs (the probe program prints
 * nothing).
 *
 *  - garbage values;
 *  - POSIX: descriptor 0 a terminal, a pipe nobody writes, a regular file
 *    holding a well-formed prefix, /dev/null;
 *    Windows: a file handle, the server end of an anonymous pipe;
 *  - a channel made by a process that is not the parent (a relay process
 *    in between), which nobody writes;
 *  - malformed blocks on a channel the real parent made: wrong magic, a
 *    huge header length, a truncated block, a garbage header;
 *  - POSIX, as root: a set-user-ID copy of a test program refuses
 *    MPROC_CHILD, and its spawn starts are MP_ENOTSUP while fork works. */
#if !defined(_WIN32) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#include "support/test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
#endif

#define RELAY_ENV "MPROC_TEST_RELAY_VALUE"
/* A refusal is prompt; a hang (the defect) is cut off by this. */
#define PROMPT_MS 20000

/* The channel a test hands the program: its number there, and (POSIX) the
 * descriptor to put at that number, or (Windows) an inheritable handle. */
typedef struct chan {
  const char *value; /* MPROC_CHILD's value */
#ifdef _WIN32
  HANDLE h; /* NULL: none */
#else
  int fd; /* -1: none */
  int at;
#endif
} chan;

typedef struct result {
  int rc;   /* 0: ended; 1: killed after PROMPT_MS; -1: not run */
  int code; /* its exit code */
  int64_t ms;
  char out[4096], err[4096];
} result;

static void out_paths(const char *dir, char *out, char *err) {
  tst_path(out, TST_PATH_MAX, dir, "out.txt");
  tst_path(err, TST_PATH_MAX, dir, "err.txt");
}

static void read_outputs(const char *dir, int64_t t0, result *r) {
  char out[TST_PATH_MAX], err[TST_PATH_MAX];
  out_paths(dir, out, err);
  r->ms = tst_now_ms() - t0;
  r->out[0] = r->err[0] = '\0';
  tst_read_file(out, r->out, sizeof r->out);
  tst_read_file(err, r->err, sizeof r->err);
  tst_strip_cr(r->out);
  tst_strip_cr(r->err);
}

/* Runs exe as it is, stdout and stderr to files in dir. */
static void run_prog(const char *dir, const char *exe, const char *const *args,
                     result *r) {
  char out[TST_PATH_MAX], err[TST_PATH_MAX];
  out_paths(dir, out, err);
  int64_t t0 = tst_now_ms();
  r->code = -12345;
  r->rc = tst_run(exe, args, out, err, PROMPT_MS, &r->code);
  read_outputs(dir, t0, r);
}

/* Runs exe with MPROC_CHILD set as c says (directly: the test process is
 * its parent), stdout and stderr to files in dir. */
static void run_with_channel(const char *dir, const char *exe,
                             const char *const *args, const chan *c,
                             result *r) {
#ifdef _WIN32
  if (c->h)
    SetHandleInformation(c->h, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
  tst_setenv("MPROC_CHILD", c->value);
  run_prog(dir, exe, args, r);
  tst_setenv("MPROC_CHILD", NULL);
#else
  char out[TST_PATH_MAX], err[TST_PATH_MAX];
  out_paths(dir, out, err);
  r->rc = -1;
  r->code = -12345;
  int64_t t0 = tst_now_ms();
  char *argv[16];
  size_t n = 0;
  argv[n++] = (char *)exe;
  for (size_t i = 0; args && args[i] && n < 15; i++)
    argv[n++] = (char *)args[i];
  argv[n] = NULL;
  size_t ne = 0;
  while (environ[ne])
    ne++;
  char **env = calloc(ne + 2, sizeof *env);
  char entry[256];
  snprintf(entry, sizeof entry, "MPROC_CHILD=%s", c->value);
  size_t k = 0;
  for (size_t i = 0; i < ne; i++)
    if (strncmp(environ[i], "MPROC_CHILD=", 12) != 0)
      env[k++] = environ[i];
  env[k++] = entry;
  env[k] = NULL;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (!(c->fd >= 0 && c->at == 0))
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  if (c->fd >= 0)
    posix_spawn_file_actions_adddup2(&fa, c->fd, c->at);
  pid_t pid;
  int src = posix_spawn(&pid, exe, &fa, NULL, argv, env);
  posix_spawn_file_actions_destroy(&fa);
  free(env);
  if (src == 0) {
    int status = 0;
    int64_t deadline = tst_now_ms() + PROMPT_MS;
    r->rc = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (tst_now_ms() >= deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        r->rc = 1;
        break;
      }
      tst_sleep_ms(5);
    }
    r->code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }
  read_outputs(dir, t0, r);
#endif
}

/* The refusal: prompt, the documented code, main() never ran, and one
 * line on stderr (Wine may add its own noise: only lines naming mproc
 * count) naming MPROC_CHILD and, if given, containing `reason`. */
static void assert_refused(const result *r, const char *what,
                           const char *reason) {
  print_message("[%s] rc %d, exit %d, %lld ms\nstdout: [%s]\nstderr: [%s]\n",
                what, r->rc, r->code, (long long)r->ms, r->out, r->err);
  if (r->rc == 1)
    fail_msg("%s: still running after %d ms (it waits on the channel)", what,
             PROMPT_MS);
  assert_int_equal(r->rc, 0);
  assert_int_equal(r->code, MP_EXITCODE_NOT_CHILD);
  assert_string_equal(r->out, "");
  assert_int_equal(tst_count(r->err, "mproc:"), 1);
  long at = tst_find(r->err, "mproc:");
  const char *line = r->err + at;
  size_t len = strcspn(line, "\n");
  char one[1024];
  assert_true(len < sizeof one);
  memcpy(one, line, len);
  one[len] = '\0';
  assert_true(tst_count(one, "MPROC_CHILD") >= 1);
  if (reason && tst_count(one, reason) == 0)
    fail_msg("%s: the reason should mention \"%s\": %s", what, reason, one);
}

static void probe_path(char *exe, size_t cap) {
  assert_int_equal(tst_prog_path(exe, cap, "probe"), 0);
  assert_true(tst_file_exists(exe));
}

static void test_garbage_values(void **state) {
  const char *dir = *state;
  char exe[TST_PATH_MAX];
  probe_path(exe, sizeof exe);
  const char *values[] = {"garbage", "",           "-1",
                          "3x",      " 3",         "99999999999999999999",
                          "0x10",    "2147483648", NULL};
  for (int i = 0; values[i]; i++) {
#ifdef _WIN32
    /* An empty variable is no variable to Windows' environment block. */
    if (values[i][0] == '\0')
      continue;
    chan c = {values[i], NULL};
#else
    chan c = {values[i], -1, 0};
#endif
    result r;
    run_with_channel(dir, exe, NULL, &c, &r);
    assert_refused(&r, values[i], NULL);
  }
  /* Longer than the guard reads: refused, not taken for "unset". */
  char long_value[200];
  memset(long_value, '7', sizeof long_value - 1);
  long_value[sizeof long_value - 1] = '\0';
#ifdef _WIN32
  chan c = {long_value, NULL};
#else
  chan c = {long_value, -1, 0};
#endif
  result r;
  run_with_channel(dir, exe, NULL, &c, &r);
  assert_refused(&r, "a long value", NULL);
}

/* A regular file that starts like a real block (magic "MPRD", version,
 * header length): no file is a channel, however it starts. */
static void write_block_file(const char *dir, char *path, size_t cap) {
  tst_path(path, cap, dir, "block.bin");
  uint32_t prefix[4] = {0x4d505244u, 2u, 8u, 0u};
  assert_int_equal(tst_write_file(path, prefix, sizeof prefix), 0);
}

#ifndef _WIN32
/* A descriptor of the wrong kind at the number MPROC_CHILD names. */
static void refuse_fd(const char *dir, int fd, int at, const char *what,
                      const char *reason) {
  char exe[TST_PATH_MAX], value[16];
  probe_path(exe, sizeof exe);
  snprintf(value, sizeof value, "%d", at);
  chan c = {value, fd, at};
  result r;
  run_with_channel(dir, exe, NULL, &c, &r);
  assert_refused(&r, what, reason);
}
#endif

static void test_stdin_terminal(void **state) {
#ifdef _WIN32
  (void)state;
  skip(); /* POSIX descriptors */
#else
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
    print_message("no pseudo-terminal here: %s\n", strerror(errno));
    if (master >= 0)
      close(master);
    skip();
  }
  int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
  assert_true(slave >= 0);
  /* MPROC_CHILD=0 with a terminal on stdin: read, it would wait for a
   * line that never comes. */
  refuse_fd(*state, slave, 0, "a terminal on stdin", "not a socket");
  close(slave);
  close(master);
#endif
}

static void test_descriptor_kinds(void **state) {
#ifdef _WIN32
  (void)state;
  skip(); /* POSIX descriptors; the Windows kinds are below */
#else
  const char *dir = *state;
  /* A pipe whose writer stays open and silent. */
  int p[2];
  assert_int_equal(pipe(p), 0);
  refuse_fd(dir, p[0], 0, "a pipe on stdin", "not a socket");
  refuse_fd(dir, p[0], 7, "a pipe at 7", "not a socket");
  close(p[0]);
  close(p[1]);
  char path[TST_PATH_MAX];
  write_block_file(dir, path, sizeof path);
  int f = open(path, O_RDONLY);
  assert_true(f >= 0);
  refuse_fd(dir, f, 3, "a regular file", "not a socket");
  close(f);
  int devnull = open("/dev/null", O_RDONLY);
  refuse_fd(dir, devnull, 5, "/dev/null", "not a socket");
  close(devnull);
  /* Nothing at that number. */
  refuse_fd(dir, -1, 9, "a closed descriptor", NULL);
  /* A datagram socket pair of our own. */
  int s[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, s), 0);
  refuse_fd(dir, s[1], 3, "a datagram socket", "not a Unix stream socket");
  close(s[0]);
  close(s[1]);
#endif
}

static void test_handle_kinds(void **state) {
#ifndef _WIN32
  (void)state;
  skip(); /* Windows handles; the POSIX kinds are above */
#else
  const char *dir = *state;
  char exe[TST_PATH_MAX], value[32], path[TST_PATH_MAX];
  probe_path(exe, sizeof exe);
  /* A file handle. */
  write_block_file(dir, path, sizeof path);
  HANDLE f = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ, NULL,
                         OPEN_EXISTING, 0, NULL);
  assert_true(f != INVALID_HANDLE_VALUE);
  snprintf(value, sizeof value, "%llu", (unsigned long long)(uintptr_t)f);
  chan c = {value, f};
  result r;
  run_with_channel(dir, exe, NULL, &c, &r);
  assert_refused(&r, "a file handle", "not a pipe");
  CloseHandle(f);
  /* The read end of an anonymous pipe (its server end) whose writer stays
   * open and silent: read, it would wait for ever. */
  HANDLE rd, wr;
  assert_true(CreatePipe(&rd, &wr, NULL, 0));
  snprintf(value, sizeof value, "%llu", (unsigned long long)(uintptr_t)rd);
  chan c2 = {value, rd};
  run_with_channel(dir, exe, NULL, &c2, &r);
  assert_refused(&r, "an anonymous pipe", NULL);
  CloseHandle(rd);
  CloseHandle(wr);
  /* A value that names nothing. */
  chan c3 = {"1048572", NULL};
  run_with_channel(dir, exe, NULL, &c3, &r);
  assert_refused(&r, "a closed handle", NULL);
#endif
}

/* A channel: (POSIX) a stream socket pair whose end `child` is left open
 * across exec; (Windows) a named pipe whose server end this process holds
 * and whose client end is inheritable. The other end is `mine`. */
typedef struct pair {
#ifdef _WIN32
  HANDLE mine, child;
#else
  int mine, child;
#endif
  char value[32];
} pair;

static void make_pair(pair *p) {
#ifdef _WIN32
  char name[128];
  snprintf(name, sizeof name, "\\\\.\\pipe\\mproc-test-%lu-%lld",
           (unsigned long)GetCurrentProcessId(), (long long)tst_now_ms());
  p->mine =
      CreateNamedPipeA(name, PIPE_ACCESS_OUTBOUND, PIPE_TYPE_BYTE | PIPE_WAIT,
                       1, 65536, 65536, 0, NULL);
  assert_true(p->mine != INVALID_HANDLE_VALUE);
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  p->child = CreateFileA(name, GENERIC_READ, 0, &sa, OPEN_EXISTING, 0, NULL);
  assert_true(p->child != INVALID_HANDLE_VALUE);
  snprintf(p->value, sizeof p->value, "%llu",
           (unsigned long long)(uintptr_t)p->child);
#else
  int s[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
  fcntl(s[0], F_SETFD, FD_CLOEXEC);
  p->mine = s[0];
  p->child = s[1];
  snprintf(p->value, sizeof p->value, "%d", s[1]);
#endif
}

static void close_pair(pair *p) {
#ifdef _WIN32
  if (p->mine)
    CloseHandle(p->mine);
  if (p->child)
    CloseHandle(p->child);
  p->mine = p->child = NULL;
#else
  if (p->mine >= 0)
    close(p->mine);
  if (p->child >= 0)
    close(p->child);
  p->mine = p->child = -1;
#endif
}

static void pair_chan(const pair *p, chan *c) {
  c->value = p->value;
#ifdef _WIN32
  c->h = p->child;
#else
  c->fd = p->child;
  c->at = p->child;
#endif
}

/* A process between this one and the probe: the probe's parent is the
 * relay, but the channel is ours. Nobody ever writes on it. */
static void test_channel_from_another_process(void **state) {
  const char *dir = *state;
  char self[TST_PATH_MAX], exe[TST_PATH_MAX];
  probe_path(exe, sizeof exe);
  assert_int_equal(tst_prog_path(self, sizeof self, "test_not_child"), 0);
  pair p;
  make_pair(&p);
  /* The relay itself starts without MPROC_CHILD, and passes this on. */
  assert_int_equal(tst_setenv(RELAY_ENV, p.value), 0);
  const char *args[] = {"--relay", exe, NULL};
  result r;
  run_prog(dir, self, args, &r);
  tst_setenv(RELAY_ENV, NULL);
  close_pair(&p);
  assert_refused(&r, "a channel from another process", "parent");
}

/* The relay: starts exe with MPROC_CHILD set to what RELAY_ENV says, waits
 * for it and exits with its code. */
static int relay_main(const char *exe) {
  const char *v = getenv(RELAY_ENV);
  if (!v || tst_setenv("MPROC_CHILD", v) != 0)
    return 90;
  int code = -1;
  if (tst_run(exe, NULL, NULL, NULL, PROMPT_MS, &code) != 0)
    return 91;
  return code;
}

/* The real parent makes the channel and sends a bad block. */
static void send_bad_block(const char *dir, const void *data, size_t len,
                           const char *what) {
  char exe[TST_PATH_MAX];
  probe_path(exe, sizeof exe);
  pair p;
  make_pair(&p);
  /* Written before the probe starts: the buffer holds it, and closing our
   * end then gives the probe end of file after it. */
#ifdef _WIN32
  DWORD done = 0;
  assert_true(WriteFile(p.mine, data, (DWORD)len, &done, NULL));
  assert_int_equal(done, len);
  CloseHandle(p.mine);
  p.mine = NULL;
#else
  assert_int_equal(write(p.mine, data, len), (ssize_t)len);
  close(p.mine);
  p.mine = -1;
#endif
  chan c;
  pair_chan(&p, &c);
  result r;
  run_with_channel(dir, exe, NULL, &c, &r);
  close_pair(&p);
  assert_refused(&r, what, "start data");
}

static void test_malformed_blocks(void **state) {
  const char *dir = *state;
  /* The prefix is u32 magic, u32 version, u64 header length. */
  struct {
    uint32_t magic, version;
    uint64_t len;
    unsigned char rest[64];
  } b;
  memset(&b, 0, sizeof b);

  b.magic = 0xdeadbeefu;
  b.version = 2;
  b.len = 8;
  send_bad_block(dir, &b, 24, "wrong magic");

  b.magic = 0x4d505244u; /* "MPRD" */
  b.len = 1ull << 40;
  send_bad_block(dir, &b, 16, "huge header length");

  b.len = 100;
  send_bad_block(dir, &b, 16 + 10, "truncated block");

  b.len = 64;
  memset(b.rest, 0xff, sizeof b.rest);
  send_bad_block(dir, &b, 16 + 64, "garbage header");

  b.version = 1;
  memset(b.rest, 0, sizeof b.rest);
  send_bad_block(dir, &b, 16 + 64, "old version");
}

/* ---- set-user-ID ---- */

/* Run by the set-user-ID copy: spawn is refused, fork works. Exit 0 when
 * both hold. */
static int role_seven(void *arg) {
  (void)arg;
  return 7;
}

static int secure_main(void) {
  mp_process_options o = {0};
  mp_process *p = NULL;
  o.method = MP_START_SPAWN;
  if (mp_process_create(&p, role_seven, NULL, 0, &o) != 0)
    return 80;
  int rc = mp_process_start(p);
  if (rc != MP_ENOTSUP) {
    fprintf(stderr, "spawn start in a set-user-ID process: %d\n", rc);
    if (rc == 0)
      mp_process_join(p, 60000);
    return 81;
  }
  mp_process_free(p);
#ifndef _WIN32
  o.method = MP_START_FORK;
  int code = -1;
  if (mp_process_create(&p, role_seven, NULL, 0, &o) != 0 ||
      mp_process_start(p) != 0 || mp_process_join(p, 60000) != 0 ||
      mp_process_exitcode(p, &code) != 0 || code != 7)
    return 82;
  mp_process_free(p);
#endif
  return 0;
}

static void test_setuid_program(void **state) {
#ifdef _WIN32
  (void)state;
  skip(); /* no set-user-ID programs */
#else
  const char *dir = *state;
  if (geteuid() != 0) {
    print_message("not root: cannot make a set-user-ID copy; skipped\n");
    skip();
  }
  struct statvfs vfs;
  if (statvfs(dir, &vfs) != 0 || (vfs.f_flag & ST_NOSUID)) {
    print_message("%s is on a nosuid file system; skipped\n", dir);
    skip();
  }
  char self[TST_PATH_MAX], copy[TST_PATH_MAX];
  assert_int_equal(tst_prog_path(self, sizeof self, "test_not_child"), 0);
  tst_path(copy, sizeof copy, dir, "setuid_copy");
  assert_int_equal(tst_copy_file(self, copy), 0);
  /* nobody: uid 65534 on Debian and most others. */
  assert_int_equal(chown(copy, 65534, 65534), 0);
  assert_int_equal(chmod(copy, 04755), 0);
  /* mkdtemp made the directory 0700: the loader, running as nobody, only
   * needs the file, which the kernel opens as root. */
  pair p;
  make_pair(&p);
  chan c;
  pair_chan(&p, &c);
  result r;
  run_with_channel(dir, copy, NULL, &c, &r);
  close_pair(&p);
  assert_refused(&r, "a set-user-ID program", "set-user-ID");

  const char *args[] = {"--secure-start", NULL};
  run_prog(dir, copy, args, &r);
  print_message("--secure-start: exit %d, stderr [%s]\n", r.code, r.err);
  assert_int_equal(r.rc, 0);
  assert_int_equal(r.code, 0);
#endif
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  if (argc == 3 && strcmp(argv[1], "--relay") == 0)
    return relay_main(argv[2]);
  if (argc == 2 && strcmp(argv[1], "--secure-start") == 0) {
    int rc = secure_main();
    /* Not exit(): LeakSanitizer's check at exit cannot run in a
     * set-user-ID process (the ASan leg), and would fail it. */
    fflush(NULL);
#ifdef _WIN32
    ExitProcess((UINT)rc);
#else
    _exit(rc);
#endif
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_garbage_values, tst_setup_tmpdir,
                                      tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_stdin_terminal, tst_setup_tmpdir,
                                      tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_descriptor_kinds, tst_setup_tmpdir,
                                      tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_handle_kinds, tst_setup_tmpdir,
                                      tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_channel_from_another_process,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_malformed_blocks, tst_setup_tmpdir,
                                      tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_setuid_program, tst_setup_tmpdir,
                                      tst_teardown_tmpdir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
