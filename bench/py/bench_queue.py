"""Body of the Queue twins (bench_queue64.py, bench_queue64k.py).

One producer process puts a start message and then n messages of MSG bytes
into a multiprocessing.Queue(maxsize), the parent gets them; the clock runs
from the start message to the last one. Same bound and sizing as the C
program (bench/bench_queue.h). The producer puts one prebuilt bytes object
over and over and the consumer checks only the length: the least work
Python can do per message, so the ratio does not flatter mproc.
"""
import multiprocessing as mp

import _bench


def producer(q, n, msg_size):
    msg = b"x" * msg_size
    q.put(msg)  # start
    put = q.put
    for _ in range(n):
        put(msg)


def one_round(n, msg_size, maxsize):
    q = mp.Queue(maxsize)
    p = mp.Process(target=producer, args=(q, n, msg_size))
    p.start()
    q.get()
    t0 = _bench.now()
    get = q.get
    for i in range(n):
        m = get()
        if len(m) != msg_size:
            raise SystemExit("bench_queue.py: message %d has %d bytes" % (i, len(m)))
    t1 = _bench.now()
    p.join()
    if p.exitcode != 0:
        raise SystemExit("bench_queue.py: producer exited with %s" % p.exitcode)
    q.close()
    q.join_thread()
    return t1 - t0


def run(warmup_n, max_n, msg_size, maxsize):
    s = one_round(warmup_n, msg_size, maxsize)
    n = _bench.size(warmup_n / s, _bench.target_seconds(1.0), warmup_n, max_n)
    s = one_round(n, msg_size, maxsize)
    return n / s, n
