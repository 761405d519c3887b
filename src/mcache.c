/*
 * mcache.c -- the per-thread cache. (Go: mcache.go.) See malloc.c for the overview.
 *
 * Each thread that allocates gets an mcache holding one span per span class;
 * the allocation fast path (malloc.c) takes a slot from it without a lock or
 * an atomic read-modify-write. When a cached span runs out, refill first
 * sweeps it in place (merging the frees made to it meanwhile) and keeps it if
 * that gave slots back; otherwise it returns the span to its mcentral and
 * caches another. At thread exit every span goes back (release_all).
 *
 * Only the owning thread touches an mcache, except in a fork child, where the
 * surviving thread releases the mcaches of threads that no longer exist.
 */
#include <string.h>

#include "internal.h"

__thread gh_mcache *gh_tls_mcache __attribute__((tls_model("initial-exec")));

/* The span every mcache slot starts with: nelems 0 and an empty alloc cache,
 * so the fast path always misses on it and no NULL test is needed. */
gh_mspan gh_emptyspan;

/* Creates the calling thread's mcache (Go: mcache.go:allocmcache). */
gh_mcache *gh_mcache_get_slow(void) {
  gh_ensure_init();
  gh_mcache *c = gh_tls_mcache;
  if (c) return c;
  c = gh_mheap_alloc_mcache();
  if (!c) return NULL;
  for (uint32_t i = 0; i < GH_NUM_SPAN_CLASSES; i++) c->alloc[i] = &gh_emptyspan;
  c->thread_id = gh_os_thread_id();
  gh_world_register(c);
  gh_tls_mcache = c;
  gh_os_thread_key_set(c);
  return c;
}

/*
 * Go: mcache.go:(*mcache).refill. Makes c->alloc[sc] a span with a free slot;
 * returns it, or NULL when the heap is exhausted.
 */
gh_mspan *gh_mcache_refill(gh_mcache *c, gh_spanclass sc) {
  gh_mspan *s = c->alloc[sc];
  if (s != &gh_emptyspan) {
    gh_mspan_sweep(s);
    if (s->alloc_count < s->nelems) return s;
    /* Detach before uncaching: a fork in between must not leave the span both
     * on a list and in this cache (the child would release it twice). */
    c->alloc[sc] = &gh_emptyspan;
    gh_mcentral_uncache_span(&gh_central[sc], s);
  }
  s = gh_mcentral_cache_span(&gh_central[sc], c);
  if (!s) return NULL;
  c->alloc[sc] = s;
  return s;
}

/* Go: mcache.go:(*mcache).releaseAll. Gives every cached span back. */
void gh_mcache_release_all(gh_mcache *c) {
  for (uint32_t sc = 0; sc < GH_NUM_SPAN_CLASSES; sc++) {
    gh_mspan *s = c->alloc[sc];
    if (s == &gh_emptyspan) continue;
    c->alloc[sc] = &gh_emptyspan;
    gh_mspan_sweep(s);
    gh_mcentral_uncache_span(&gh_central[sc], s);
  }
}

/* Counts the allocations made from the cached spans (for gh_read_stats). */
void gh_mcache_flush_stats(gh_mcache *c) {
  for (uint32_t sc = 0; sc < GH_NUM_SPAN_CLASSES; sc++)
    if (c->alloc[sc] != &gh_emptyspan) gh_mspan_flush_nmalloc(c->alloc[sc]);
}
