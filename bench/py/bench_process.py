"""Twin of bench/bench_process.c: Process start + join, one at a time,
with the fork and the spawn context: ms per process. The two contexts take
turns in rounds and each keeps its best round, as the C program does; one
untimed warm-up process starts each round."""
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


if __name__ == "__main__":
    s = _bench.target_seconds(1.5) / (2 * ROUNDS)
    best = {}
    for _ in range(ROUNDS):
        for m in ("fork", "spawn"):
            ms = _bench.ms_per(one, m, s, 5)
            best[m] = min(best.get(m, ms), ms)
    print("op=process impl=python fork_ms=%.3f spawn_ms=%.3f"
          % (best["fork"], best["spawn"]))
