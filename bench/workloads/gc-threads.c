/*
 * gc-threads.c -- many threads allocating small short-lived objects at once
 * (collected memory).
 *
 * Stresses: per-thread allocation caches and their refills from shared
 * structures, the collector stopping and scanning many threads (each one's
 * stack and registers are roots), and sweeping under concurrent allocation.
 *
 * Idea: the multi-threaded small-object tests of allocator suites
 * (alloc-test, larson) on a collector, as in bdwgc's own threaded test
 * (tests/gctest.c run with several threads). Our own code.
 *
 * `threads` threads each run `rounds` rounds; a round builds a singly linked
 * list of 1-64 nodes of 16-64 bytes (a next pointer, a tag whose low bits
 * encode the node's size, a tail copy of the tag), keeps it in a per-thread
 * window of the last `window` lists, and checks and drops the list that
 * falls out of the window. So each thread holds a small live set (about
 * window x 32 x 40 bytes) and produces a lot of garbage. At the end every
 * thread checks what its window still holds.
 *
 * Parameters: gc-threads [threads=8] [rounds=20000] [window=16]
 * Result: the sum of every tag checked (depends only on the parameters).
 * The Go version is bench/go/gc-threads/main.go (goroutines).
 */
#include <stdatomic.h>

#include "gc.h"
#include "bench.h"

typedef struct tnode {
  struct tnode *next;
  uint64_t tag;
  /* then padding up to the node's size; its last 8 bytes repeat the tag */
} tnode_t;

static long rounds, window;
static atomic_ullong total;

static tnode_t *build(rng_t *r, uint64_t key, uint64_t *len_out) {
  uint64_t len = rng_range(r, 1, 64), k;
  tnode_t *head = NULL;
  for (k = 0; k < len; k++) {
    uint64_t sz = rng_range(r, 1, 4);
    size_t size = 16 * (size_t)sz;
    tnode_t *n = GC_ALLOC(size);
    n->tag = (mix64(key * 64 + k) & ~(uint64_t)3) | (sz - 1); /* low bits: the size */
    if (size >= 32) memcpy((char *)n + size - 8, &n->tag, 8);
    n->next = head;
    head = n;
  }
  *len_out = len;
  return head;
}

static uint64_t verify(const tnode_t *n, uint64_t key, uint64_t len) {
  uint64_t sum = 0, k = len, t, size;
  for (; n; n = n->next) {
    if (k == 0) WRONG("list %llu is too long", (unsigned long long)key);
    k--;
    if ((n->tag & ~(uint64_t)3) != (mix64(key * 64 + k) & ~(uint64_t)3))
      WRONG("a node of list %llu changed", (unsigned long long)key);
    size = 16 * ((n->tag & 3) + 1);
    if (size >= 32) {
      memcpy(&t, (const char *)n + size - 8, 8);
      if (t != n->tag) WRONG("the tail of a node of list %llu changed", (unsigned long long)key);
    }
    sum += n->tag;
  }
  if (k != 0) WRONG("list %llu is too short", (unsigned long long)key);
  return sum;
}

static void *worker(void *arg) {
  long id = (long)(intptr_t)arg, i;
  rng_t r = {(uint64_t)id * 0x1234567 + 1};
  /* the window lives in collected memory: scanned, reached from this stack */
  tnode_t **win = GC_ALLOC(sizeof(tnode_t *) * (size_t)window);
  uint64_t *keys = GC_ALLOC_NOSCAN(sizeof(uint64_t) * (size_t)window);
  uint64_t *lens = GC_ALLOC_NOSCAN(sizeof(uint64_t) * (size_t)window);
  uint64_t sum = 0;
  for (i = 0; i < rounds; i++) {
    long w = i % window;
    if (win[w]) sum += verify(win[w], keys[w], lens[w]);
    keys[w] = ((uint64_t)id << 40) + (uint64_t)i;
    win[w] = build(&r, keys[w], &lens[w]);
  }
  for (i = 0; i < window; i++)
    if (win[i]) sum += verify(win[i], keys[i], lens[i]);
  atomic_fetch_add(&total, sum);
  return NULL;
}

int main(int argc, char **argv) {
  long threads = arg_long(argc, argv, 1, 8);
  rounds = arg_long(argc, argv, 2, 20000);
  window = arg_long(argc, argv, 3, 16);
  gc_init();
  if (threads < 1) threads = 1;
  if (window < 1) window = 1;
  printf("gc-threads (%s) threads=%ld rounds=%ld window=%ld\n", GC_IMPL, threads, rounds, window);
  run_workers(threads, worker);
  printf("result: %016llx\n", (unsigned long long)atomic_load(&total));
  return 0;
}
