"""Twin of bench/bench_queue64.c: Queue, 64-byte messages, items/s."""
import bench_queue

MSG, MAXSIZE = 64, 1024

if __name__ == "__main__":
    rate, n = bench_queue.run(2000, 20000000, MSG, MAXSIZE)
    print("op=queue64 impl=python items_per_s=%.0f msg=%d maxsize=%d n=%d"
          % (rate, MSG, MAXSIZE, n))
