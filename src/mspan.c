/*
 * mspan.c -- a span's slots and bitmaps. (Go: mbitmap.go:nextFreeIndex,
 * refillAllocCache, countAlloc, isFree; mheap.go:(*mspan).init.)
 * See internal.h for the invariants I1-I6 these functions keep.
 *
 * Only the span's owner calls the functions that change it; gh_mspan_is_allocated
 * may be called by any thread (it reads with atomics) to validate a free.
 */
#include "internal.h"

/* Go: mheap.go:(*mheap).initSpan for a small-object span: all slots free. */
void gh_mspan_init_small(gh_mspan *s, gh_spanclass sc) {
  uint32_t c = gh_spanclass_sizeclass(sc);
  s->elemsize = gh_class_size(c);
  s->nelems = gh_class_nelems(c);
  s->div_mul = gh_class_to_divmagic[c];
  s->limit = s->start_addr + (uintptr_t)s->nelems * s->elemsize;
  s->freeindex = 0;
  s->alloc_count = 0;
  s->alloc_count_before_cache = 0;
  gh_mspan_refill_alloc_cache(s, 0);
}

/* The free slots of bitmap word `word` as the alloc cache holds them: ~alloc_bits,
 * without the bits past nelems (so the fast path needs no bound check). */
uint64_t gh_mspan_cache_word(const gh_mspan *s, uint32_t word) {
  uint64_t free = ~gh_atomic_load_relaxed(&s->alloc_bits[word]);
  uint32_t left = s->nelems - word * 64;
  return left < 64 ? free & ((1ull << left) - 1) : free;
}

/*
 * Allocate black, in bulk (Go: gcmarknewobject marks each new object). During
 * a concurrent mark, every free slot of a collected span that an mcache is
 * about to allocate from is marked in advance: when the span is cached, and
 * after its owner sweeps it in place. A span is cached only after the mark's
 * start stop (which flushed every cache), so no allocation of the mark escapes;
 * a mark on a slot that stays free means nothing (a sweep keeps allocated,
 * marked slots only). Slots below freeindex are allocated already: their
 * objects are the mark's to find, not black.
 */
void gh_mspan_allocate_black(gh_mspan *s) {
  if (!gh_atomic_load_relaxed(&gh_gc_marking) || !gh_spanclass_collected(s->spanclass)) return;
  for (uint32_t w = 0; w < gh_span_bitmap_words(s); w++) {
    uint64_t free = gh_mspan_cache_word(s, w) & ~gh_mspan_allocated_below(s->freeindex, w);
    if (free) gh_atomic_or(&s->gcmark_bits[w], free); /* mark workers set other bits of the word */
  }
}

/* Zeroes the span's mark bits (I7). */
void gh_mspan_clear_marks(gh_mspan *s) {
  __builtin_memset(s->gcmark_bits, 0, gh_span_bitmap_words(s) * sizeof(uint64_t));
}

/* Go: mbitmap.go:refillAllocCache. Loads word `word`'s free slots into the cache. */
void gh_mspan_refill_alloc_cache(gh_mspan *s, uint32_t word) { s->alloc_cache = gh_mspan_cache_word(s, word); }

/*
 * Go: mbitmap.go:nextFreeIndex. The index of the next free slot at or after
 * freeindex, or nelems if none; consumes it (advances freeindex past it).
 */
uint32_t gh_mspan_next_free_index(gh_mspan *s) {
  uint32_t sfreeindex = s->freeindex, snelems = s->nelems;
  if (sfreeindex == snelems) return snelems;
  uint64_t cache = s->alloc_cache;
  if (cache == 0 && sfreeindex % 64 == 0) { /* the fast path took a word's last slot (I2) */
    gh_mspan_refill_alloc_cache(s, sfreeindex / 64);
    cache = s->alloc_cache;
  }
  uint32_t bit = gh_ctz64(cache);
  while (bit == 64) { /* move to the next 64-slot word */
    sfreeindex = (sfreeindex + 64) & ~63u;
    if (sfreeindex >= snelems) {
      gh_atomic_store_relaxed(&s->freeindex, snelems);
      return snelems;
    }
    gh_mspan_refill_alloc_cache(s, sfreeindex / 64);
    cache = s->alloc_cache;
    bit = gh_ctz64(cache);
  }
  uint32_t result = sfreeindex + bit;
  if (result >= snelems) {
    gh_atomic_store_relaxed(&s->freeindex, snelems);
    return snelems;
  }
  s->alloc_cache = (cache >> bit) >> 1; /* two shifts: a shift by 64 is undefined in C */
  sfreeindex = result + 1;
  if (sfreeindex % 64 == 0 && sfreeindex != snelems) gh_mspan_refill_alloc_cache(s, sfreeindex / 64);
  gh_atomic_store_relaxed(&s->freeindex, sfreeindex);
  return result;
}

/* Go: mbitmap.go:countAlloc, over the alloc bits (used by the checker). */
uint32_t gh_mspan_count_alloc(const gh_mspan *s) {
  uint32_t n = 0, nwords = gh_span_bitmap_words(s);
  for (uint32_t w = 0; w < nwords; w++) n += gh_popcount64(s->alloc_bits[w]);
  return n;
}

