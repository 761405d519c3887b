/*
 * cg-gc-alloc.c -- instructions per collected allocation, collections
 * amortised in.
 *
 * Built twice from this one source through bench/workloads/gc.h:
 * build/bench/cg-gc-alloc-goheap (-DUSE_GOHEAP: gh_alloc) and
 * cg-gc-alloc-bdwgc (-DUSE_BDWGC: GC_MALLOC). Run under
 * `valgrind --tool=callgrind --collect-atstart=no`: only the measured loop
 * is counted (CALLGRIND_TOGGLE_COLLECT around it), and bench/run.py runs it
 * with two values of N and divides the difference of the totals by the
 * difference of the N's, so start-up and one-time costs cancel while the
 * collections that the extra allocations cause are counted (callgrind counts
 * every thread, so work the collector does on other threads is in too).
 *
 *   cg-gc-alloc N     warm-up: 200000 allocations; then, measured, N x
 *                     { p = GC_ALLOC(16..64); p->v = i; ring[i % 4096] = p }
 *
 * The ring (a global, so a root) keeps the last 4096 objects alive: a small
 * live set, everything else is garbage. Sizes cycle 16, 32, 48, 64. Prints
 * "collections: <in the measured loop>" and "result: <hex>".
 */
#include <valgrind/callgrind.h>

#include "../workloads/gc.h"

#define RING 4096
#define WARMUP 200000

typedef struct obj {
  struct obj *next;
  uint64_t v;
} obj_t;

static obj_t *ring[RING];

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 100000, i;
  volatile size_t sizes[4] = {16, 32, 48, 64};
  uint64_t sum = 0;
  long c0, c1;
  gc_init();
  for (i = 0; i < WARMUP; i++) {
    obj_t *p = GC_ALLOC(sizes[i & 3]);
    p->v = (uint64_t)i;
    ring[i % RING] = p;
  }
  c0 = gc_collections();
  CALLGRIND_TOGGLE_COLLECT;
  for (i = 0; i < n; i++) {
    obj_t *p = GC_ALLOC(sizes[i & 3]);
    p->v = (uint64_t)i;
    ring[i % RING] = p;
  }
  CALLGRIND_TOGGLE_COLLECT;
  c1 = gc_collections();
  for (i = 0; i < RING; i++) sum += ring[i]->v;
  printf("collections: %ld\n", c1 - c0);
  printf("result: %llx\n", (unsigned long long)sum);
  return 0;
}
