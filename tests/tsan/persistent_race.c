/*
 * persistent_race.c -- finding 3 under ThreadSanitizer: persistentalloc
 * reached under two different locks.
 *
 * gh_persistent_alloc (src/mfixalloc.c) bumps the static persistent_cur /
 * persistent_end. Heap growth reaches it holding the heap lock (span and
 * bitmap fixallocs, arena metadata: src/mheap.c), while gh_set_finalizer
 * reaches it holding only specials_lock (src/mfinal.c special_new ->
 * gh_fixalloc_alloc(&special_alloc) -> gh_persistent_alloc, once per 64 KiB
 * of 32-byte special records). Two locks, one bump pointer: a data race, and
 * in a real run two callers can be handed the same metadata memory.
 *
 * The program (GOGC off, so no collection runs and no stop signal is sent):
 *   - thread F allocates NOBJ collected objects (gh_alloc) with a pattern,
 *     kept in a global table; thread G waits;
 *   - after a barrier (the last synchronisation between them), F sets a
 *     finalizer on every object (about NOBJ/2048 special-record refills),
 *     while G grows the heap with NLARGE large gh_malloc blocks of distinct
 *     sizes (> 32 KiB, kept live: a span struct each, new arenas: several
 *     span-fixalloc refills and arena records under the heap lock);
 *   - F takes no heap lock in its second phase, so TSan sees the two
 *     threads' writes of persistent_cur unordered and reports them, every
 *     run, while persistentalloc has no lock of its own.
 * Content checks afterwards (main thread, both threads joined): every
 * object's pattern, every large block's head and tail pattern, gh_base and
 * usable size, no two large blocks overlap (two spans carved from the same
 * metadata would show up here), no collection and no finalizer ran, then
 * finalizers removed from half the objects, everything freed explicitly and
 * trimmed. Ends with "N passed, N failed"; the TSan report itself is counted
 * by tests/suites/tsan.sh (exit 66 under halt_on_error=1).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goheap.h"
#include "testhelper.h"

enum { NOBJ = 24000, OBJ_WORDS = 6, NLARGE = 2400 };

static uint64_t *objs[NOBJ];      /* collected objects (a root, though nothing collects) */
static char *large[NLARGE];       /* manual blocks > 32 KiB */
static size_t large_size[NLARGE];
static pthread_barrier_t start;
static atomic_long fin_ran, fin_bad, worker_bad;

static uint64_t pattern(uint64_t i, uint64_t w) { return (i * 0x9e3779b97f4a7c15ull) ^ (w * 0xbf58476d1ce4e5b9ull) ^ 0x5a5a; }

static int obj_ok(uint64_t i) {
  for (uint64_t w = 0; w < OBJ_WORDS; w++)
    if (objs[i][w] != pattern(i, w)) return 0;
  return 1;
}

/* Must never run: nothing is collected. Checks anyway. */
static void fin(void *obj, void *arg) {
  uint64_t i = (uint64_t)(uintptr_t)arg;
  if (i >= NOBJ || obj != objs[i] || !obj_ok(i)) atomic_fetch_add(&fin_bad, 1);
  atomic_fetch_add(&fin_ran, 1);
}

static void *setter(void *arg) {
  (void)arg;
  for (uint64_t i = 0; i < NOBJ; i++) {
    objs[i] = gh_alloc(OBJ_WORDS * sizeof(uint64_t));
    if (!objs[i]) abort();
    for (uint64_t w = 0; w < OBJ_WORDS; w++) objs[i][w] = pattern(i, w);
  }
  pthread_barrier_wait(&start);
  for (uint64_t i = 0; i < NOBJ; i++) gh_set_finalizer(objs[i], fin, (void *)(uintptr_t)i);
  for (uint64_t i = 0; i < NOBJ; i++)
    if (!obj_ok(i)) atomic_fetch_add(&worker_bad, 1);
  return NULL;
}

static void *grower(void *arg) {
  (void)arg;
  pthread_barrier_wait(&start);
  for (size_t i = 0; i < NLARGE; i++) {
    size_t n = (33 << 10) + (i % 97) * 4096 + (i % 13) * 16; /* many distinct sizes */
    char *p = gh_malloc(n);
    if (!p) abort();
    memset(p, (int)(i & 0xff), 64);
    memset(p + n - 64, (int)(~i & 0xff), 64);
    large[i] = p, large_size[i] = n;
  }
  return NULL;
}

