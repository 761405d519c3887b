/*
 * mpagealloc.c -- the page allocator: which 8 KiB pages of the heap are free.
 * (Go: mpagealloc.go, mpallocbits.go, mgcscavenge.go's scavenged bitmap.)
 *
 * Every arena carries two bitmaps with one bit per page (gh_pallocdata):
 * `alloc` (1 = in use by a span, or not yet committed) and `scav` (1 = free
 * and released to the OS, so it reads as zero). Each 512-page chunk has a
 * summary (Go's pallocSum): free pages at its start, its longest free run,
 * free pages at its end. Finding n free pages walks the chunk summaries in
 * address order from the lowest arena that may have free pages, carrying a
 * free run across chunk (and adjacent-arena) boundaries, and looks inside a
 * chunk's bitmap only when its summary says the run fits there: first fit,
 * lowest address, like Go. Freeing clears bits; coalescing is implicit,
 * since a free run is just consecutive zero bits.
 *
 * Go keeps a radix tree of summaries over the whole address space; goheap's
 * heap is a handful of arenas, so one level of summaries per arena suffices.
 *
 * Everything here runs with the heap lock held (gh_heap.lock).
 */
#include "internal.h"

/* ---- bit ranges ---------------------------------------------------------- */

static void bits_assign(uint64_t *w, uintptr_t start, uintptr_t n, bool one) {
  while (n > 0) {
    uintptr_t i = start / 64, b = start % 64, k = 64 - b < n ? 64 - b : n;
    uint64_t mask = (k == 64 ? ~0ull : ((1ull << k) - 1)) << b;
    w[i] = one ? w[i] | mask : w[i] & ~mask;
    start += k;
    n -= k;
  }
}

static uintptr_t bits_count(const uint64_t *w, uintptr_t start, uintptr_t n) {
  uintptr_t c = 0;
  while (n > 0) {
    uintptr_t i = start / 64, b = start % 64, k = 64 - b < n ? 64 - b : n;
    uint64_t mask = (k == 64 ? ~0ull : ((1ull << k) - 1)) << b;
    c += gh_popcount64(w[i] & mask);
    start += k;
    n -= k;
  }
  return c;
}

/* Longest run of one bits in x (at most 64 rounds of x &= x << 1). */
static uint32_t longest_ones(uint64_t x) {
  uint32_t k = 0;
  while (x) {
    x &= x << 1;
    k++;
  }
  return k;
}

/* ---- chunk summaries (Go: mpallocbits.go:pallocBits.summarize) ------------ */

static gh_pallocsum summarize(const uint64_t *w) {
  gh_pallocsum s = {0, 0, 0};
  uint32_t i, cur = 0, max = 0;
  for (i = 0; i < GH_CHUNK_WORDS && w[i] == 0; i++) s.start += 64;
  if (i < GH_CHUNK_WORDS) s.start += gh_ctz64(w[i]);
  for (i = GH_CHUNK_WORDS; i > 0 && w[i - 1] == 0; i--) s.end += 64;
  if (i > 0) s.end += (uint32_t)__builtin_clzll(w[i - 1]);
  for (i = 0; i < GH_CHUNK_WORDS; i++) {
    uint64_t x = w[i];
    if (x == 0) {
      cur += 64;
      continue;
    }
    cur += gh_ctz64(x);
    if (cur > max) max = cur;
    uint32_t inner = longest_ones(~x);
    if (inner > max) max = inner;
    cur = (uint32_t)__builtin_clzll(x);
  }
  if (cur > max) max = cur;
  s.max = (uint16_t)max;
  return s;
}

static void update_summaries(gh_heaparena *a, uintptr_t first_page, uintptr_t npages) {
  uintptr_t c0 = first_page / GH_CHUNK_PAGES, c1 = (first_page + npages - 1) / GH_CHUNK_PAGES;
  for (uintptr_t c = c0; c <= c1; c++) a->pages.sum[c] = summarize(&a->pages.alloc[c * GH_CHUNK_WORDS]);
}

/* ---- per-arena range operations ------------------------------------------- */

/* Calls fn on each arena-local piece of [addr, addr + npages pages). */
typedef void (*range_fn)(gh_heaparena *a, uintptr_t first, uintptr_t n, void *arg);

static void for_each_piece(uintptr_t addr, uintptr_t npages, range_fn fn, void *arg) {
  while (npages > 0) {
    gh_heaparena *a = gh_arena_of(addr);
    uintptr_t first = (addr - a->base) >> GH_PAGE_SHIFT;
    uintptr_t n = GH_PAGES_PER_ARENA - first < npages ? GH_PAGES_PER_ARENA - first : npages;
    fn(a, first, n, arg);
    addr += n << GH_PAGE_SHIFT;
    npages -= n;
  }
}