/* I1 without the pending frees: was slot i handed out since the last sweep
 * or live at it? Safe to call from any thread: the owner's sweep publishes
 * new alloc bits before it resets freeindex (release), read here in the
 * opposite order (acquire). */
bool gh_mspan_is_allocated(const gh_mspan *s, uint32_t i) {
  if (i < gh_atomic_load_acquire(&s->freeindex)) return true;
  return gh_atomic_load_acquire(&s->alloc_bits[i / 64]) >> (i % 64) & 1;
}

/* Slot i holds an object: allocated (I1) and not freed by a free a sweep has
 * not merged yet. Safe from any thread: a sweep clears a free bit only after
 * publishing the alloc bits and freeindex (release, mgcsweep.c), so the bits are
 * read first (acquire): a freed slot never reads live. */
bool gh_mspan_is_live(const gh_mspan *s, uint32_t i) {
  uint64_t bit = 1ull << (i % 64);
  if ((gh_atomic_load_acquire(&s->free_bits[i / 64]) | gh_atomic_load_acquire(&s->xremote_free_bits[i / 64])) & bit)
    return false;
  return gh_mspan_is_allocated(s, i);
}

/* Checks I1-I4, I6 and I7 for a swept span the caller owns; aborts on a violation. */
void gh_mspan_check(const gh_mspan *s) {
  uint32_t nwords = gh_span_bitmap_words(s), count = 0;
  if (s->xstate != GH_SPAN_IN_USE) gh_throw2("mspan: checked span is not in use", "span", s->start_addr);
  if (s->freeindex > s->nelems) gh_throw2("mspan: freeindex beyond nelems", "span", s->start_addr);
  for (uint32_t w = 0; w < nwords; w++) {
    uint64_t live = s->alloc_bits[w] | gh_mspan_allocated_below(s->freeindex, w);
    uint64_t tail = w == nwords - 1 && s->nelems % 64 ? ~0ull << (s->nelems % 64) : 0;
    uint64_t remote = gh_atomic_load_relaxed(&s->xremote_free_bits[w]); /* other threads may add bits */
    if ((s->alloc_bits[w] | s->free_bits[w] | remote | s->gcmark_bits[w]) & tail)
      gh_throw2("mspan: bitmap bit set beyond nelems", "span", s->start_addr);
    /* Only the owner's bits: a double free racing this check may set a remote
     * bit on a free slot for an instant (malloc.c:free_remote takes it back). */
    if (s->free_bits[w] & ~live) gh_throw2("mspan: a free slot is marked freed", "span", s->start_addr);
    if (gh_atomic_load_relaxed(&s->gcmark_bits[w]) && !gh_atomic_load_relaxed(&gh_gc_marking))
      gh_throw2("mspan: mark bits set on a swept span (I7)", "span", s->start_addr);
    count += gh_popcount64(live);
  }
  if (count != s->alloc_count) gh_throw2("mspan: alloc_count disagrees with the bitmaps", "span", s->start_addr);
  if (s->freeindex < s->nelems && !(s->freeindex % 64 == 0 && s->alloc_cache == 0)) { /* I2 */
    uint32_t w = s->freeindex / 64, b = s->freeindex % 64;
    uint64_t expect = gh_mspan_cache_word(s, w) >> b;
    if ((s->alloc_cache ^ expect) & (~0ull >> b))
      gh_throw2("mspan: alloc_cache does not mirror alloc_bits", "span", s->start_addr);
  }
  for (uintptr_t p = s->start_addr; p < s->start_addr + ((uintptr_t)s->npages << GH_PAGE_SHIFT); p += GH_PAGE_SIZE)
    if (gh_span_of(p) != s) gh_throw2("mspan: page map does not point at the span", "page", p);
}

/* Recomputes alloc_count from the bitmaps (I3), for a span whose owner may have
 * died in the middle of an update: the fork child's view of other threads.
 * A sweep cut short publishes the new alloc bits before it clears the free bits
 * it merged (mgcsweep.c), so free bits on slots no longer allocated are its
 * leftovers, not double frees: they are dropped. */
void gh_mspan_recount(gh_mspan *s) {
  uint32_t nwords = gh_span_bitmap_words(s), n = 0;
  for (uint32_t w = 0; w < nwords; w++) {
    uint64_t alloc = s->alloc_bits[w] | gh_mspan_allocated_below(s->freeindex, w);
    gh_atomic_store_relaxed(&s->free_bits[w], s->free_bits[w] & alloc);
    gh_atomic_store_relaxed(&s->xremote_free_bits[w], gh_atomic_load_relaxed(&s->xremote_free_bits[w]) & alloc);
    n += gh_popcount64(alloc);
  }
  s->alloc_count = n;
  s->alloc_count_before_cache = n;
  s->local_frees = 1; /* make the next sweep look at the free bits */
}

/* Adds the allocations made from s since it was cached or last swept to the
 * class's malloc count (Go: mcache.go:refill's allocCountBeforeCache). Owner only. */
void gh_mspan_flush_nmalloc(gh_mspan *s, gh_class_stats *local) {
  uint32_t n = s->alloc_count - s->alloc_count_before_cache;
  if (n) gh_stats_count(local, gh_spanclass_sizeclass(s->spanclass), n, 0);
  s->alloc_count_before_cache = s->alloc_count;
}
