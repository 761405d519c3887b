/*
 * mcache.c -- the per-thread cache. (Go: mcache.go.) See malloc.c for the overview.
 *
 * Each thread that allocates gets an mcache holding one span per span class;
 * the allocation fast path (malloc.c) takes a slot from it without a lock or
 * an atomic read-modify-write. When the current span runs out, refill first
 * sweeps it in place (merging the frees made to it meanwhile) and keeps it if
 * that gave slots back, then tries the spare spans the same way, and only then
 * takes another span from the mcentral; the oldest spare goes back to it.
 * At thread exit every span goes back (release_all).
 *
 * Only the owning thread touches an mcache, except in a fork child, where the
 * surviving thread releases the mcaches of threads that no longer exist.
 */
#include <string.h>

#include "internal.h"

__thread gh_mcache *gh_tls_mcache __attribute__((tls_model("initial-exec")));

/* The span every mcache slot starts with: nelems 0 and an empty alloc cache,
 * so the fast path always misses on it and no NULL test is needed. */
GH_DATA gh_mspan gh_emptyspan;

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

/* A single store, ordered after the ones before it (see gh_mcache: no span in two slots). */
static void set_slot(gh_mspan **slot, gh_mspan *s) { gh_atomic_store_release(slot, s); }

/* How many spares class sc keeps: GH_MCACHE_SPARES spans, GH_MCACHE_SPARE_BYTES at most. */
static uint32_t spare_limit(gh_spanclass sc) {
  uint32_t n = GH_MCACHE_SPARE_BYTES / (gh_class_npages(gh_spanclass_sizeclass(sc)) * GH_PAGE_SIZE);
  return n < 1 ? 1 : n > GH_MCACHE_SPARES ? GH_MCACHE_SPARES : n;
}

/* Makes the full span s a spare in place of the oldest; that one goes back to its mcentral. */
static void retire(gh_mcache *c, gh_spanclass sc, gh_mspan *s) {
  uint8_t k = c->spare_next[sc];
  gh_mspan *evict = c->spare[sc][k];
  set_slot(&c->spare[sc][k], s);
  c->spare_next[sc] = (uint8_t)((k + 1) % spare_limit(sc));
  if (evict) {
    gh_mspan_sweep(evict, c->local_stats);
    gh_mcentral_uncache_span(&gh_central[sc], evict);
  }
}

/* The spare with the most frees pending (remote frees count as one), or -1. */
static int best_spare(gh_mcache *c, gh_spanclass sc) {
  int best = -1;
  uint32_t most = 0;
  for (int i = 0; i < GH_MCACHE_SPARES; i++) {
    gh_mspan *t = c->spare[sc][i];
    if (!t || !gh_mspan_frees_pending(t)) continue;
    uint32_t n = t->local_frees + 1;
    if (n > most) most = n, best = i;
  }
  return best;
}

/*
 * Go: mcache.go:(*mcache).refill. Makes c->alloc[sc] a span with a free slot;
 * returns it, or NULL when the heap is exhausted. Sweeping the cached span with
 * the most frees pending gives the most slots per sweep: first the current
 * span or a spare, whichever has more; then a span from the mcentral (the full
 * current span becoming a spare).
 */
gh_mspan *gh_mcache_refill(gh_mcache *c, gh_spanclass sc) {
  gh_mspan *s = c->alloc[sc];
  int i = best_spare(c, sc);
  bool cur = s != &gh_emptyspan && gh_mspan_frees_pending(s);
  if (i >= 0 && (!cur || c->spare[sc][i]->local_frees > s->local_frees)) { /* swap them */
    gh_mspan *t = c->spare[sc][i];
    set_slot(&c->alloc[sc], &gh_emptyspan);
    set_slot(&c->spare[sc][i], s != &gh_emptyspan ? s : NULL);
    set_slot(&c->alloc[sc], t);
    s = t;
    cur = true;
  }
  if (cur) {
    gh_mspan_sweep(s, c->local_stats);
    gh_mspan_allocate_black(s); /* slots freed by the sweep are allocated from next */
    if (s->alloc_count < s->nelems) return s;
  }
  if (s != &gh_emptyspan) {
    set_slot(&c->alloc[sc], &gh_emptyspan);
    retire(c, sc, s);
  }
  s = gh_mcentral_cache_span(&gh_central[sc], c);
  if (!s) return NULL;
  if (GH_DEBUG) gh_mspan_check(s);
  set_slot(&c->alloc[sc], s);
  return s;
}

static void uncache(gh_mcache *c, gh_spanclass sc, gh_mspan *s) {
  gh_mspan_sweep(s, c->local_stats);
  gh_mcentral_uncache_span(&gh_central[sc], s);
}

/* Go: mcache.go:(*mcache).releaseAll. Gives every cached span back. */
void gh_mcache_release_all(gh_mcache *c) {
  for (uint32_t sc = 0; sc < GH_NUM_SPAN_CLASSES; sc++) {
    gh_mspan *s = c->alloc[sc];
    set_slot(&c->alloc[sc], &gh_emptyspan);
    if (s != &gh_emptyspan) uncache(c, (gh_spanclass)sc, s);
    for (int i = 0; i < GH_MCACHE_SPARES; i++) {
      gh_mspan *t = c->spare[sc][i];
      set_slot(&c->spare[sc][i], NULL);
      if (t) uncache(c, (gh_spanclass)sc, t);
    }
  }
}

void gh_mcache_recount_all(gh_mcache *c) {
  for (uint32_t sc = 0; sc < GH_NUM_SPAN_CLASSES; sc++) {
    if (c->alloc[sc] != &gh_emptyspan && gh_spanclass_sizeclass((gh_spanclass)sc)) gh_mspan_recount(c->alloc[sc]);
    for (int i = 0; i < GH_MCACHE_SPARES; i++)
      if (c->spare[sc][i]) gh_mspan_recount(c->spare[sc][i]);
  }
}

/* Sweeps a cached span if frees are pending, and counts its allocations. */
static void settle(gh_mcache *c, gh_mspan *s) {
  if (gh_mspan_frees_pending(s)) gh_mspan_sweep(s, c->local_stats);
  else gh_mspan_flush_nmalloc(s, c->local_stats);
}

/* Brings the counts of this thread's cached spans up to date (for
 * gh_read_stats): the frees made to them are counted when swept. */
void gh_mcache_flush_stats(gh_mcache *c) {
  for (uint32_t sc = 0; sc < GH_NUM_SPAN_CLASSES; sc++) {
    if (c->alloc[sc] != &gh_emptyspan) settle(c, c->alloc[sc]);
    for (int i = 0; i < GH_MCACHE_SPARES; i++)
      if (c->spare[sc][i]) settle(c, c->spare[sc][i]);
  }
}
