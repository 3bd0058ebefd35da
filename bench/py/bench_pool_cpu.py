"""Twin of bench/bench_pool_cpu.c: 64 items of CPU-bound work, serially in
this process, then by Pool(2).map (made before the clock starts): the
speed-up. The work is Python's (far slower per step), sized to the same
total time."""
import multiprocessing as mp

import _bench

ITEMS = 64
MASK = (1 << 64) - 1


def work(args):
    seed, steps = args
    x = (seed * 2654435761 + 1) & MASK
    for _ in range(steps):
        x ^= (x << 13) & MASK
        x ^= x >> 7
        x ^= (x << 17) & MASK
    return x


if __name__ == "__main__":
    t0 = _bench.now()
    work((1, 100000))
    per_step = (_bench.now() - t0) / 100000
    steps = max(1, int(_bench.target_seconds(1.5) / ITEMS / per_step))
    items = [(i, steps) for i in range(ITEMS)]
    with mp.Pool(2) as p:
        t0 = _bench.now()
        serial = [work(a) for a in items]
        serial_s = _bench.now() - t0
        t0 = _bench.now()
        pooled = p.map(work, items)
        pool_s = _bench.now() - t0
    if serial != pooled:
        raise SystemExit("bench_pool_cpu.py: the pool computed something else")
    print("op=pool_cpu impl=python speedup=%.3f serial_s=%.3f pool_s=%.3f"
          % (serial_s / pool_s, serial_s, pool_s))
