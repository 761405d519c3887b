/*
 * sh6bench.c -- batches of small objects freed in LIFO, FIFO and
 * every-other order.
 *
 * Stresses: free-list behaviour under the orders real programs free in.
 * Each thread, per round, allocates `n` objects whose sizes sweep
 * 1..maxsize in steps, then frees every other one from the end (LIFO,
 * leaving holes), allocates replacements of other sizes into the holes,
 * frees the whole batch front to back (FIFO), and finally keeps a few
 * objects alive across rounds (a slowly changing long-lived set).
 *
 * Idea: sh6bench from MicroQuill's SmartHeap (also in mimalloc-bench), whose
 * core loop allocates a sweep of sizes and frees them in several orders.
 * Our own code, not the original's.
 *
 * Parameters: sh6bench [threads=2] [rounds=2000] [n=2000] [maxsize=1000]
 * Result: the sum of the tags of every object freed (fixed by parameters).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "bench.h"

#define KEEP 64

static long threads, rounds, n, maxsize;
static _Atomic uint64_t total;

static void *worker(void *arg) {
  long id = (long)(intptr_t)arg;
  void **p = xmalloc(sizeof(void *) * (size_t)n);
  size_t *sz = xmalloc(sizeof(size_t) * (size_t)n);
  uint64_t *tag = xmalloc(sizeof(uint64_t) * (size_t)n);
  void *keep[KEEP] = {0};
  size_t keepsz[KEEP];
  uint64_t keeptag[KEEP];
  uint64_t sum = 0, ctr = (uint64_t)id << 48;
  size_t size = 1;
  long r, i;
  for (r = 0; r < rounds; r++) {
    for (i = 0; i < n; i++) {
      sz[i] = size;
      size += 7;
      if (size > (size_t)maxsize) size = 1 + (size % 13);
      tag[i] = mix64(++ctr);
      p[i] = xmalloc(sz[i]);
      tag_fill(p[i], sz[i], tag[i]);
    }
    /* every other one, from the end (LIFO with holes) */
    for (i = n - 1; i >= 0; i -= 2) {
      if (!tag_ok(p[i], sz[i], tag[i])) WRONG("thread %ld round %ld obj %ld", id, r, i);
      sum += tag[i];
      free(p[i]);
    }
    /* refill the holes with different sizes */
    for (i = n - 1; i >= 0; i -= 2) {
      sz[i] = 1 + (sz[i] * 3 + 5) % (size_t)maxsize;
      tag[i] = mix64(++ctr);
      p[i] = xmalloc(sz[i]);
      tag_fill(p[i], sz[i], tag[i]);
    }
    /* replace one long-lived object with one from this batch */
    {
      int k = (int)(r % KEEP);
      if (keep[k]) {
        if (!tag_ok(keep[k], keepsz[k], keeptag[k])) WRONG("thread %ld kept obj %d", id, k);
        sum += keeptag[k];
        free(keep[k]);
      }
      keep[k] = p[0];
      keepsz[k] = sz[0];
      keeptag[k] = tag[0];
    }
    /* everything else, front to back (FIFO) */
    for (i = 1; i < n; i++) {
      if (!tag_ok(p[i], sz[i], tag[i])) WRONG("thread %ld round %ld obj %ld", id, r, i);
      sum += tag[i];
      free(p[i]);
    }
  }
  for (i = 0; i < KEEP; i++) {
    if (!keep[i]) continue;
    if (!tag_ok(keep[i], keepsz[i], keeptag[i])) WRONG("thread %ld kept obj %ld", id, i);
    sum += keeptag[i];
    free(keep[i]);
  }
  free(p);
  free(sz);
  free(tag);
  atomic_fetch_add(&total, sum);
  return NULL;
}

int main(int argc, char **argv) {
  threads = arg_long(argc, argv, 1, 2);
  rounds = arg_long(argc, argv, 2, 2000);
  n = arg_long(argc, argv, 3, 2000);
  maxsize = arg_long(argc, argv, 4, 1000);
  if (threads < 1 || n < 1 || maxsize < 2) {
    fprintf(stderr, "bad parameters\n");
    return 2;
  }
  printf("sh6bench threads=%ld rounds=%ld n=%ld maxsize=%ld\n", threads, rounds, n, maxsize);
  run_workers(threads, worker);
  printf("result: %016llx\n", (unsigned long long)atomic_load(&total));
  return 0;
}
