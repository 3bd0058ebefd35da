"""Twin of bench/bench_counter.c: a multiprocessing.Value('q') incremented
under its own lock (v.get_lock(), Python's default RLock) by 2 processes at
once, increments/s. The children wait at a Barrier so start-up is not
timed, and each writes its finishing time (time.monotonic) into a shared
Array; the run lasts from the barrier to the later of the two."""
import multiprocessing as mp

import _bench

NPROC = 2


def child(v, n, start, ends, index):
    lock = v.get_lock()
    start.wait()
    for _ in range(n):
        with lock:
            v.value += 1
    ends[index] = _bench.now()


def one_round(n):
    v = mp.Value("q", 0)
    start = mp.Barrier(NPROC + 1)
    ends = mp.Array("d", NPROC, lock=False)
    ps = [mp.Process(target=child, args=(v, n, start, ends, i)) for i in range(NPROC)]
    for p in ps:
        p.start()
    start.wait()
    t0 = _bench.now()
    for p in ps:
        p.join()
        if p.exitcode != 0:
            raise SystemExit("bench_counter.py: child exited with %s" % p.exitcode)
    if v.value != n * NPROC:
        raise SystemExit("bench_counter.py: counter %d, expected %d" % (v.value, n * NPROC))
    return n * NPROC / (max(ends) - t0)


if __name__ == "__main__":
    rate = one_round(20000)
    n = _bench.size(rate / NPROC, _bench.target_seconds(1.0), 10000, 100000000)
    rate = one_round(n)
    print("op=counter impl=python incr_per_s=%.0f nproc=%d n=%d ok=1"
          % (rate, NPROC, n * NPROC))
