/* Queue, 64-byte messages, one producer process to one consumer process:
 * items per second. See bench_queue.h.
 *
 * Output: op=queue64 impl=mproc items_per_s=.. */
#define BENCH_MSG 64
#define BENCH_MAXSIZE 1024
#include "bench_queue.h"

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  uint64_t n;
  double rate = queue_bench(20000, 200000000, &n);
  printf("op=queue64 impl=mproc items_per_s=%.0f msg=%d maxsize=%d n=%llu\n",
         rate, BENCH_MSG, BENCH_MAXSIZE, (unsigned long long)n);
  return 0;
}
