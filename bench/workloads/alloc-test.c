/*
 * alloc-test.c -- many small short-lived objects with a live window.
 *
 * Stresses: the small-object fast paths (per-thread cache hit on malloc,
 * local free), with a bounded live set so that freed slots are reused while
 * the heap stays warm. Each thread keeps a ring of `window` live objects;
 * every step frees the oldest one and allocates a new one whose size follows
 * a skewed distribution (about 80% 8..64 bytes, 15% 65..512, 4.9% 513..4096,
 * 0.1% 4097..65536), like the mix of a typical C program.
 *
 * Idea: alloc-test by Oleg Dashevskii (also "alloc-test1/alloc-testN" in
 * mimalloc-bench), which measures random small allocations with a bounded
 * number of live objects. Our own code, not the original's.
 *
 * Parameters: alloc-test [threads=2] [steps per thread=10000000]
 *                        [window=10000]
 * Result: the sum of the tags of every object freed (fixed by parameters).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "bench.h"

static long threads, steps, window;
static _Atomic uint64_t total;

static inline size_t pick_size(rng_t *r) {
  uint64_t x = rng_next(r);
  unsigned p = (unsigned)(x % 1000);
  x >>= 10;
  if (p < 800) return 8 + (size_t)(x % 57);
  if (p < 950) return 65 + (size_t)(x % 448);
  if (p < 999) return 513 + (size_t)(x % 3584);
  return 4097 + (size_t)(x % 61440);
}

static void *worker(void *arg) {
  long id = (long)(intptr_t)arg;
  rng_t r = {0xa110c + (uint64_t)id};
  void **ring = xmalloc(sizeof(void *) * (size_t)window);
  size_t *sz = xmalloc(sizeof(size_t) * (size_t)window);
  uint64_t *tag = xmalloc(sizeof(uint64_t) * (size_t)window);
  uint64_t sum = 0;
  long i;
  memset(ring, 0, sizeof(void *) * (size_t)window);
  for (i = 0; i < steps; i++) {
    long k = i % window;
    if (ring[k]) {
      if (!tag_ok(ring[k], sz[k], tag[k])) WRONG("thread %ld step %ld: object changed", id, i);
      sum += tag[k];
      free(ring[k]);
    }
    sz[k] = pick_size(&r);
    tag[k] = mix64(((uint64_t)id << 48) ^ (uint64_t)i);
    ring[k] = xmalloc(sz[k]);
    tag_fill(ring[k], sz[k], tag[k]);
  }
  for (i = 0; i < window; i++) {
    if (!ring[i]) continue;
    if (!tag_ok(ring[i], sz[i], tag[i])) WRONG("thread %ld final: object changed", id);
    sum += tag[i];
    free(ring[i]);
  }
  free(ring);
  free(sz);
  free(tag);
  atomic_fetch_add(&total, sum);
  return NULL;
}

int main(int argc, char **argv) {
  threads = arg_long(argc, argv, 1, 2);
  steps = arg_long(argc, argv, 2, 10000000);
  window = arg_long(argc, argv, 3, 10000);
  if (threads < 1 || window < 1) {
    fprintf(stderr, "bad parameters\n");
    return 2;
  }
  printf("alloc-test threads=%ld steps=%ld window=%ld\n", threads, steps, window);
  run_workers(threads, worker);
  printf("result: %016llx\n", (unsigned long long)atomic_load(&total));
  return 0;
}
