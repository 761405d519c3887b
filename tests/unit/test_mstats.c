/*
 * test_mstats.c -- the counters (src/mstats.c): after gh_malloc_trim releases
 * the caller's cache and sweeps every queued span, Go's heapLive must equal
 * the bytes of live objects exactly, and both must follow allocations and
 * frees of small and large objects, from this thread and from another one.
 */
#include <pthread.h>
#include <stdlib.h>

#include "internal.h"
#include "testhelper.h"

static gh_stats settle(void) {
  gh_malloc_trim(0);
  gh_stats st = {.size = sizeof st};
  gh_read_stats(&st);
  return st;
}

static void *free_all(void *arg) {
  void **v = arg;
  for (int i = 0; i < 5000; i++) free(v[i]);
  return NULL;
}

static void *nothing(void *arg) { return arg; }

int main(void) {
  static void *v[5000];
  pthread_t t;
  void *volatile big = malloc(64 << 20); /* above the retain limit once freed: the scavenger */
  free(big);                             /* thread starts now, its thread data before s0 */
  pthread_create(&t, NULL, nothing, NULL); /* glibc keeps a little memory per thread ever made */
  pthread_join(t, NULL);
  gh_stats s0 = settle();
  CHECKF("heap_live == heap_alloc at rest", s0.heap_live == s0.heap_alloc, "%llu vs %llu",
         (unsigned long long)s0.heap_live, (unsigned long long)s0.heap_alloc);
  for (int i = 0; i < 5000; i++) v[i] = malloc(i % 7 == 0 ? 40000 + (size_t)i : 100);
  gh_stats s1 = settle();
  uint64_t expect = 0;
  for (int i = 0; i < 5000; i++) expect += i % 7 == 0 ? gh_roundupsize(40000 + (size_t)i) : gh_roundupsize(100);
  CHECKF("heap_alloc grows by exactly the slot sizes", s1.heap_alloc - s0.heap_alloc == expect, "%llu vs %llu",
         (unsigned long long)(s1.heap_alloc - s0.heap_alloc), (unsigned long long)expect);
  CHECKF("heap_live == heap_alloc with objects live", s1.heap_live == s1.heap_alloc, "%llu vs %llu",
         (unsigned long long)s1.heap_live, (unsigned long long)s1.heap_alloc);
  CHECK("heap_objects counts them", s1.heap_objects - s0.heap_objects == 5000);
  pthread_create(&t, NULL, free_all, v); /* remote frees */
  pthread_join(t, NULL);
  gh_stats s2 = settle();
  CHECKF("after remote frees, heap_alloc is back", s2.heap_alloc == s0.heap_alloc, "%llu vs %llu",
         (unsigned long long)s2.heap_alloc, (unsigned long long)s0.heap_alloc);
  CHECKF("after remote frees, heap_live == heap_alloc", s2.heap_live == s2.heap_alloc, "%llu vs %llu",
         (unsigned long long)s2.heap_live, (unsigned long long)s2.heap_alloc);
  CHECK("mallocs and frees both grew by 5000", s2.mallocs - s0.mallocs >= 5000 && s2.frees - s0.frees >= 5000);
  CHECK("every idle page was released by the trim", s2.heap_released == s2.heap_idle);
  return TEST_SUMMARY();
}
