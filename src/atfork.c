/* How process-local state survives fork: the one policy of the library.
 *
 * A forked child has only the thread that called fork. A private lock
 * another thread held at that instant stays locked for ever in the child,
 * and whatever that thread was changing under it is half-changed. So every
 * private lock of the library is one of the local locks below, and:
 *
 *   - a local lock guards a few steps that never block (no system call
 *     that waits, no wait for another process), so taking them all before
 *     a fork costs the forking thread at most those few steps;
 *   - before any fork (ours or the program's own fork()) every local lock
 *     is taken, in the order of mp__local_lock_id; after it the parent
 *     releases them and the child re-makes them, so the child finds each
 *     guarded state whole and each lock free;
 *   - state that must differ in a child (the children of the parent, the
 *     lock-owner identity of the forking thread, queues the parent closed,
 *     pipe operations other threads had in progress) is put right by the
 *     child hooks in after_fork_child below, the only place that lists
 *     them.
 *
 * Code that holds two local locks at once takes them in increasing id
 * order, as the prepare handler does. Locks that a blocking call holds
 * (a pipe end's receive lock during a read) cannot be local locks: they
 * are re-made by their module's child hook instead. */
#include "internal.h"

static mp__mutex locks[MP__LOCK_COUNT] = {
#define MP__LOCAL_INIT(id) MP__MUTEX_INIT,
    MP__LOCAL_LOCKS(MP__LOCAL_INIT)
#undef MP__LOCAL_INIT
};

void mp__local_lock(mp__local_lock_id id) { mp__mutex_lock(&locks[id]); }
void mp__local_unlock(mp__local_lock_id id) { mp__mutex_unlock(&locks[id]); }

void mp__fork_prepare(void) {
  for (int i = 0; i < MP__LOCK_COUNT; i++)
    mp__mutex_lock(&locks[i]);
}

void mp__fork_parent(void) {
  for (int i = MP__LOCK_COUNT - 1; i >= 0; i--)
    mp__mutex_unlock(&locks[i]);
}

void mp__fork_child(void) {
  /* Re-made, not unlocked: the same outcome, and it does not depend on
   * the OS letting the child's thread unlock what the parent's took. */
  for (int i = 0; i < MP__LOCK_COUNT; i++)
    mp__mutex_reinit(&locks[i]);
  mp__registry_reset_in_child();
  mp__conn_after_fork_child();
  mp__queue_after_fork_child();
  mp__pool_after_fork_child();
  mp__os_after_fork_child();
}
