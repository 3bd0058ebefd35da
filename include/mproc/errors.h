/* mproc error codes: the one list every MP_E* constant and its message come
 * from. Included by <mproc.h>; do not include directly.
 *
 * Codes are negative so that a function can return "0 or a negative code",
 * as libuv does. The numbers are part of the ABI: append, never renumber. */
#ifndef MPROC_ERRORS_H
#define MPROC_ERRORS_H

#define MP_ERRNO_MAP(XX)                                                       \
  XX(EINVAL, -1, "invalid argument")                                           \
  XX(ENOMEM, -2, "out of memory")                                              \
  XX(ESTATE, -3, "operation does not fit the object's current state")         \
  XX(ETIMEDOUT, -4, "timed out")                                               \
  XX(ENOTSUP, -5, "operation not supported")                                   \
  XX(ESYS, -6, "operating system call failed (see mp_last_os_error)")         \
  XX(EFULL, -7, "queue is full")                                               \
  XX(EEMPTY, -8, "queue is empty")                                             \
  XX(EMSGSIZE, -9, "buffer too small for the message")                         \
  XX(ECLOSED, -10, "object is closed")                                         \
  XX(EEOF, -11, "end of file: the peer closed")                                \
  XX(EOWNERDEAD, -12, "acquired, but the previous owner died holding it")    \
  XX(EBROKEN, -13, "barrier is broken")                                       \
  XX(ETASK, -14, "the task failed (see mp_pool_last_task_code)")             \
  XX(EWORKERDIED, -15, "the pool worker running the task died")             \
  XX(EDONE, -16, "no more results")

#endif