static int cmp_block(const void *a, const void *b) {
  uintptr_t x = (uintptr_t)large[*(const size_t *)a], y = (uintptr_t)large[*(const size_t *)b];
  return x < y ? -1 : x > y;
}

static int block_ok(size_t i) {
  const char *p = large[i];
  size_t n = large_size[i];
  for (size_t k = 0; k < 64; k++)
    if (p[k] != (char)(i & 0xff) || p[n - 64 + k] != (char)(~i & 0xff)) return 0;
  return gh_base((void *)p) == p && gh_malloc_usable_size((void *)p) >= n && !gh_is_collected((void *)p);
}

int main(void) {
  gh_set_gc_percent(-1); /* no collection: no stop signal, nothing TSan cannot follow */
  pthread_barrier_init(&start, NULL, 2);
  pthread_t f, g;
  if (pthread_create(&f, NULL, setter, NULL) || pthread_create(&g, NULL, grower, NULL)) abort();
  pthread_join(f, NULL);
  pthread_join(g, NULL);

  CHECKF("objects intact in the setter", atomic_load(&worker_bad) == 0, "%ld bad", atomic_load(&worker_bad));
  long bad = 0;
  for (uint64_t i = 0; i < NOBJ; i++) bad += !obj_ok(i) || gh_base(objs[i]) != objs[i] || !gh_is_collected(objs[i]);
  CHECKF("objects intact", bad == 0, "%ld of %d bad", bad, NOBJ);
  bad = 0;
  for (size_t i = 0; i < NLARGE; i++) bad += !block_ok(i);
  CHECKF("large blocks intact", bad == 0, "%ld of %d bad", bad, NLARGE);
  static size_t order[NLARGE];
  for (size_t i = 0; i < NLARGE; i++) order[i] = i;
  qsort(order, NLARGE, sizeof order[0], cmp_block);
  long overlaps = 0;
  for (size_t k = 1; k < NLARGE; k++)
    overlaps += (uintptr_t)large[order[k - 1]] + large_size[order[k - 1]] > (uintptr_t)large[order[k]];
  CHECKF("large blocks disjoint", overlaps == 0, "%ld overlaps", overlaps);

  gh_stats st = {.size = sizeof st};
  gh_read_stats(&st);
  CHECKF("no collection ran", st.num_gc == 0, "num_gc %llu", (unsigned long long)st.num_gc);
  CHECK("GOGC off", st.gc_percent < 0);
  CHECKF("large allocations counted", st.large_allocs >= NLARGE, "%llu", (unsigned long long)st.large_allocs);

  for (uint64_t i = 0; i < NOBJ; i += 2) gh_set_finalizer(objs[i], NULL, NULL); /* remove half */
  for (uint64_t i = 1; i < NOBJ; i += 4) gh_set_finalizer(objs[i], fin, (void *)(uintptr_t)i); /* replace */
  bad = 0;
  for (uint64_t i = 0; i < NOBJ; i++) bad += !obj_ok(i);
  CHECKF("objects intact after removing finalizers", bad == 0, "%ld bad", bad);

  for (size_t i = 0; i < NLARGE; i++) gh_free(large[i]), large[i] = NULL;
  for (uint64_t i = 0; i < NOBJ; i++) gh_free(objs[i]), objs[i] = NULL;
  gh_malloc_trim(0);
  gh_read_stats(&st);
  CHECKF("no finalizer ran", atomic_load(&fin_ran) == 0 && atomic_load(&fin_bad) == 0, "ran %ld, bad %ld",
         atomic_load(&fin_ran), atomic_load(&fin_bad));
  CHECKF("freed memory settled", st.heap_alloc < (4u << 20), "heap_alloc %llu", (unsigned long long)st.heap_alloc);
  CHECK("no bad calls", gh_error_count() == 0);
  printf("persistent_race: %d finalizers set by one thread while another grew the heap by %d large blocks "
         "(%llu arenas, %llu KiB of metadata)\n",
         NOBJ, NLARGE, (unsigned long long)st.num_arenas, (unsigned long long)(st.metadata_sys >> 10));
  return TEST_SUMMARY();
}
