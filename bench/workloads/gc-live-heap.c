/*
 * gc-live-heap.c -- a big live heap of small objects under continuous
 * replacement; throughput and pause times (collected memory).
 *
 * Stresses: marking a large live heap (every collection has to trace
 * `live_mib` MiB of small linked objects reached from one big table), the
 * pacer (how much the heap grows beyond the live data: peak RSS), and the
 * pauses the mutator sees while that heap is collected again and again.
 *
 * Idea: the "large live heap, steady replacement" shape of server caches,
 * as in the GC latency benchmarks of Go's and other runtimes' issue
 * trackers (a map/table of entries, random entries replaced) and the
 * gc-latency experiments (Pusher's "Golang's Real-time GC in Theory and
 * Practice"); and Larson's random-replace loop, with a collector instead
 * of free. Our own code.
 *
 * A table of `slots` entries is filled, each entry a short linked list of
 * 1-4 nodes of 16, 32, 48 or 64 bytes (a next pointer, a tag, payload);
 * `slots` is chosen so the nodes' bytes total about `live_mib` MiB. Then
 * `steps` times: pick a random entry, check its list's tags (a node freed
 * while still reachable shows up as a wrong tag or a crash), drop it, and
 * build a new list in its place; each step also builds and checks a
 * temporary list of `garbage` 64-byte nodes that dies at once (a request's
 * scratch objects), so that collections come more often than the
 * replacement alone would make them. At the end every entry is checked.
 *
 * Parameters: gc-live-heap [live_mib=64] [steps=2000000] [garbage=4]
 * Output: "throughput: <steps/s of the replacement phase>", the "pause:"
 * line of gc.h (number of collections, max and p99 pause over the whole
 * run) -- these two are measurements, not compared -- and the result: a
 * checksum of every tag checked (depends only on the parameters). The Go
 * version is bench/go/gc-live-heap/main.go.
 */
#include "gc.h"
#include "bench.h"

typedef struct lnode {
  struct lnode *next;
  uint64_t tag;
  uint64_t size; /* bytes of this node: 16, 32, 48 or 64 */
  /* payload: (size - 24) bytes, the last 8 (when size >= 32) hold the tag again */
} lnode_t;

#define AVG_LIST_BYTES 100 /* 2.5 nodes x 40 bytes on average */

static lnode_t *build(rng_t *r, uint64_t key) {
  int len = (int)rng_range(r, 1, 4), k;
  lnode_t *head = NULL;
  for (k = 0; k < len; k++) {
    uint64_t size = 16 * rng_range(r, 1, 4);
    lnode_t *n = GC_ALLOC(size < sizeof(lnode_t) ? sizeof(lnode_t) : size);
    n->tag = mix64(key * 8 + (uint64_t)k);
    n->size = size;
    if (size >= 32) memcpy((char *)n + size - 8, &n->tag, 8);
    n->next = head;
    head = n;
  }
  return head;
}

static uint64_t verify(const lnode_t *n, uint64_t key) {
  uint64_t sum = 0, t;
  int k = 0, len = 0;
  const lnode_t *p;
  for (p = n; p; p = p->next) len++;
  if (len < 1 || len > 4) WRONG("list of key %llu has %d nodes", (unsigned long long)key, len);
  for (p = n, k = len - 1; p; p = p->next, k--) {
    if (p->tag != mix64(key * 8 + (uint64_t)k)) WRONG("node tag of key %llu changed", (unsigned long long)key);
    if (p->size >= 32) {
      memcpy(&t, (const char *)p + p->size - 8, 8);
      if (t != p->tag) WRONG("node tail of key %llu changed", (unsigned long long)key);
    }
    sum += p->tag;
  }
  return sum;
}

/* A short-lived list of n 64-byte nodes, checked and dropped. */
static void scratch(long n, uint64_t step) {
  lnode_t *head = NULL, *p;
  long k;
  for (k = 0; k < n; k++) {
    p = GC_ALLOC(64);
    p->tag = step * 64 + (uint64_t)k;
    p->size = 64;
    p->next = head;
    head = p;
  }
  for (p = head; p; p = p->next)
    if (p->tag != step * 64 + (uint64_t)--k) WRONG("scratch node %ld of step %llu changed", k, (unsigned long long)step);
  if (k != 0) WRONG("scratch list of step %llu is short", (unsigned long long)step);
}

int main(int argc, char **argv) {
  long live_mib = arg_long(argc, argv, 1, 64);
  long steps = arg_long(argc, argv, 2, 2000000);
  long garbage = arg_long(argc, argv, 3, 4);
  long slots = live_mib * 1048576 / AVG_LIST_BYTES, i;
  lnode_t **table;
  uint64_t *keys, next_key = 1, sum = 0;
  rng_t r = {12345};
  uint64_t t0, t1;
  gc_init();
  printf("gc-live-heap (%s) live_mib=%ld slots=%ld steps=%ld garbage=%ld\n", GC_IMPL, live_mib, slots, steps,
         garbage);
  /* The table holds pointers: scanned. Its keys are plain numbers: noscan. */
  table = GC_ALLOC(sizeof(lnode_t *) * (size_t)slots);
  keys = GC_ALLOC_NOSCAN(sizeof(uint64_t) * (size_t)slots);
  for (i = 0; i < slots; i++) {
    keys[i] = next_key++;
    table[i] = build(&r, keys[i]);
    if ((i & 65535) == 0) gc_pause_poll();
  }
  t0 = gc_now_ns();
  for (i = 0; i < steps; i++) {
    long k = (long)(rng_next(&r) % (uint64_t)slots);
    sum += verify(table[k], keys[k]);
    keys[k] = next_key++;
    table[k] = build(&r, keys[k]);
    scratch(garbage, (uint64_t)i);
    if ((i & 65535) == 0) gc_pause_poll();
  }
  t1 = gc_now_ns();
  for (i = 0; i < slots; i++) sum += verify(table[i], keys[i]);
  printf("throughput: %.0f steps/s\n", (double)steps / ((double)(t1 - t0) / 1e9));
  gc_pause_report();
  printf("result: %016llx\n", (unsigned long long)sum);
  return 0;
}
