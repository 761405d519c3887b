/*
 * gc-binary-trees.c -- the Computer Language Benchmarks Game's binary-trees
 * on collected memory, with 1 or more mutator threads.
 *
 * Stresses: raw allocation throughput of 16-byte objects (two pointers) that
 * die young, bottom-up trees of many depths, one long-lived tree that every
 * collection has to mark, and -- with threads > 1 -- several threads
 * allocating at once (per-thread caches, stopping several threads).
 *
 * Idea: binary-trees from the Benchmarks Game (after Hans Boehm's GCBench).
 * As there: a stretch tree of depth max+1 is built, checked and dropped; a
 * long-lived tree of depth max is kept; for d = 4, 6, ..., max,
 * 2^(max - d + 4) trees of depth d are built bottom-up, checked (node count)
 * and dropped; the same lines as the benchmark's are printed. The work for
 * each depth is cut into chunks of iterations that `threads` threads take
 * from a shared counter (the sums are per depth, so the output does not
 * depend on the schedule). Our own code.
 *
 * Parameters: gc-binary-trees [maxdepth=16] [threads=1]
 * Result: a checksum of the printed check numbers. The Go version is
 * bench/go/gc-binary-trees/main.go (goroutines instead of threads).
 */
#include <stdatomic.h>

#include "gc.h"
#include "bench.h"

#define MIN_DEPTH 4
#define CHUNKS_PER_DEPTH 16

typedef struct node {
  struct node *left, *right;
} node_t;

static node_t *bottom_up(int d) {
  node_t *n = GC_ALLOC(sizeof(node_t));
  if (d > 0) {
    node_t *l = bottom_up(d - 1);
    n->left = l;
    n->right = bottom_up(d - 1);
  }
  return n;
}

static long item_check(const node_t *n) {
  if (!n->left) {
    if (n->right) WRONG("a node with only a right child");
    return 1;
  }
  if (!n->right) WRONG("a node with only a left child");
  return 1 + item_check(n->left) + item_check(n->right);
}

static int max_depth;
static long nchunks;
static atomic_long next_chunk;
static atomic_long depth_check[64];

/* Chunk k: depth MIN_DEPTH + 2 * (k / CHUNKS_PER_DEPTH), the (k %
 * CHUNKS_PER_DEPTH)-th slice of that depth's iterations. */
static void *worker(void *arg) {
  long k;
  (void)arg;
  while ((k = atomic_fetch_add(&next_chunk, 1)) < nchunks) {
    int d = MIN_DEPTH + 2 * (int)(k / CHUNKS_PER_DEPTH);
    long iters = 1L << (max_depth - d + MIN_DEPTH), part = k % CHUNKS_PER_DEPTH;
    long lo = iters * part / CHUNKS_PER_DEPTH, hi = iters * (part + 1) / CHUNKS_PER_DEPTH, i, c = 0;
    for (i = lo; i < hi; i++) {
      long got = item_check(bottom_up(d));
      if (got != (1L << (d + 1)) - 1) WRONG("tree of depth %d checks %ld", d, got);
      c += got;
    }
    atomic_fetch_add(&depth_check[d], c);
  }
  return NULL;
}

int main(int argc, char **argv) {
  int n = (int)arg_long(argc, argv, 1, 16);
  long threads = arg_long(argc, argv, 2, 1);
  uint64_t sum = 0;
  node_t *long_lived;
  long c;
  int d;
  gc_init();
  max_depth = n < MIN_DEPTH + 2 ? MIN_DEPTH + 2 : n;
  if (threads < 1) threads = 1;
  printf("gc-binary-trees (%s) maxdepth=%d threads=%ld\n", GC_IMPL, max_depth, threads);

  c = item_check(bottom_up(max_depth + 1));
  printf("stretch tree of depth %d\t check: %ld\n", max_depth + 1, c);
  sum = sum * 31 + (uint64_t)c;

  long_lived = bottom_up(max_depth);

  nchunks = (long)((max_depth - MIN_DEPTH) / 2 + 1) * CHUNKS_PER_DEPTH;
  if (threads == 1)
    worker(NULL);
  else
    run_workers(threads, worker);
  for (d = MIN_DEPTH; d <= max_depth; d += 2) {
    long iters = 1L << (max_depth - d + MIN_DEPTH);
    c = atomic_load(&depth_check[d]);
    if (c != iters * ((1L << (d + 1)) - 1)) WRONG("depth %d: check %ld", d, c);
    printf("%ld\t trees of depth %d\t check: %ld\n", iters, d, c);
    sum = sum * 31 + (uint64_t)c;
  }
  c = item_check(long_lived);
  printf("long lived tree of depth %d\t check: %ld\n", max_depth, c);
  sum = sum * 31 + (uint64_t)c;
  printf("result: %016llx\n", (unsigned long long)sum);
  return 0;
}
