"""Helpers shared by the Python twins of the C benchmarks.

Each twin prints one line, ``op=<name> impl=python key=value ...``, that
bench/run.py parses next to the C program's line. The run lasts about
BENCH_SECONDS (environment) seconds, sized from a warm-up round as the C
programs do. time.monotonic() is CLOCK_MONOTONIC on Linux, the clock the C
programs use, so timestamps from different processes compare.
"""
import os
import time

now = time.monotonic


def target_seconds(default):
    try:
        v = float(os.environ.get("BENCH_SECONDS", ""))
        if v > 0:
            return v
    except ValueError:
        pass
    return default


def ms_per(one, method, seconds, min_n):
    """Milliseconds per one(ctx) for the start method, calls one after the
    other for about `seconds` (at least min_n), after one untimed call."""
    import multiprocessing
    ctx = multiprocessing.get_context(method)
    one(ctx)
    t0 = now()
    n = 0
    while True:
        one(ctx)
        n += 1
        t = now()
        if n >= min_n and t - t0 >= seconds:
            break
    return (t - t0) * 1e3 / n


def size(rate, seconds, lo, hi):
    n = rate * seconds
    if not n >= lo:
        return lo
    return int(min(n, hi))
