"""Twin of bench/bench_pool_map.c: Pool(2).map of 100,000 trivial items
(ints, each returned as it is), chunksize 1 and the automatic chunk size:
items per second. One untimed map of each kind first (a short one for
chunksize 1, which takes seconds in Python)."""
import multiprocessing as mp

import _bench

N = 100000


def identity(x):
    return x


def rate_of(p, items, chunksize):
    t0 = _bench.now()
    out = p.map(identity, items, chunksize)
    rate = len(items) / (_bench.now() - t0)
    if out != items:
        raise SystemExit("bench_pool_map.py: wrong results")
    return rate


if __name__ == "__main__":
    items = list(range(N))
    with mp.Pool(2) as p:
        rate_of(p, items[:2000], 1)
        cs1 = rate_of(p, items, 1)
        rate_of(p, items, None)
        best = max(rate_of(p, items, None) for _ in range(5))
    print("op=pool_map impl=python cs1_items_per_s=%.0f auto_items_per_s=%.0f"
          % (cs1, best))
