/* Twin of the Pipe program in Python's multiprocessing documentation (the
 * seeds name Pipe among multiprocessing's components without a program):
 * a child sends one message through a pipe; the parent prints it.
 *
 *   from multiprocessing import Process, Pipe
 *
 *   def f(conn):
 *       conn.send([42, None, 'hello'])
 *       conn.close()
 *
 *   if __name__ == '__main__':
 *       parent_conn, child_conn = Pipe()
 *       p = Process(target=f, args=(child_conn,))
 *       p.start()
 *       print(parent_conn.recv())   # prints "[42, None, 'hello']"
 *       p.join()
 *
 * Python pickles the list into bytes and back. A C message is bytes too:
 * here the bytes of a struct, which holds no pointers, so that it means
 * the same in the other process.
 */
#include <stdio.h>

#include <mproc.h>

#include "example.h"

/* [42, None, 'hello'] */
struct message {
  int number;     /* 42 */
  int has_second; /* 0: the second item is None */
  int second;
  char text[16]; /* 'hello' */
};

static int f(void *arg) {
  mp_conn *conn = arg; /* args=(child_conn,): the end is a plain value */
  struct message m = {42, 0, 0, "hello"};
  CHECK(mp_conn_send(conn, &m, sizeof m));
  CHECK(mp_conn_close(conn));
  return 0;
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);

  mp_conn parent_conn, child_conn;
  CHECK(mp_pipe_create(&parent_conn, &child_conn, 1)); /* Pipe(): duplex */
  mp_process *p;
  CHECK(mp_process_create(&p, f, &child_conn, sizeof child_conn, NULL));
  CHECK(mp_process_start(p));
  /* The child has its own copy of child_conn now; this process does not
   * use it. (Python leaves it open until it is garbage-collected.) */
  CHECK(mp_conn_close(&child_conn));

  /* print(parent_conn.recv()) */
  struct message m;
  size_t len;
  CHECK(mp_conn_recv(&parent_conn, &m, sizeof m, &len, MP_INFINITE));
  if (len != sizeof m) {
    fprintf(stderr, "unexpected message of %lu bytes\n", (unsigned long)len);
    return 1;
  }
  printf("[%d, ", m.number);
  if (m.has_second)
    printf("%d, ", m.second);
  else
    printf("None, ");
  printf("'%s']\n", m.text);

  CHECK(mp_process_join(p, MP_INFINITE));
  mp_process_free(p);
  CHECK(mp_conn_close(&parent_conn));
  return 0;
}
