/*
 * mgcsweep.c -- sweeping a span. (Go: mgcsweep.go:(*sweepLocked).sweep.)
 *
 * Go sweeps to turn a collection's mark bits into the next alloc bits. goheap
 * also frees explicitly, and sweeping is how an explicit free becomes a
 * reusable slot: free() only records the slot in free_bits (owner thread) or
 * xremote_free_bits (any other thread, one atomic OR), and the sweep merges
 * both into alloc_bits, resets freeindex to 0 and refills the alloc cache,
 * exactly as Go's sweep installs the mark bits. So a freed slot is never on a
 * free list inside user memory, and a double free is a bit found already set.
 *
 * Who sweeps: the owner of the span, i.e. the mcache that caches it (in
 * place, when it runs out of slots: mcache.c:gh_mcache_refill), or the thread
 * that took it off its mcentral's unswept list (mcentral.c). The collector's
 * mark bits will be merged here too.
 */
#include "internal.h"

static uint64_t allocated_below(uint32_t freeindex, uint32_t w) {
  if (freeindex >= (w + 1) * 64) return ~0ull;
  if (freeindex <= w * 64) return 0;
  return (1ull << (freeindex - w * 64)) - 1;
}

static void report_bad_bits(gh_mspan *s, uint32_t w, uint64_t bad) {
  uint32_t i = w * 64 + gh_ctz64(bad);
  gh_report_bad_pointer("free", s->start_addr + (uintptr_t)i * s->elemsize, GH_BAD_DOUBLE_FREE, s, 0);
}

/*
 * Merges the pending frees of a span the caller owns; returns the number of
 * slots freed. Afterwards freeindex is 0, alloc_bits is exact, and the frees
 * are counted in the class's stats. Two frees of one slot that raced past the
 * checks in free() (one by the owner, one remote) are reported here.
 */
uint32_t gh_mspan_sweep(gh_mspan *s) {
  uint32_t nwords = gh_span_bitmap_words(s), count = 0, nfreed = 0;
  gh_mspan_flush_nmalloc(s);
  /* Frees from now on queue the span again. Sequentially consistent, so a free
   * whose bit this sweep misses is ordered after it and sees xqueued == 0. */
  __atomic_store_n(&s->xqueued, 0, __ATOMIC_SEQ_CST);
  for (uint32_t w = 0; w < nwords; w++) {
    uint64_t local = s->free_bits[w], remote = 0;
    if (__atomic_load_n(&s->xremote_free_bits[w], __ATOMIC_SEQ_CST))
      remote = __atomic_exchange_n(&s->xremote_free_bits[w], 0, __ATOMIC_SEQ_CST);
    uint64_t alloc = s->alloc_bits[w] | allocated_below(s->freeindex, w);
    uint64_t freed = (local | remote) & alloc;
    if (gh_unlikely((local & remote) || ((local | remote) & ~alloc))) report_bad_bits(s, w, (local & remote) | ((local | remote) & ~alloc));
    gh_atomic_store_relaxed(&s->free_bits[w], 0);
    alloc &= ~freed;
    gh_atomic_store_release(&s->alloc_bits[w], alloc);
    count += gh_popcount64(alloc);
    nfreed += gh_popcount64(freed);
  }
  if (nfreed) {
    s->needzero = 1;
    gh_atomic_add(&gh_class_stats_tab[gh_spanclass_sizeclass(s->spanclass)].nfree, nfreed);
  }
  gh_atomic_store_release(&s->freeindex, 0);
  s->alloc_count = count;
  s->alloc_count_before_cache = count;
  gh_mspan_refill_alloc_cache(s, 0);
  return nfreed;
}
