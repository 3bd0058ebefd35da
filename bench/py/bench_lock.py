"""Twin of bench/bench_lock.c: multiprocessing.Lock() acquire+release,
uncontended, ns per pair; best of 5 rounds after a warm-up."""
import multiprocessing as mp

import _bench

ROUNDS = 5


def one_round(lock, n):
    acquire, release = lock.acquire, lock.release
    t0 = _bench.now()
    for _ in range(n):
        acquire()
        release()
    return (_bench.now() - t0) * 1e9 / n


if __name__ == "__main__":
    lock = mp.Lock()
    per = _bench.target_seconds(1.5) / ROUNDS
    ns = one_round(lock, 100000)
    n = _bench.size(1e9 / ns, per, 10000, 100000000)
    best = min(one_round(lock, n) for _ in range(ROUNDS))
    print("op=lock impl=python ns_per_op=%.2f" % best)
