"""Twin of bench/bench_pool_async.c: Pool(2).apply_async of trivial tasks
submitted one by one, then get() on each in order: tasks per second."""
import multiprocessing as mp

import _bench


def identity(x):
    return x


def round_of(p, n):
    t0 = _bench.now()
    rs = [p.apply_async(identity, (i,)) for i in range(n)]
    for i, r in enumerate(rs):
        if r.get() != i:
            raise SystemExit("bench_pool_async.py: wrong result")
    return n / (_bench.now() - t0)


if __name__ == "__main__":
    with mp.Pool(2) as p:
        warm = round_of(p, 2000)
        n = _bench.size(warm, _bench.target_seconds(1.5), 2000, 4000000)
        rate = round_of(p, n)
    print("op=pool_async impl=python tasks_per_s=%.0f" % rate)
