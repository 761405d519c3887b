/*
 * mheap.c -- the page heap: arenas, the arena index, spans of pages.
 * (Go: mheap.go, malloc.go:(*mheap).sysAlloc, mem.go.) See malloc.c for the overview.
 *
 * Address space comes in 64 MiB arenas reserved PROT_NONE, preferably one
 * after another from Go's hint address 0xc000000000, so the heap stays compact.
 * Pages are committed in 4 MiB steps as the heap grows (Go: curArena).
 * Every arena has a gh_heaparena with the page -> span map and the page
 * allocator's bitmaps; the two-level index gh_heap.arenas maps an arena number
 * (address >> 26) to it, so spanOf(p) is a range check and three dependent loads.
 *
 * Span structs and their bitmaps come from fixallocs, never from the heap.
 * Freed spans' pages go back to the page allocator; mgcscavenge.c returns
 * free pages above the retain limit (GOHEAP_RETAIN / GOHEAP_RETAIN_PERCENT)
 * to the OS from a background thread.
 *
 * Lock: gh_heap.lock protects the page allocator, the arena list, the fixallocs
 * and the page counters. It ranks below every mcentral lock.
 */
#include <string.h>

#include "internal.h"

GH_DATA gh_mheap gh_heap = {.lock = GH_MUTEX_INIT(GH_RANK_HEAP)};

const char *const gh_span_state_names[GH_SPAN_STATE_COUNT] = {"mSpanDead", "mSpanInUse"};

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define ARENA_HINT ((uintptr_t)0) /* sanitizers own fixed parts of the address space */
#else
#define ARENA_HINT ((uintptr_t)0xc000000000) /* Go's arena hint on amd64 */
#endif
#define GROW_STEP_PAGES ((uintptr_t)GH_CHUNK_PAGES) /* commit 4 MiB at a time */

static GH_DATA gh_fixalloc span_alloc;
static GH_DATA gh_fixalloc mcache_alloc; /* Go: mheap_.cachealloc */
static GH_DATA gh_fixalloc bitmap_alloc[GH_MAX_BITMAP_WORDS + 1]; /* by words per bitmap */
static GH_DATA uintptr_t cur_base, cur_end; /* reserved, not yet committed (Go: curArena) */
/* Spans freed during a concurrent mark (heap lock): a mark worker may still
 * be reading one (its page-map entry was read before it was cleared), so the
 * struct and its bitmaps are recycled only at mark termination. Linked by next. */
static GH_DATA gh_mspan *limbo;

void gh_mheap_init(void) {
  gh_fixalloc_init(&span_alloc, sizeof(gh_mspan));
  gh_fixalloc_init(&mcache_alloc, sizeof(gh_mcache));
  for (uint32_t w = 1; w <= GH_MAX_BITMAP_WORDS; w++) gh_fixalloc_init(&bitmap_alloc[w], 4 * w * 8);
  gh_heap.next_hint = ARENA_HINT;
}

/* ---- growing (Go: mheap.go:(*mheap).grow, malloc.go:sysAlloc) -------------- */

/* The L2 block of the arena index that holds arena number i, mapped if need be. */
static gh_heaparena **index_block_locked(uintptr_t i) {
  gh_assert_held(&gh_heap.lock);
  gh_heaparena ***slot = &gh_heap.arenas[i >> GH_ARENA_L2_BITS];
  if (!*slot) {
    gh_heaparena **l2 = gh_persistent_alloc(GH_ARENA_L2_ENTRIES * sizeof *l2);
    if (!l2) return NULL;
    gh_atomic_store_release(slot, l2);
  }
  return *slot;
}

