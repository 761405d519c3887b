/*
 * gc-gcbench.c -- GCBench: many temporary binary trees beside a long-lived
 * tree and a long-lived array (collected memory).
 *
 * Stresses: the collector's throughput on short-lived small objects (32-byte
 * tree nodes) while a long-lived structure stays live and must be marked every
 * cycle, plus one large pointer-free object (the array, allocated noscan).
 * Trees are built both top-down (a node is allocated, then its children and
 * stored into it: pointer stores into old objects) and bottom-up (the children
 * exist first: a node holds pointers to younger objects only).
 *
 * Idea: Boehm, Ellis & Kovac's GCBench (Hans Boehm's "An Artificial Garbage
 * Collection Benchmark", after John Ellis and Pete Kovac's Java version).
 * Like the original: a stretch tree of depth `stretch` is built and dropped;
 * a long-lived tree of depth `longlived` and an array of `array` doubles are
 * allocated and kept; then for each depth d = mindepth, mindepth+2, ...,
 * maxdepth, 2 * TreeSize(stretch) / TreeSize(d) trees of depth d are built
 * top-down and as many bottom-up, each dropped at once. `repeat` runs that
 * loop over the depths several times (the original runs it once). Our own
 * code, not the original's; unlike it, every tree is walked and counted
 * after it is built, and the long-lived structures are checked at the end.
 *
 * Parameters: gc-gcbench [stretch=18] [longlived=16] [array=500000]
 *                        [mindepth=4] [maxdepth=16] [repeat=1]
 * Result: a checksum of every tree's node count and node contents (depends
 * only on the parameters). The Go version is bench/go/gc-gcbench/main.go.
 */
#include "gc.h"
#include "bench.h"

typedef struct node {
  struct node *left, *right;
  int64_t i, j;
} node_t;

static long tree_size(int d) { return (1L << (d + 1)) - 1; }
static long num_iters(int stretch, int d) { return 2 * tree_size(stretch) / tree_size(d); }

static node_t *new_node(node_t *l, node_t *r) {
  node_t *n = GC_ALLOC(sizeof(node_t));
  n->left = l;
  n->right = r;
  return n;
}

/* Top-down: children are allocated after their parent and stored into it. */
static void populate(int d, node_t *n) {
  if (d <= 0) return;
  d--;
  n->left = new_node(NULL, NULL);
  n->right = new_node(NULL, NULL);
  populate(d, n->left);
  populate(d, n->right);
}

/* Bottom-up: a parent is allocated after both children. */
static node_t *make_tree(int d) {
  node_t *l, *r;
  if (d <= 0) return new_node(NULL, NULL);
  l = make_tree(d - 1);
  r = make_tree(d - 1);
  return new_node(l, r);
}

/* Numbers the nodes in preorder (i) and sets j from it. */
static int64_t number(node_t *n, int64_t next) {
  n->i = next;
  n->j = (int64_t)(mix64((uint64_t)next) & 0xffff);
  next++;
  if (n->left) next = number(n->left, next);
  if (n->right) next = number(n->right, next);
  return next;
}

/* Counts the nodes and checks the numbering; returns a checksum. */
static uint64_t check(node_t *n, long *count) {
  uint64_t h;
  if ((n->left == NULL) != (n->right == NULL)) WRONG("a node with one child");
  if (n->j != (int64_t)(mix64((uint64_t)n->i) & 0xffff)) WRONG("node %lld content changed", (long long)n->i);
  (*count)++;
  h = (uint64_t)n->i * 31 + (uint64_t)n->j;
  if (n->left) h ^= mix64(check(n->left, count) + 1) + mix64(check(n->right, count) + 2);
  return h;
}

static uint64_t walk(node_t *t, int d) {
  long count = 0;
  uint64_t h;
  number(t, 0);
  h = check(t, &count);
  if (count != tree_size(d)) WRONG("tree of depth %d has %ld nodes, not %ld", d, count, tree_size(d));
  return h;
}

int main(int argc, char **argv) {
  int stretch = (int)arg_long(argc, argv, 1, 18);
  int longlived = (int)arg_long(argc, argv, 2, 16);
  long array = arg_long(argc, argv, 3, 500000);
  int mindepth = (int)arg_long(argc, argv, 4, 4);
  int maxdepth = (int)arg_long(argc, argv, 5, 16);
  long repeat = arg_long(argc, argv, 6, 1);
  uint64_t sum = 0;
  node_t *temp, *ll;
  double *arr;
  long i, r;
  int d;
  gc_init();
  printf("gc-gcbench (%s) stretch=%d longlived=%d array=%ld depths=%d..%d repeat=%ld\n", GC_IMPL, stretch,
         longlived, array, mindepth, maxdepth, repeat);

  temp = make_tree(stretch); /* stretch the heap */
  sum += walk(temp, stretch);
  temp = NULL;

  ll = new_node(NULL, NULL);
  populate(longlived, ll);
  arr = GC_ALLOC_NOSCAN(sizeof(double) * (size_t)array);
  for (i = 0; i < array / 2; i++) arr[i] = 1.0 / (double)i;
  sum += walk(ll, longlived);

  for (r = 0; r < repeat; r++) {
    for (d = mindepth; d <= maxdepth; d += 2) {
      long iters = num_iters(stretch, d);
      for (i = 0; i < iters; i++) {
        temp = new_node(NULL, NULL);
        populate(d, temp);
        sum = sum * 3 + walk(temp, d);
        temp = make_tree(d);
        sum = sum * 5 + walk(temp, d);
      }
    }
  }
  temp = NULL;

  /* The long-lived structures are still intact. */
  sum += walk(ll, longlived);
  for (i = 1; i < array / 2; i++)
    if (arr[i] != 1.0 / (double)i) WRONG("array[%ld] changed", i);
  for (i = array / 2; i < array; i++)
    if (arr[i] != 0.0) WRONG("array[%ld] is not zero", i);
  printf("result: %016llx\n", (unsigned long long)sum);
  return 0;
}
