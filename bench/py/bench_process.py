"""Twin of bench/bench_process.c: Process start + join, one at a time,
with the fork and the spawn context: ms per process (one untimed warm-up
process per method first)."""
import multiprocessing as mp

import _bench


def noop():
    pass


def one(ctx):
    p = ctx.Process(target=noop)
    p.start()
    p.join()
    if p.exitcode != 0:
        raise SystemExit("bench_process.py: child exited with %s" % p.exitcode)
    p.close()


def ms_per_process(method, seconds, min_n):
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
    fork_ms = ms_per_process("fork", s, 10)
    spawn_ms = ms_per_process("spawn", s, 10)
    print("op=process impl=python fork_ms=%.3f spawn_ms=%.3f" % (fork_ms, spawn_ms))
