"""Twin of bench/bench_process.c: Process start + join, one at a time,
with the fork and the spawn context: ms per process. The two contexts take
turns in rounds and each keeps its best round, as the C program does; one
untimed warm-up process each first."""
import multiprocessing as mp

import _bench

ROUNDS = 5


def noop():
    pass


def one(ctx):
    p = ctx.Process(target=noop)
    p.start()
    p.join()
    if p.exitcode != 0:
        raise SystemExit("bench_process.py: child exited with %s" % p.exitcode)
    p.close()


def ms_per_process(ctx, seconds, min_n):
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
    s = _bench.target_seconds(1.5) / (2 * ROUNDS)
    ctxs = {m: mp.get_context(m) for m in ("fork", "spawn")}
    best = {}
    for m, ctx in ctxs.items():
        one(ctx)
    for _ in range(ROUNDS):
        for m, ctx in ctxs.items():
            ms = ms_per_process(ctx, s, 5)
            best[m] = min(best.get(m, ms), ms)
    print("op=process impl=python fork_ms=%.3f spawn_ms=%.3f"
          % (best["fork"], best["spawn"]))
