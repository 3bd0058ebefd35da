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


if __name__ == "__main__":
    s = _bench.target_seconds(1.5) / 2
    fork_ms = _bench.ms_per(one, "fork", s, 5)
    spawn_ms = _bench.ms_per(one, "spawn", s, 5)
    print("op=pool_create impl=python fork_ms=%.3f spawn_ms=%.3f" % (fork_ms, spawn_ms))
