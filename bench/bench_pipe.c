/* Pipe, 64-byte ping-pong between two processes: microseconds per round
 * trip, for an mproc duplex Pipe and, in the same run, for two raw OS
 * pipes (write/read) between a fork()ed pair: the goal's baseline. For
 * reference it also times a raw AF_UNIX stream socketpair (write/read),
 * the other way an OS offers a duplex byte stream.
 *
 * Both echo children live for the whole run; the parent alternates timed
 * rounds (mproc, raw, mproc, raw, ...) so that both see the same machine
 * load, and reports the best round of each.
 *
 * Output: op=pipe64 impl=mproc rtt_us=.. raw_rtt_us=.. raw_unix_rtt_us=.. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define MSG 64
#define ROUNDS 5

/* ---- mproc ---- */

typedef struct echo_arg {
  mp_conn conn;
} echo_arg;

/* Echoes every message until a 1-byte one (stop) or end of file. */
static int mproc_echo(void *p) {
  echo_arg *a = p;
  unsigned char buf[MSG];
  for (;;) {
    size_t len = 0;
    int rc = mp_conn_recv(&a->conn, buf, sizeof buf, &len, MP_INFINITE);
    if (rc == MP_EEOF || (rc == 0 && len == 1))
      return 0;
    if (rc != 0)
      return 3;
    if (mp_conn_send(&a->conn, buf, len) != 0)
      return 4;
  }
}

static double mproc_round(mp_conn *c, uint64_t n) {
  unsigned char msg[MSG], buf[MSG];
  memset(msg, 'p', sizeof msg);
  uint64_t t0 = bench_now_ns();
  for (uint64_t i = 0; i < n; i++) {
    size_t len = 0;
    BENCH_CHECK(mp_conn_send(c, msg, sizeof msg));
    BENCH_CHECK(mp_conn_recv(c, buf, sizeof buf, &len, MP_INFINITE));
    if (len != MSG) {
      fprintf(stderr, "bench_pipe: reply of %zu bytes\n", len);
      exit(2);
    }
  }
  return (double)(bench_now_ns() - t0) / 1e3 / (double)n;
}

/* ---- raw OS pipes ---- */

static int read_full(int fd, void *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t r = read(fd, (char *)buf + got, len - got);
    if (r == 0)
      return 0;
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    got += (size_t)r;
  }
  return 1;
}

static int write_full(int fd, const void *buf, size_t len) {
  size_t put = 0;
  while (put < len) {
    ssize_t w = write(fd, (const char *)buf + put, len - put);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    put += (size_t)w;
  }
  return 1;
}

static double raw_round(int wfd, int rfd, uint64_t n) {
  unsigned char msg[MSG], buf[MSG];
  memset(msg, 'p', sizeof msg);
  uint64_t t0 = bench_now_ns();
  for (uint64_t i = 0; i < n; i++) {
    if (write_full(wfd, msg, sizeof msg) != 1 ||
        read_full(rfd, buf, sizeof buf) != 1) {
      perror("bench_pipe: raw pipe");
      exit(2);
    }
  }
  return (double)(bench_now_ns() - t0) / 1e3 / (double)n;
}

/* A fork()ed child echoing what it reads on rfd to wfd until end of
 * file; the parent closes its copies of the child's ends. */
static pid_t raw_echo(int rfd, int wfd, int close_a, int close_b) {
  pid_t pid = fork();
  BENCH_CHECK_OS(pid);
  if (pid == 0) {
    if (close_a >= 0)
      close(close_a);
    if (close_b >= 0)
      close(close_b);
    unsigned char buf[MSG];
    int r;
    while ((r = read_full(rfd, buf, sizeof buf)) == 1)
      if (write_full(wfd, buf, sizeof buf) != 1)
        _exit(4);
    _exit(r == 0 ? 0 : 3);
  }
  return pid;
}

static int reap(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static double min_d(double a, double b) { return a < b ? a : b; }

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);

  /* mproc: a duplex pipe and an echo child. */
  mp_conn a, b;
  BENCH_CHECK(mp_pipe_create(&a, &b, 1));
  echo_arg ea = {b};
  mp_process *p;
  BENCH_CHECK(mp_process_create(&p, mproc_echo, &ea, sizeof ea, NULL));
  BENCH_CHECK(mp_process_start(p));
  BENCH_CHECK(mp_conn_close(&b)); /* the child's end, as in Python */

  /* raw: parent -> child on to[], child -> parent on from[]. */
  int to[2], from[2];
  BENCH_CHECK_OS(pipe(to));
  BENCH_CHECK_OS(pipe(from));
  pid_t raw_pid = raw_echo(to[0], from[1], to[1], from[0]);
  close(to[0]);
  close(from[1]);

  /* reference: one AF_UNIX stream socketpair, sv[0] ours, sv[1] its. */
  int sv[2];
  BENCH_CHECK_OS(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  pid_t unix_pid = raw_echo(sv[1], sv[1], sv[0], to[1]);
  close(sv[1]);

  /* Warm-up sizes a round: the run lasts about BENCH_SECONDS (1.5 s). */
  double per = bench_target_seconds(1.5) / (2.0 * ROUNDS);
  double us = mproc_round(&a, 2000);
  uint64_t n_mproc = bench_size(1e6 / us, per, 1000, 50000000);
  us = raw_round(to[1], from[0], 2000);
  uint64_t n_raw = bench_size(1e6 / us, per, 1000, 50000000);
  us = raw_round(sv[0], sv[0], 2000);
  uint64_t n_unix = bench_size(1e6 / us, per / 2, 1000, 50000000);

  double best_mproc = 1e30, best_raw = 1e30, best_unix = 1e30;
  for (int r = 0; r < ROUNDS; r++) {
    best_mproc = min_d(best_mproc, mproc_round(&a, n_mproc));
    best_raw = min_d(best_raw, raw_round(to[1], from[0], n_raw));
    best_unix = min_d(best_unix, raw_round(sv[0], sv[0], n_unix));
  }

  /* Stop the three echo children. */
  BENCH_CHECK(mp_conn_send(&a, "q", 1));
  BENCH_CHECK(mp_process_join(p, MP_INFINITE));
  int code = -1;
  BENCH_CHECK(mp_process_exitcode(p, &code));
  BENCH_CHECK(mp_process_free(p));
  close(to[1]);
  close(sv[0]);
  int raw_ok = reap(raw_pid), unix_ok = reap(unix_pid);
  close(from[0]);
  if (code != 0 || !raw_ok || !unix_ok) {
    fprintf(stderr, "bench_pipe: an echo child failed (mproc exit %d)\n", code);
    return 2;
  }
  mp_conn_close(&a);

  printf("op=pipe64 impl=mproc rtt_us=%.3f raw_rtt_us=%.3f raw_unix_rtt_us=%.3f\n",
         best_mproc, best_raw, best_unix);
  return 0;
}
