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
 * that took it off its mcentral's unswept list (mcentral.c): cacheSpan, a free
 * with a backlog, the background sweeper below, or the next collection, which
 * finishes the sweep before it marks (Go: finishsweep_m).
 *
 * After a collection, sweeping a collected span also applies its mark bits:
 * an allocated, unmarked object is garbage. The new alloc bits are the marked,
 * not explicitly freed objects, and the mark bits are cleared for the next
 * cycle (Go swaps the two bitmaps; goheap keeps them in place and clears).
 */
#include "internal.h"

static void report_bad_bits(gh_mspan *s, uint32_t w, uint64_t bad) {
  uint32_t i = w * 64 + gh_ctz64(bad);
  gh_report_bad_pointer("free", s->start_addr + (uintptr_t)i * s->elemsize, GH_BAD_DOUBLE_FREE, s, 0);
}

/*
 * Merges the pending frees of a span the caller owns; returns the number of
 * slots freed. Afterwards freeindex is 0, alloc_bits is exact, and the frees
 * are counted in the class's stats. Two frees of one slot that raced past the
 * checks in free() (one by the owner, one remote) are reported here.
 *
 * An explicit sweep reads the remote bitmap only if xqueued is set: a remote
 * free that finds xqueued clear sets it after publishing its bit, so a bit
 * this sweep skips is merged by a later one. So a sweep without remote frees
 * needs no atomic read-modify-write; the freed bits are counted one by one
 * (they are few). A bit can be skipped with xqueued left clear: a free that
 * read xqueued set (not queueing) ORs its bit after this sweep cleared
 * xqueued and read that word. Harmless while the slot stays allocated; but a
 * collection's sweep also frees unmarked slots, and one that skipped such a
 * bit would leave it on a free slot, to free the slot's next object later
 * (stress_fork_finalizers: "double free" of finalizer records). So a
 * collection's sweep (gc) always reads the remote bitmap.
 *
 * A freed slot must read freed at every instant, to every thread (gh_base,
 * free's double-free checks): its free bit is cleared only after the new
 * alloc bits and freeindex are published (release), and readers test the free
 * bits first (acquire: mspan.c:gh_mspan_is_live). The remote bits taken are
 * kept in `taken` until then and cleared by AND, not exchange: a remote free
 * landing meanwhile keeps its bit for the next sweep. (free_bits need no copy:
 * only the owner, the caller, writes them.)
 */
static uint32_t sweep(gh_mspan *s, gh_class_stats *counts, bool gc, uint32_t *counted) {
  uint32_t nwords = gh_span_bitmap_words(s), nfreed = 0, ncounted = 0, fi = s->freeindex;
  uint64_t taken[GH_MAX_BITMAP_WORDS];
  bool queued = gh_atomic_load_seq(&s->xqueued), remote = queued || gc;
  gh_mspan_flush_nmalloc(s, counts);
  if (queued) gh_atomic_store_seq(&s->xqueued, 0); /* later frees queue it again */
  for (uint32_t w = 0; w < nwords; w++) {
    uint64_t local = s->free_bits[w], rbits = remote ? gh_atomic_load_seq(&s->xremote_free_bits[w]) : 0;
    uint64_t alloc = s->alloc_bits[w] | gh_mspan_allocated_below(fi, w);
    if (gh_unlikely((local & rbits) || ((local | rbits) & ~alloc)))
      report_bad_bits(s, w, (local & rbits) | ((local | rbits) & ~alloc));
    taken[w] = rbits;
    uint64_t explicit = (local | rbits) & alloc, live = alloc & ~explicit;
    if (gc) {
      uint64_t mark = s->gcmark_bits[w];
      s->gcmark_bits[w] = 0;
      ncounted += gh_popcount64(explicit & mark);
      live &= mark;
    } else {
      ncounted += gh_popcount64(explicit);
    }
    gh_atomic_store_release(&s->alloc_bits[w], live);
    nfreed += gh_popcount64(alloc & ~live);
  }
  gh_atomic_store_release(&s->freeindex, 0);
  for (uint32_t w = 0; w < nwords; w++) {
    if (s->free_bits[w]) gh_atomic_store_release(&s->free_bits[w], 0);
    if (taken[w]) gh_atomic_and_seq(&s->xremote_free_bits[w], ~taken[w]);
  }
  if (nfreed) {
    s->needzero = 1;
    gh_stats_count(counts, gh_spanclass_sizeclass(s->spanclass), 0, nfreed);
  }
  s->local_frees = 0;
  s->alloc_count -= nfreed; /* exact by I3: no need to recount the alloc bits */
  s->alloc_count_before_cache = s->alloc_count;
  gh_mspan_refill_alloc_cache(s, 0);
  if (nfreed && gh_span_has_specials(s)) gh_special_sweep(s); /* finalizers of freed objects go */
  if (counted) *counted = ncounted;
  if (GH_DEBUG) gh_mspan_check(s);
  return nfreed;
}

uint32_t gh_mspan_sweep(gh_mspan *s, gh_class_stats *counts) { return sweep(s, counts, false, NULL); }

/* Sweeps a collected span a collection left unswept; returns the slots
 * freed, and in *counted those of them the collection had counted live
 * (marked, then freed explicitly). The caller has claimed the span. */
uint32_t gh_mspan_sweep_gc(gh_mspan *s, uint32_t *counted) { return sweep(s, NULL, true, counted); }

/* A large collected span: dies if the collection did not mark it. */
void gh_mspan_sweep_large(gh_mspan *s, bool gc) {
  bool marked = s->gcmark_bits[0] & 1;
  s->gcmark_bits[0] = 0;
  if (!gc || marked || !gh_mheap_large_dies(s)) return;
  if (gh_span_has_specials(s)) gh_special_drop_all(s);
}

/*
 * Sweeps a span no mcache holds, taken off an unswept list (mcentral.c). If a collection
 * left it unswept (sweepgen h-2), the sweep applies the mark bits; it was
 * counted live by that collection only as far as it was marked, so only the
 * marked objects it frees leave heap_live (mgc.c resets heap_live to the
 * marked bytes). Otherwise an explicit free queued it.
 */
void gh_mspan_sweep_uncached(gh_mspan *s, uint32_t sg) {
  bool gc = gh_spanclass_collected(s->spanclass) && gh_atomic_cas(&s->xsweepgen, sg - 2, sg - 1); /* I5's claim */
  uint32_t counted = 0;
  if (gh_spanclass_is_large(s->spanclass)) gh_mspan_sweep_large(s, gc);
  else if (gc) gh_mspan_sweep_gc(s, &counted);
  else counted = gh_mspan_sweep(s, NULL);
  if (counted) gh_atomic_sub(&gh_heap_live, (uint64_t)counted * s->elemsize);
  if (gc) gh_atomic_store_release(&s->xsweepgen, sg);
}