static bool add_arena_locked(uintptr_t base) {
  gh_assert_held(&gh_heap.lock);
  gh_heaparena **l2 = index_block_locked(base >> GH_ARENA_SHIFT);
  gh_heaparena *a = l2 ? gh_persistent_alloc(sizeof(gh_heaparena)) : NULL;
  if (!a) return false;
  a->base = base;
  gh_pagealloc_init_arena(a);
  if (gh_heap.narenas == gh_heap.arenas_cap) {
    uint32_t cap = gh_heap.arenas_cap ? gh_heap.arenas_cap * 2 : 64;
    gh_heaparena **n = gh_persistent_alloc(cap * sizeof *n); /* the old array is leaked: tiny */
    if (!n) return false;
    if (gh_heap.narenas) memcpy(n, gh_heap.all_arenas, gh_heap.narenas * sizeof *n);
    gh_heap.all_arenas = n;
    gh_heap.arenas_cap = cap;
  }
  uint32_t i = gh_heap.narenas++;
  while (i > 0 && gh_heap.all_arenas[i - 1]->base > base) {
    gh_heap.all_arenas[i] = gh_heap.all_arenas[i - 1];
    i--;
  }
  gh_heap.all_arenas[i] = a;
  if (i < gh_heap.search_arena) gh_heap.search_arena = i;
  gh_atomic_store_release(&l2[(base >> GH_ARENA_SHIFT) & (GH_ARENA_L2_ENTRIES - 1)], a);
  return true;
}

static uintptr_t round_up(uintptr_t n, uintptr_t to) { return (n + to - 1) & ~(to - 1); }

/* Extends the current region in place by `more` bytes. */
static bool extend_locked(uintptr_t more) {
  gh_assert_held(&gh_heap.lock);
  if (!cur_end || !gh_os_reserve((void *)cur_end, more)) return false;
  cur_end += more;
  return true;
}

/* A fresh region of at least `bytes`: whole arenas at the hint, or aligned
 * anywhere, or, when the address space is short (RLIMIT_AS, a sandbox), just
 * `bytes` anywhere: a region may start and end mid-arena. *n gets its size. */
static void *new_region(uintptr_t bytes, uintptr_t *n) {
  *n = round_up(bytes, GH_ARENA_SIZE);
  void *p = gh_heap.next_hint ? gh_os_reserve((void *)gh_heap.next_hint, *n) : NULL;
  if (!p) p = gh_os_reserve_aligned(*n, GH_ARENA_SIZE);
  if (!p) p = gh_os_reserve(NULL, *n = bytes);
  if (p && (uintptr_t)p + *n > (uintptr_t)1 << GH_ADDR_BITS) {
    gh_os_release(p, *n);
    return NULL;
  }
  return p;
}

/* Reserves address space for at least `bytes` more (a multiple of the grow
 * step), contiguous with the current region if possible (Go: sysReserve at
 * the arena hints). The unused rest of a region that is left behind is
 * given back, so none of the address space goheap holds is wasted. */
static bool reserve_locked(uintptr_t bytes) {
  gh_assert_held(&gh_heap.lock);
  uintptr_t more = bytes - (cur_end - cur_base);
  if (extend_locked(round_up(more, GH_ARENA_SIZE)) || extend_locked(more)) return true;
  uintptr_t n;
  void *p = new_region(bytes, &n);
  if (!p) return false;
  if (cur_end > cur_base) gh_os_release((void *)cur_base, cur_end - cur_base);
  cur_base = (uintptr_t)p;
  cur_end = cur_base + n;
  if (gh_heap.next_hint) gh_heap.next_hint = round_up(cur_end, GH_ARENA_SIZE);
  return true;
}

/* Gives every arena touched by [lo, hi) its metadata, once. */
static bool add_arenas_locked(uintptr_t lo, uintptr_t hi) {
  gh_assert_held(&gh_heap.lock);
  for (uintptr_t b = lo & ~(GH_ARENA_SIZE - 1); b < hi; b += GH_ARENA_SIZE)
    if (!gh_arena_of(b) && !add_arena_locked(b)) return false;
  return true;
}

/* Go: mheap.go:(*mheap).grow. Commits at least npages more pages, in 4 MiB
 * steps, and hands them to the page allocator. */