static void lower_search_mark(gh_heaparena *a) {
  for (uint32_t i = 0; i < gh_heap.search_arena && i < gh_heap.narenas; i++)
    if (gh_heap.all_arenas[i] == a) {
      gh_heap.search_arena = i;
      return;
    }
}

static void piece_alloc(gh_heaparena *a, uintptr_t first, uintptr_t n, void *arg) {
  uintptr_t *scav = arg;
  uintptr_t k = bits_count(a->pages.scav, first, n);
  if (k) {
    *scav += k;
    bits_assign(a->pages.scav, first, n, false);
  }
  bits_assign(a->pages.alloc, first, n, true);
  update_summaries(a, first, n);
}

static void piece_free(gh_heaparena *a, uintptr_t first, uintptr_t n, void *arg) {
  (void)arg;
  bits_assign(a->pages.alloc, first, n, false);
  update_summaries(a, first, n);
  lower_search_mark(a);
}

static void piece_grow(gh_heaparena *a, uintptr_t first, uintptr_t n, void *arg) {
  (void)arg;
  bits_assign(a->pages.scav, first, n, true); /* fresh pages are untouched zero pages */
  piece_free(a, first, n, NULL);
}

static void piece_scav(gh_heaparena *a, uintptr_t first, uintptr_t n, void *arg) {
  (void)arg;
  bits_assign(a->pages.scav, first, n, true);
}

static void piece_count_free(gh_heaparena *a, uintptr_t first, uintptr_t n, void *arg) {
  *(uintptr_t *)arg += n - bits_count(a->pages.alloc, first, n);
}

/* ---- finding free pages ----------------------------------------------------- */

/* First run of npages (<= GH_CHUNK_PAGES) zero bits in a chunk's bitmap. */
static uintptr_t find_in_chunk(const uint64_t *w, uintptr_t npages) {
  uintptr_t run = 0, start = 0;
  for (uintptr_t i = 0; i < GH_CHUNK_WORDS; i++) {
    uint64_t x = w[i];
    if (x == ~0ull) {
      run = 0;
      continue;
    }
    if (npages == 1) return i * 64 + gh_ctz64(~x);
    for (uintptr_t b = 0; b < 64; b++) {
      if (x >> b & 1) {
        run = 0;
        continue;
      }
      if (run++ == 0) start = i * 64 + b;
      if (run >= npages) return start;
    }
  }
  gh_throw("page allocator: summary promised a free run the bitmap does not have");
}

/* Advances the search mark past arenas that have no free page at all. */
static void skip_full_arenas(void) {
  while (gh_heap.search_arena < gh_heap.narenas) {
    gh_heaparena *a = gh_heap.all_arenas[gh_heap.search_arena];
    for (uint32_t c = 0; c < GH_CHUNKS_PER_ARENA; c++)
      if (a->pages.sum[c].max > 0) return;
    gh_heap.search_arena++;
  }
}

/* Go: mpagealloc.go:(*pageAlloc).find. Returns the address, 0 if none. */
static uintptr_t find(uintptr_t npages) {
  uintptr_t run = 0, run_start = 0, prev_end = 0;
  skip_full_arenas();
  for (uint32_t ai = gh_heap.search_arena; ai < gh_heap.narenas; ai++) {
    gh_heaparena *a = gh_heap.all_arenas[ai];
    if (a->base != prev_end) run = 0;
    for (uint32_t c = 0; c < GH_CHUNKS_PER_ARENA; c++) {
      gh_pallocsum s = a->pages.sum[c];
      uintptr_t chunk = a->base + ((uintptr_t)c * GH_CHUNK_PAGES << GH_PAGE_SHIFT);
      if (run > 0 && run + s.start >= npages) return run_start;
      if (npages <= GH_CHUNK_PAGES && s.max >= npages)
        return chunk + (find_in_chunk(&a->pages.alloc[c * GH_CHUNK_WORDS], npages) << GH_PAGE_SHIFT);
      if (s.start == GH_CHUNK_PAGES) {
        if (run == 0) run_start = chunk;
        run += GH_CHUNK_PAGES;
        if (run >= npages) return run_start;
      } else {
        run = s.end;
        run_start = chunk + ((uintptr_t)(GH_CHUNK_PAGES - s.end) << GH_PAGE_SHIFT);
      }
    }
    prev_end = a->base + GH_ARENA_SIZE;
  }
  return 0;
}

/* ---- the interface ------------------------------------------------------------ */

