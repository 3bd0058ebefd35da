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


def size(rate, seconds, lo, hi):
    n = rate * seconds
    if not n >= lo:
        return lo
    return int(min(n, hi))