static bool grow_locked(uintptr_t npages) {
  gh_assert_held(&gh_heap.lock);
  uintptr_t ask = (npages + GROW_STEP_PAGES - 1) & ~(GROW_STEP_PAGES - 1);
  if (ask < npages || ask > (GH_MAX_ALLOC >> GH_PAGE_SHIFT)) return false;
  uintptr_t bytes = ask << GH_PAGE_SHIFT;
  if (cur_end - cur_base < bytes && !reserve_locked(bytes)) return false;
  if (gh_os_commit((void *)cur_base, bytes) != 0) return false;
  if (!add_arenas_locked(cur_base, cur_base + bytes)) {
    gh_os_decommit((void *)cur_base, bytes);
    return false;
  }
  gh_barrier_committed_locked(cur_base, cur_base + bytes);
  gh_pagealloc_grow_locked(cur_base, ask);
  cur_base += bytes;
  gh_heap.pages_committed += ask;
  gh_heap.pages_free += ask;
  gh_heap.pages_released += ask;
  return true;
}

/* ---- spans ---------------------------------------------------------------- */

/* Relaxed stores: a concurrent mark reads the page map (each_span_in, mark_word). */
static void set_span_map(gh_mspan *s, gh_mspan *value) {
  uintptr_t p = s->start_addr, end = p + ((uintptr_t)s->npages << GH_PAGE_SHIFT);
  for (; p < end; p += GH_PAGE_SIZE)
    gh_atomic_store_relaxed(gh_arena_span_slot(gh_arena_of(p), p), value);
}

gh_mcache *gh_mheap_alloc_mcache(void) {
  gh_mutex_lock(&gh_heap.lock);
  gh_mcache *c = gh_fixalloc_alloc(&mcache_alloc);
  gh_mutex_unlock(&gh_heap.lock);
  return c;
}

void gh_mheap_free_mcache(gh_mcache *c) {
  gh_mutex_lock(&gh_heap.lock);
  gh_fixalloc_free(&mcache_alloc, c);
  gh_mutex_unlock(&gh_heap.lock);
}

/*
 * Takes npages pages aligned to align_pages, growing the heap if allowed.
 * *released gets the number of pages taken off the released count; *zeroed
 * whether all the pages kept are known to read as zero.
 */
static uintptr_t alloc_pages_locked(uintptr_t npages, uintptr_t align_pages, bool may_grow, uintptr_t *released,
                                    bool *zeroed) {
  gh_assert_held(&gh_heap.lock);
  uintptr_t total = npages + (align_pages > 1 ? align_pages - 1 : 0);
  if (total < npages) return 0;
  uintptr_t base = gh_pagealloc_alloc_locked(total, released);
  if (!base && may_grow && grow_locked(total)) base = gh_pagealloc_alloc_locked(total, released);
  *zeroed = base && *released == total;
  if (!base || align_pages <= 1) return base;
  uintptr_t align = align_pages << GH_PAGE_SHIFT;
  uintptr_t abase = (base + align - 1) & ~(align - 1);
  uintptr_t head = (abase - base) >> GH_PAGE_SHIFT, tail = total - head - npages;
  if (head) gh_pagealloc_free_locked(base, head); /* now dirty as far as the bitmaps know */
  if (tail) gh_pagealloc_free_locked(abase + (npages << GH_PAGE_SHIFT), tail);
  return abase;
}

/*
 * Go: mheap.go:(*mheap).allocSpan. A new in-use span of npages pages whose
 * start is aligned to align_pages pages (0 or 1: no constraint), with its
 * bitmaps; NULL when the OS refuses memory. Before growing the heap, queued
 * spans are swept so their free pages are used first (Go: mheap.reclaim).
 */
