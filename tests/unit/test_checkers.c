/*
 * test_checkers.c -- the structure checkers at every layer boundary of a real
 * workload: gh_mspan_check on every span this thread caches, gh_mcentral_check
 * on every span class, gh_mheap_check on the page heap, after each phase of
 * allocating, freeing from the owner, freeing from other threads, realloc and
 * trimming. A checker that finds a broken invariant aborts the test.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "testhelper.h"

enum { N = 20000 };
static void *v[N];
static int check_all(void) {
  gh_mcache *c = gh_tls_mcache;
  for (uint32_t sc = 0; c && sc < GH_NUM_SPAN_CLASSES; sc++)
    if (c->alloc[sc] != &gh_emptyspan) gh_mspan_check(c->alloc[sc]);
  for (uint32_t i = 0; i < GH_NUM_SPAN_CLASSES; i++) gh_mcentral_check(&gh_central[i]);
  gh_mheap_check();
  return 1;
}

static void *free_odd(void *arg) {
  (void)arg;
  for (int i = 1; i < N; i += 2) free(v[i]), v[i] = NULL;
  return NULL;
}

int main(void) {
  for (int i = 0; i < N; i++) v[i] = malloc(th_rand() % (th_rand() % 16 ? 512 : 70000));
  CHECK("checkers pass after allocating", check_all());
  for (int i = 0; i < N; i += 4) free(v[i]), v[i] = NULL;
  CHECK("checkers pass after owner frees", check_all());
  pthread_t t;
  pthread_create(&t, NULL, free_odd, NULL);
  pthread_join(t, NULL);
  CHECK("checkers pass after remote frees", check_all());
  for (int i = 0; i < N; i++)
    if (v[i]) v[i] = realloc(v[i], th_rand() % 4000 + 1);
  for (int i = 0; i < N; i++)
    if (!v[i]) v[i] = malloc(th_rand() % 300);
  CHECK("checkers pass after realloc and reuse", check_all());
  gh_malloc_trim(0);
  CHECK("checkers pass after a trim", check_all());
  for (int i = 0; i < N; i++) free(v[i]);
  gh_malloc_trim(0);
  CHECK("checkers pass after freeing everything", check_all());
  gh_stats st = {.size = sizeof st};
  gh_read_stats(&st);
  CHECKF("after freeing everything the heap keeps no span beyond a few", st.heap_inuse <= 64 * GH_PAGE_SIZE,
         "heap_inuse %llu", (unsigned long long)st.heap_inuse);
  return TEST_SUMMARY();
}