void gh_pagealloc_init_arena(gh_heaparena *a) {
  for (uint32_t i = 0; i < GH_PAGES_PER_ARENA / 64; i++) a->pages.alloc[i] = ~0ull;
  /* scav and sum are zero: nothing is free until grown */
}

/* Go: (*pageAlloc).alloc. Marks npages pages in use; *scav_pages gets the
 * number of them that were released to the OS (so are zero). 0 if none fit. */
uintptr_t gh_pagealloc_alloc_locked(uintptr_t npages, uintptr_t *scav_pages) {
  gh_assert_held(&gh_heap.lock);
  uintptr_t addr = find(npages);
  *scav_pages = 0;
  if (addr) for_each_piece(addr, npages, piece_alloc, scav_pages);
  return addr;
}

/* Takes exactly [addr, addr + npages) if every page is free. */
bool gh_pagealloc_alloc_at_locked(uintptr_t addr, uintptr_t npages, uintptr_t *scav_pages) {
  gh_assert_held(&gh_heap.lock);
  uintptr_t nfree = 0;
  uintptr_t end = addr + (npages << GH_PAGE_SHIFT);
  if (end < addr) return false;
  for (uintptr_t p = addr & ~(GH_ARENA_SIZE - 1); p < end; p += GH_ARENA_SIZE)
    if (!gh_arena_of(p)) return false; /* the range leaves the heap */
  for_each_piece(addr, npages, piece_count_free, &nfree);
  if (nfree != npages) return false;
  *scav_pages = 0;
  for_each_piece(addr, npages, piece_alloc, scav_pages);
  return true;
}

/* Go: (*pageAlloc).free. The pages keep their data: not scavenged. */
void gh_pagealloc_free_locked(uintptr_t addr, uintptr_t npages) {
  gh_assert_held(&gh_heap.lock);
  for_each_piece(addr, npages, piece_free, NULL);
}

/* Go: (*pageAlloc).grow. Newly committed pages become free and count as released. */
void gh_pagealloc_grow_locked(uintptr_t addr, uintptr_t npages) {
  gh_assert_held(&gh_heap.lock);
  for_each_piece(addr, npages, piece_grow, NULL);
}

void gh_pagealloc_mark_scavenged_locked(uintptr_t addr, uintptr_t npages) {
  gh_assert_held(&gh_heap.lock);
  for_each_piece(addr, npages, piece_scav, NULL);
}

/* Go: mgcscavenge.go:findScavengeCandidate. The highest run of free pages that
 * are not yet released, at most max_pages long, within one arena. */
bool gh_pagealloc_find_unscavenged_locked(uintptr_t max_pages, uintptr_t *addr, uintptr_t *npages) {
  gh_assert_held(&gh_heap.lock);
  for (uint32_t ai = gh_heap.narenas; ai-- > 0;) {
    gh_heaparena *a = gh_heap.all_arenas[ai];
    for (intptr_t i = GH_PAGES_PER_ARENA / 64 - 1; i >= 0; i--) {
      uint64_t cand = ~a->pages.alloc[i] & ~a->pages.scav[i];
      if (!cand) continue;
      intptr_t top = i * 64 + 63 - __builtin_clzll(cand), p = top;
      while (p > 0 && (uintptr_t)(top - p + 1) < max_pages) {
        intptr_t q = p - 1;
        if ((a->pages.alloc[q / 64] | a->pages.scav[q / 64]) >> (q % 64) & 1) break;
        p = q;
      }
      *addr = a->base + ((uintptr_t)p << GH_PAGE_SHIFT);
      *npages = (uintptr_t)(top - p + 1);
      return true;
    }
  }
  return false;
}

void gh_pagealloc_check_locked(void) {
  gh_assert_held(&gh_heap.lock);
  for (uint32_t ai = 0; ai < gh_heap.narenas; ai++) {
    gh_heaparena *a = gh_heap.all_arenas[ai];
    if (ai > 0 && gh_heap.all_arenas[ai - 1]->base >= a->base) gh_throw("arenas out of order");
    for (uint32_t c = 0; c < GH_CHUNKS_PER_ARENA; c++) {
      gh_pallocsum s = summarize(&a->pages.alloc[c * GH_CHUNK_WORDS]), t = a->pages.sum[c];
      if (s.start != t.start || s.max != t.max || s.end != t.end)
        gh_throw2("page allocator: stale chunk summary", "chunk", a->base + c * (GH_CHUNK_PAGES << GH_PAGE_SHIFT));
    }
    for (uint32_t w = 0; w < GH_PAGES_PER_ARENA / 64; w++)
      if (a->pages.scav[w] & a->pages.alloc[w])
        gh_throw2("page allocator: page both in use and released", "near", a->base + (uintptr_t)w * 64 * GH_PAGE_SIZE);
  }
}
