/*
 * cache-thrash.c -- active false sharing.
 *
 * Stresses: whether the allocator itself gives two threads objects in the
 * same cache line. Each worker, in a loop, allocates a small object, writes
 * every byte of it many times and frees it. No memory is passed between
 * threads: if two workers' objects share a line, it is the allocator's doing
 * ("active" false sharing), and the writes bounce that line between cores.
 *
 * Idea: cache-thrash from the Hoard benchmarks (Berger et al., ASPLOS 2000),
 * also in mimalloc-bench. Our own code, not the original's.
 *
 * Parameters: cache-thrash [threads=2] [iterations=1000] [objsize=8]
 *                          [repetitions=200000]
 * Result: a sum over the final bytes of every object (fixed by parameters).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "bench.h"

static long threads, iterations, objsize, reps;
static _Atomic uint64_t total;

static void *worker(void *arg) {
  long id = (long)(intptr_t)arg;
  uint64_t sum = 0;
  long i, r, j;
  for (i = 0; i < iterations; i++) {
    volatile char *p = xmalloc((size_t)objsize);
    for (j = 0; j < objsize; j++) p[j] = (char)(id + i);
    for (r = 0; r < reps; r++)
      for (j = 0; j < objsize; j++) p[j] = (char)(p[j] + 1);
    for (j = 0; j < objsize; j++) {
      unsigned char want = (unsigned char)(id + i + reps);
      if ((unsigned char)p[j] != want) WRONG("thread %ld iteration %ld byte %ld", id, i, j);
      sum += (unsigned char)p[j];
    }
    free((void *)p);
  }
  atomic_fetch_add(&total, sum);
  return NULL;
}

int main(int argc, char **argv) {
  threads = arg_long(argc, argv, 1, 2);
  iterations = arg_long(argc, argv, 2, 1000);
  objsize = arg_long(argc, argv, 3, 8);
  reps = arg_long(argc, argv, 4, 200000);
  if (threads < 1 || objsize < 1) {
    fprintf(stderr, "bad parameters\n");
    return 2;
  }
  printf("cache-thrash threads=%ld iterations=%ld objsize=%ld repetitions=%ld\n", threads,
         iterations, objsize, reps);
  run_workers(threads, worker);
  printf("result: %016llx\n", (unsigned long long)atomic_load(&total));
  return 0;
}
