"""Twin of bench/bench_pipe.c: multiprocessing.Pipe() (duplex), 64-byte
ping-pong with send_bytes/recv_bytes, microseconds per round trip; best of
5 rounds after a warm-up."""
import multiprocessing as mp

import _bench

MSG = 64
ROUNDS = 5


def echo(conn):
    recv, send = conn.recv_bytes, conn.send_bytes
    while True:
        try:
            m = recv()
        except EOFError:
            return
        if len(m) == 1:
            return
        send(m)


def one_round(conn, n):
    msg = b"p" * MSG
    send, recv = conn.send_bytes, conn.recv_bytes
    t0 = _bench.now()
    for _ in range(n):
        send(msg)
        if len(recv()) != MSG:
            raise SystemExit("bench_pipe.py: short reply")
    return (_bench.now() - t0) * 1e6 / n


if __name__ == "__main__":
    a, b = mp.Pipe(True)
    p = mp.Process(target=echo, args=(b,))
    p.start()
    per = _bench.target_seconds(1.5) / ROUNDS
    us = one_round(a, 2000)
    n = _bench.size(1e6 / us, per, 1000, 50000000)
    best = min(one_round(a, n) for _ in range(ROUNDS))
    a.send_bytes(b"q")
    p.join()
    print("op=pipe64 impl=python rtt_us=%.3f" % best)
