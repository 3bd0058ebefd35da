"""Twin of bench/bench_pool_create.c: Pool(2), one map of 100 trivial
items, close, join; with the fork and the spawn context: ms each (one
untimed round per method first)."""
import multiprocessing as mp

import _bench


def identity(x):
    return x


def one(ctx):
    p = ctx.Pool(2)
    if p.map(identity, range(100))[99] != 99:
        raise SystemExit("bench_pool_create.py: wrong result")
    p.close()
    p.join()


def ms_per_life(method, seconds, min_n):
    ctx = mp.get_context(method)
    one(ctx)
    t0 = _bench.now()
    n = 0
    while True:
        one(ctx)
        n += 1
        t = _bench.now()
        if n >= min_n and t - t0 >= seconds:
            break
    return (t - t0) * 1e3 / n


if __name__ == "__main__":
    s = _bench.target_seconds(1.5) / 2
    fork_ms = ms_per_life("fork", s, 5)
    spawn_ms = ms_per_life("spawn", s, 5)
    print("op=pool_create impl=python fork_ms=%.3f spawn_ms=%.3f" % (fork_ms, spawn_ms))
