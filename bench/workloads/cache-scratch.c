/*
 * cache-scratch.c -- passive false sharing.
 *
 * Stresses: whether the allocator hands a thread memory that shares a cache
 * line with memory another thread is writing. The main thread allocates one
 * small object per worker (so they are likely adjacent, in one cache line)
 * and gives one to each worker; each worker frees it at once and then, in a
 * loop, allocates an object of the same size, writes every byte of it many
 * times, and frees it. An allocator that puts the freed object back into the
 * freeing thread's cache gives each worker the line the others also write:
 * the writes then bounce the line between cores ("passive" false sharing,
 * induced by the program's own frees).
 *
 * Idea: cache-scratch from the Hoard benchmarks (Berger et al., "Hoard: A
 * Scalable Memory Allocator for Multithreaded Applications", ASPLOS 2000),
 * also in mimalloc-bench. Our own code, not the original's.
 *
 * Parameters: cache-scratch [threads=2] [iterations=1000] [objsize=8]
 *                           [repetitions=200000]
 * (each worker does iterations x repetitions x objsize byte writes)
 * Result: a sum over the final bytes of every object (fixed by parameters).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "bench.h"

static long threads, iterations, objsize, reps;
static _Atomic uint64_t total;

typedef struct {
  long id;
  char *first;
} worker_t;

static void *worker(void *arg) {
  worker_t *w = (worker_t *)arg;
  uint64_t sum = 0;
  long i, r, j;
  free(w->first);
  for (i = 0; i < iterations; i++) {
    volatile char *p = xmalloc((size_t)objsize);
    for (j = 0; j < objsize; j++) p[j] = (char)(w->id + i);
    for (r = 0; r < reps; r++)
      for (j = 0; j < objsize; j++) p[j] = (char)(p[j] + 1);
    for (j = 0; j < objsize; j++) {
      unsigned char want = (unsigned char)(w->id + i + reps);
      if ((unsigned char)p[j] != want) WRONG("thread %ld iteration %ld byte %ld", w->id, i, j);
      sum += (unsigned char)p[j];
    }
    free((void *)p);
  }
  atomic_fetch_add(&total, sum);
  return NULL;
}

int main(int argc, char **argv) {
  pthread_t *th;
  worker_t *w;
  long i;
  threads = arg_long(argc, argv, 1, 2);
  iterations = arg_long(argc, argv, 2, 1000);
  objsize = arg_long(argc, argv, 3, 8);
  reps = arg_long(argc, argv, 4, 200000);
  if (threads < 1 || objsize < 1) {
    fprintf(stderr, "bad parameters\n");
    return 2;
  }
  printf("cache-scratch threads=%ld iterations=%ld objsize=%ld repetitions=%ld\n", threads,
         iterations, objsize, reps);
  th = xmalloc(sizeof(pthread_t) * (size_t)threads);
  w = xmalloc(sizeof(worker_t) * (size_t)threads);
  for (i = 0; i < threads; i++) {
    w[i].id = i;
    w[i].first = xmalloc((size_t)objsize);
    memset(w[i].first, 0, (size_t)objsize);
  }
  for (i = 0; i < threads; i++) pthread_create(&th[i], NULL, worker, &w[i]);
  for (i = 0; i < threads; i++) pthread_join(th[i], NULL);
  free(th);
  free(w);
  printf("result: %016llx\n", (unsigned long long)atomic_load(&total));
  return 0;
}
