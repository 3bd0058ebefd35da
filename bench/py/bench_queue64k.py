"""Twin of bench/bench_queue64k.c: Queue, 64 KiB messages, MB/s."""
import bench_queue

MSG, MAXSIZE = 65536, 64

if __name__ == "__main__":
    rate, n = bench_queue.run(200, 1000000, MSG, MAXSIZE)
    print("op=queue64k impl=python mb_per_s=%.1f items_per_s=%.0f msg=%d "
          "maxsize=%d n=%d" % (rate * MSG / 1e6, rate, MSG, MAXSIZE, n))
