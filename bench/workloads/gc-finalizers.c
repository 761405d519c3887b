/*
 * gc-finalizers.c -- many objects with finalizers (collected memory).
 *
 * Stresses: registering finalizers (the collector's side table of
 * "specials"), finding the unreachable ones in each collection, keeping what
 * they reference alive until the finalizer has run, and running them
 * (goheap: on its finalizer thread; bdwgc: in the allocating thread, or on
 * GC_invoke_finalizers; Go: on its finalizer goroutine).
 *
 * Idea: finalizer-heavy programs (wrappers of OS or foreign resources closed
 * by finalizers, as Go's os.File or cgo handles); the finalization checks of
 * bdwgc's tests/gctest.c and Go's runtime finalizer tests. Our own code.
 *
 * `objects` objects of 32 bytes are allocated, each with a finalizer and a
 * 32-byte pointer-free child holding a copy of its tag; a ring of the last
 * `window` objects stays reachable, older ones become garbage. Each finalizer
 * checks that its object and the child are intact, marks the object's id in
 * a table (a second finalization of the same object is a wrong answer) and
 * counts. At the end the ring is cleared and collections are run (with a
 * 2 ms sleep between, for finalizer threads) until every object has been
 * finalized, or the count has not moved for 10 rounds, or 100 rounds have
 * passed.
 *
 * Correctness: every finalizer ran at most once per object; the number
 * finalized is at most the number allocated and at least 99% of it (a
 * conservative collector may keep a few objects alive through stale stack
 * words, so not necessarily all of them).
 *
 * Parameters: gc-finalizers [objects=200000] [window=1000]
 * Result: "result: allocated=<objects> ok" (the number finalized varies a
 * little with conservative scanning and is printed on its own line). The Go
 * version is bench/go/gc-finalizers/main.go (runtime.SetFinalizer).
 */
#include <stdatomic.h>
#include <unistd.h>

#include "gc.h"
#include "bench.h"

typedef struct fobj {
  uint64_t id;
  uint64_t tag;
  uint64_t *child; /* 4 words, each = tag */
  uint64_t pad;
} fobj_t;

static atomic_long finalized;
static atomic_uchar *seen;
static long nobjects;
static fobj_t **ring; /* a global: a root in every collector */

static void finalize(void *obj, void *arg) {
  fobj_t *o = obj;
  int k;
  if (arg != (void *)&finalized) WRONG("finalizer called with a wrong argument");
  if (o->id >= (uint64_t)nobjects || o->tag != mix64(o->id + 1))
    WRONG("finalized object %llu changed", (unsigned long long)o->id);
  if (!o->child) WRONG("finalized object %llu lost its child", (unsigned long long)o->id);
  for (k = 0; k < 4; k++)
    if (o->child[k] != o->tag) WRONG("the child of finalized object %llu changed", (unsigned long long)o->id);
  if (atomic_exchange(&seen[o->id], 1)) WRONG("object %llu finalized twice", (unsigned long long)o->id);
  atomic_fetch_add((atomic_long *)arg, 1);
}

int main(int argc, char **argv) {
  long window = arg_long(argc, argv, 2, 1000), i, rounds;
  long done, still;
  nobjects = arg_long(argc, argv, 1, 200000);
  gc_init();
  if (window < 1) window = 1;
  printf("gc-finalizers (%s) objects=%ld window=%ld\n", GC_IMPL, nobjects, window);
  seen = calloc((size_t)nobjects + 1, 1);
  if (!seen) WRONG("calloc");
  ring = GC_ALLOC(sizeof(fobj_t *) * (size_t)window);
  for (i = 0; i < nobjects; i++) {
    fobj_t *o = GC_ALLOC(sizeof(fobj_t));
    int k;
    o->id = (uint64_t)i;
    o->tag = mix64((uint64_t)i + 1);
    o->child = GC_ALLOC_NOSCAN(4 * sizeof(uint64_t));
    for (k = 0; k < 4; k++) o->child[k] = o->tag;
    GC_FINALIZER(o, finalize, &finalized);
    ring[i % window] = o;
  }
  memset(ring, 0, sizeof(fobj_t *) * (size_t)window);
  /* Collect until all are finalized, or the count has not moved for 10
   * rounds (the rest are kept by stale words), or 100 rounds. */
  for (rounds = 0, still = 0, done = -1; rounds < 100 && still < 10; rounds++) {
    long now = atomic_load(&finalized);
    if (now == nobjects) break;
    still = now == done ? still + 1 : 0;
    done = now;
    GC_COLLECT();
    GC_RUN_FINALIZERS();
    usleep(2000);
  }
  done = atomic_load(&finalized);
  printf("finalized: %ld of %ld after %ld final collections (collector's count: %ld)\n", done, nobjects,
         rounds, GC_FINALIZERS_DONE());
  if (done > nobjects) WRONG("%ld objects finalized, only %ld allocated", done, nobjects);
  if (done < nobjects - nobjects / 100)
    WRONG("only %ld of %ld unreachable objects finalized after %ld collections", done, nobjects, rounds);
  printf("result: allocated=%ld ok\n", nobjects);
  return 0;
}
