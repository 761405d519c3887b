/*
 * binary-trees.c -- the benchmarks game's binary-trees on goheap's collector:
 * trees of gh_alloc'd nodes are built, checked and dropped, never freed; the
 * collector reclaims them. A long-lived tree survives every collection.
 *   binary-trees [max depth, default 18]
 * Prints the node counts (the same for every correct allocator) and the
 * collector's statistics.
 */
#include <goheap.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct node {
  struct node *left, *right;
} node;

static node *make(int depth) {
  node *n = gh_alloc(sizeof *n);
  if (!n) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  if (depth > 0) {
    n->left = make(depth - 1);
    n->right = make(depth - 1);
  }
  return n;
}

static long check(const node *n) { return n->left ? 1 + check(n->left) + check(n->right) : 1; }

int main(int argc, char **argv) {
  int max = argc > 1 ? atoi(argv[1]) : 18;
  if (max < 6) max = 6;
  printf("stretch tree of depth %d\t check: %ld\n", max + 1, check(make(max + 1)));
  node *long_lived = make(max);
  for (int d = 4; d <= max; d += 2) {
    long iterations = 1L << (max - d + 4), sum = 0;
    for (long i = 0; i < iterations; i++) sum += check(make(d));
    printf("%ld\t trees of depth %d\t check: %ld\n", iterations, d, sum);
  }
  printf("long lived tree of depth %d\t check: %ld\n", max, check(long_lived));
  gh_stats st = {.size = sizeof st};
  gh_read_stats(&st);
  uint64_t maxp = 0;
  for (int i = 0; i < GH_STATS_NPAUSE && i < (int)st.num_gc; i++)
    if (st.pause_ns[i] > maxp) maxp = st.pause_ns[i];
  fprintf(stderr, "collections: %llu, total pause %.1f ms, longest %.2f ms, heap in use at exit %.1f MiB\n",
          (unsigned long long)st.num_gc, st.pause_total_ns / 1e6, maxp / 1e6, st.heap_inuse / 1048576.0);
  return 0;
}