gh_mspan *gh_mheap_alloc_span(uintptr_t npages, gh_spanclass sc, uintptr_t align_pages) {
  uint32_t nwords = gh_spanclass_sizeclass(sc) ? (gh_class_nelems(gh_spanclass_sizeclass(sc)) + 63) / 64 : 1;
  uintptr_t scav = 0;
  bool zeroed = false;
  gh_mutex_lock(&gh_heap.lock);
  uintptr_t base = alloc_pages_locked(npages, align_pages, false, &scav, &zeroed);
  if (!base) { /* sweep queued spans, then grow */
    gh_mutex_unlock(&gh_heap.lock);
    gh_mheap_reclaim(npages);
    gh_mutex_lock(&gh_heap.lock);
    base = alloc_pages_locked(npages, align_pages, true, &scav, &zeroed);
  }
  gh_mspan *s = base ? gh_fixalloc_alloc(&span_alloc) : NULL;
  uint64_t *bits = !s ? NULL : nwords == 1 ? s->inline_bits : gh_fixalloc_alloc(&bitmap_alloc[nwords]);
  if (!bits) {
    if (s) gh_fixalloc_free(&span_alloc, s);
    if (base) gh_pagealloc_free_locked(base, npages);
    gh_mutex_unlock(&gh_heap.lock);
    return NULL;
  }
  gh_heap.pages_inuse += npages;
  gh_heap.pages_free -= npages;
  gh_heap.pages_released -= scav;
  gh_scavenge_taken_locked();
  if (gh_atomic_load_relaxed(&gh_gc_marking)) gh_barrier_fresh_locked(base, npages);
  uint32_t sweepgen = gh_atomic_load_relaxed(&gh_heap.xsweepgen);
  gh_mutex_unlock(&gh_heap.lock);

  s->start_addr = base;
  s->speciallock = (gh_mutex)GH_MUTEX_INIT(GH_RANK_SPECIAL);
  s->npages = (uint32_t)npages;
  s->spanclass = sc;
  s->needzero = !zeroed;
  s->alloc_bits = bits;
  s->free_bits = bits + nwords;
  s->xremote_free_bits = bits + 2 * nwords;
  s->gcmark_bits = bits + 3 * nwords;
  s->xsweepgen = sweepgen;
  set_span_map(s, s);
  return s; /* the caller finishes the layout and publishes xstate */
}

/* Unlocks the heap after pages went free: the scavenger hears of it. */
static void unlock_after_free(void) {
  bool wake;
  uint64_t now = gh_scavenge_freed_locked(&wake);
  gh_mutex_unlock(&gh_heap.lock);
  if (wake) gh_scavenge_wake();
  if (now) gh_mheap_scavenge(now);
}

static void recycle_locked(gh_mspan *s, uint32_t nwords) {
  gh_assert_held(&gh_heap.lock);
  if (s->alloc_bits != s->inline_bits) gh_fixalloc_free(&bitmap_alloc[nwords], s->alloc_bits);
  gh_fixalloc_free(&span_alloc, s);
}

/* Go: mheap.go:(*mheap).freeSpan. The span must be owned by the caller. */
void gh_mheap_free_span(gh_mspan *s) {
  GH_ASSERT(gh_span_of(s->start_addr) == s && gh_span_of(s->start_addr + ((uintptr_t)s->npages << GH_PAGE_SHIFT) - 1) == s,
            "I6: a span being freed is mapped by its pages");
  gh_atomic_store_release(&s->xstate, GH_SPAN_DEAD);
  set_span_map(s, NULL);
  uint32_t nwords = gh_span_bitmap_words(s);
  gh_mutex_lock(&gh_heap.lock);
  gh_pagealloc_free_locked(s->start_addr, s->npages);
  gh_heap.pages_inuse -= s->npages;
  gh_heap.pages_free += s->npages;
  if (gh_atomic_load_relaxed(&gh_gc_marking)) {
    s->next = limbo;
    limbo = s;
  } else {
    recycle_locked(s, nwords);
  }
  unlock_after_free();
}

/* World stopped, at a concurrent mark's termination: no worker reads the
 * spans freed during the mark any more. */
void gh_mheap_end_mark(void) {
  gh_mutex_lock(&gh_heap.lock);
  while (limbo) {
    gh_mspan *s = limbo;
    limbo = s->next;
    recycle_locked(s, gh_span_bitmap_words(s));
  }
  gh_mutex_unlock(&gh_heap.lock);
}

/* A large span's object dies: its state goes to DEAD once. false if it
 * already had (a double free, or a sweep got there first). */
bool gh_mheap_large_dies(gh_mspan *s) {
  if (!gh_atomic_cas(&s->xstate, (uint8_t)GH_SPAN_IN_USE, (uint8_t)GH_SPAN_DEAD)) return false;
  gh_atomic_add(&gh_large_nfree, 1);
  gh_atomic_sub(&gh_large_bytes, s->elemsize);
  return true;
}

/* Frees a large malloc'd object; false if it was not live (a double free).
 * Collected ones sit on an mcentral list: gh_mcentral_free_large. */
