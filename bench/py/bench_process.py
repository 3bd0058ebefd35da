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


if __name__ == "__main__":
    s = _bench.target_seconds(1.5) / 2
    fork_ms = _bench.ms_per(one, "fork", s, 10)
    spawn_ms = _bench.ms_per(one, "spawn", s, 10)
    print("op=process impl=python fork_ms=%.3f spawn_ms=%.3f" % (fork_ms, spawn_ms))
