"""Twin of bench/bench_pool_apply.c: Pool(2).apply of a trivial task, one
at a time: microseconds per round trip."""
import multiprocessing as mp

import _bench


def identity(x):
    return x


def us_per_apply(p, n):
    t0 = _bench.now()
    for i in range(n):
        if p.apply(identity, (i,)) != i:
            raise SystemExit("bench_pool_apply.py: wrong result")
    return (_bench.now() - t0) * 1e6 / n


if __name__ == "__main__":
    with mp.Pool(2) as p:
        warm = us_per_apply(p, 200)
        n = _bench.size(1e6 / warm, _bench.target_seconds(1.5), 200, 2000000)
        us = us_per_apply(p, n)
    print("op=pool_apply impl=python rtt_us=%.3f" % us)