bool gh_mheap_free_large(gh_mspan *s) {
  if (!gh_mheap_large_dies(s)) return false;
  gh_atomic_sub(&gh_heap_live, s->elemsize);
  gh_mheap_free_span(s);
  return true;
}

/* Extends a large span over the free pages right after it (for realloc). */
bool gh_mheap_grow_span_in_place(gh_mspan *s, uintptr_t new_npages) {
  uintptr_t extra = new_npages - s->npages, scav = 0;
  uintptr_t next = s->start_addr + ((uintptr_t)s->npages << GH_PAGE_SHIFT);
  gh_mutex_lock(&gh_heap.lock);
  bool ok = gh_pagealloc_alloc_at_locked(next, extra, &scav);
  if (ok && gh_atomic_load_relaxed(&gh_gc_marking)) gh_barrier_fresh_locked(next, extra);
  if (ok) {
    gh_heap.pages_inuse += extra;
    gh_heap.pages_free -= extra;
    gh_heap.pages_released -= scav;
    gh_scavenge_taken_locked();
  }
  gh_mutex_unlock(&gh_heap.lock);
  if (!ok) return false;
  s->npages = (uint32_t)new_npages;
  s->elemsize = (uintptr_t)new_npages << GH_PAGE_SHIFT;
  set_span_map(s, s);
  return true;
}

/* Gives the pages of a large span beyond new_npages back (for realloc). */
void gh_mheap_shrink_span(gh_mspan *s, uintptr_t new_npages) {
  uintptr_t extra = s->npages - new_npages;
  uintptr_t tail = s->start_addr + (new_npages << GH_PAGE_SHIFT);
  for (uintptr_t p = tail; p < tail + (extra << GH_PAGE_SHIFT); p += GH_PAGE_SIZE)
    *gh_arena_span_slot(gh_arena_of(p), p) = NULL;
  s->npages = (uint32_t)new_npages;
  s->elemsize = new_npages << GH_PAGE_SHIFT;
  gh_mutex_lock(&gh_heap.lock);
  gh_pagealloc_free_locked(tail, extra);
  gh_heap.pages_inuse -= extra;
  gh_heap.pages_free += extra;
  unlock_after_free();
}

/* Go: mheap.go:(*mheap).reclaim. Sweeps unswept spans (a collection's, or
 * those explicit frees queued) until `pages` pages went back to the heap, so
 * garbage returns its pages before the heap grows. Returns the pages freed. */
uintptr_t gh_mheap_reclaim(uintptr_t pages) {
  uintptr_t freed = 0;
  for (uint32_t i = 0; i < GH_NUM_SPAN_CLASSES && freed < pages; i++)
    freed += gh_mcentral_reclaim(&gh_central[i], pages - freed);
  return freed;
}

/* ---- walking the spans ------------------------------------------------------- */

void gh_mheap_each_span_in(gh_heaparena *a, uint32_t first, uint32_t n, void (*fn)(gh_mspan *s, void *ctx), void *ctx) {
  for (uint32_t pg = first; pg < first + n && pg < GH_PAGES_PER_ARENA; pg++) {
    gh_mspan *s = gh_atomic_load_relaxed(&a->spans[pg]); /* a concurrent mark reads it while it changes */
    if (s && s->start_addr == a->base + ((uintptr_t)pg << GH_PAGE_SHIFT)) fn(s, ctx);
  }
}

void gh_mheap_each_span(void (*fn)(gh_mspan *s, void *ctx), void *ctx) {
  for (uint32_t a = 0; a < gh_heap.narenas; a++) gh_mheap_each_span_in(gh_heap.all_arenas[a], 0, GH_PAGES_PER_ARENA, fn, ctx);
}

bool gh_mheap_page_is_free(uintptr_t p) {
  gh_heaparena *a = gh_arena_of(p);
  if (!a) return false;
  uint32_t pg = (uint32_t)((p >> GH_PAGE_SHIFT) & (GH_PAGES_PER_ARENA - 1));
  gh_mutex_lock(&gh_heap.lock);
  bool free = !(a->pages.alloc[pg / 64] >> (pg % 64) & 1);
  gh_mutex_unlock(&gh_heap.lock);
  return free;
}

