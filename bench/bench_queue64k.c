/* Queue, 64 KiB messages, one producer process to one consumer process:
 * MB/s (10^6 bytes of message payload per second). See bench_queue.h.
 *
 * Output: op=queue64k impl=mproc mb_per_s=.. items_per_s=.. */
#define BENCH_MSG 65536
#define BENCH_MAXSIZE 64
#include "bench_queue.h"

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  uint64_t n;
  double rate = queue_bench(500, 10000000, &n);
  printf("op=queue64k impl=mproc mb_per_s=%.1f items_per_s=%.0f msg=%d "
         "maxsize=%d n=%llu\n",
         rate * BENCH_MSG / 1e6, rate, BENCH_MSG, BENCH_MAXSIZE,
         (unsigned long long)n);
  return 0;
}