/* Does page-map entry s hold the page at addr (I6)? */
static bool span_holds_page(const gh_mspan *s, uintptr_t addr) {
  return s->xstate == GH_SPAN_IN_USE && addr >= s->start_addr &&
         addr < s->start_addr + ((uintptr_t)s->npages << GH_PAGE_SHIFT);
}

static uintptr_t page_addr(const gh_heaparena *a, uint32_t pg) { return a->base + ((uintptr_t)pg << GH_PAGE_SHIFT); }

/* The page counters as the page map and the page bitmaps have them. */
static void count_pages(uint64_t *inuse, uint64_t *free, uint64_t *released) {
  *inuse = *free = *released = 0;
  for (uint32_t ai = 0; ai < gh_heap.narenas; ai++) {
    gh_heaparena *a = gh_heap.all_arenas[ai];
    for (uint32_t pg = 0; pg < GH_PAGES_PER_ARENA; pg++) {
      gh_mspan *s = a->spans[pg];
      if (s && s->start_addr == page_addr(a, pg)) *inuse += s->npages;
      bool is_free = !(a->pages.alloc[pg / 64] >> (pg % 64) & 1);
      *free += is_free;
      *released += is_free && (a->pages.scav[pg / 64] >> (pg % 64) & 1);
    }
  }
}

/* A fork child, before anything else: threads that did not survive may have
 * been mapping or unmapping a span's pages (outside the heap lock). Page-map
 * entries that name a dead span or one that does not hold the page are
 * cleared (those pages stay lost). */
/* A thread that did not survive may have held a span's specials lock (a
 * heap-profile record being added to a malloc'd span): free again, before
 * anything in the child sweeps; its insertion cursor may point at a record
 * not linked yet, so the next insertion starts from the list's head. */
static void reset_specials(gh_mspan *s, void *unused) {
  (void)unused;
  gh_mutex_reset(&s->speciallock);
  s->specials_cursor = NULL;
}

void gh_mheap_fork_child_repair(void) {
  for (uint32_t ai = 0; ai < gh_heap.narenas; ai++) {
    gh_heaparena *a = gh_heap.all_arenas[ai];
    for (uint32_t pg = 0; pg < GH_PAGES_PER_ARENA; pg++)
      if (a->spans[pg] && !span_holds_page(a->spans[pg], page_addr(a, pg))) a->spans[pg] = NULL;
  }
  gh_mheap_each_span(reset_specials, NULL);
}

/* A fork child, last: a thread that did not survive may have been between
 * taking pages (or taking them to release them) and mapping its span. Those
 * pages stay lost; the counters are rebuilt so that they agree with the page
 * map and the bitmaps (and gh_mheap_check holds) again. */
void gh_mheap_fork_child_recount(void) {
  count_pages(&gh_heap.pages_inuse, &gh_heap.pages_free, &gh_heap.pages_released);
  gh_heap.pages_scavenging = 0; /* a scavenge that did not survive the fork: its pages are lost */
}

/* ---- checking --------------------------------------------------------------- */

void gh_mheap_check(void) {
  gh_mutex_lock(&gh_heap.lock);
  gh_pagealloc_check_locked();
  for (uint32_t ai = 0; ai < gh_heap.narenas; ai++) {
    gh_heaparena *a = gh_heap.all_arenas[ai];
    for (uint32_t pg = 0; pg < GH_PAGES_PER_ARENA; pg++) {
      bool used = a->pages.alloc[pg / 64] >> (pg % 64) & 1;
      gh_mspan *s = a->spans[pg];
      if (s && (!span_holds_page(s, page_addr(a, pg)) || !used))
        gh_throw2("mheap: page map names a span that does not hold the page", "page", page_addr(a, pg));
    }
  }
  uint64_t inuse, free, released;
  count_pages(&inuse, &free, &released);
  if (free + gh_heap.pages_scavenging != gh_heap.pages_free || inuse != gh_heap.pages_inuse) /* the scavenger's
                                                                     pages read as taken while madvise runs */
    gh_throw2("mheap: page counters disagree with the bitmaps", "free pages", free);
  gh_mutex_unlock(&gh_heap.lock);
}
