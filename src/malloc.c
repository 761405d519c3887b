/*
 * malloc.c -- goheap's entry points, and the overview of the whole allocator.
 * (Go: malloc.go, the header comment and mallocgc.)
 *
 * goheap is Go's runtime memory allocator in C. The layers, top down:
 *
 *   malloc.c     size -> size class -> span class; small, large and aligned paths;
 *                free, realloc and the rest of the malloc family (gh_*)
 *   mcache.c     per-thread cache: one span per span class, no locks
 *   mcentral.c   per span class: partial/full x swept/unswept span lists
 *   mheap.c      64 MiB arenas, the arena index (spanOf), spans of pages
 *   mpagealloc.c free-page bitmaps with per-chunk summaries, released bits
 *   os/          mmap, mprotect, madvise, locks, threads: the only OS calls
 *   mgcsweep.c   sweeping a span: how freed slots become reusable
 *
 * Allocating a small object (<= 32 KiB):
 *   1. round the size up to one of 66 size classes (msize.h, two table lookups);
 *   2. take the thread's mcache span for that class and find a free slot with
 *      count-trailing-zeros on its alloc cache (next_free_fast below: no lock,
 *      no atomic read-modify-write);
 *   3. if the span is used up, mcache refill sweeps it in place or swaps it for
 *      another from the class's mcentral, which sweeps queued spans or grows a
 *      new span from the heap;
 *   4. the heap finds free pages in the page allocator, or grows: commits 4 MiB
 *      more of the current arena, or reserves a new arena.
 * A large object (> 32 KiB) is a span of its own, straight from the heap.
 *
 * Freeing (Go never frees explicitly; goheap must): spanOf(p) finds the span
 * in two dependent loads; the slot index comes from a multiplication by the
 * span's reciprocal; a pointer that is not the start of an allocated slot is
 * reported. The slot is recorded in a free bitmap: plain stores when the
 * freeing thread's mcache holds the span, one atomic OR from any other thread.
 * Sweeping merges those bits into the alloc bits (mgcsweep.c). A span whose
 * every object is freed goes back to the heap, its pages to the page
 * allocator, and free pages beyond the retain limit back to the OS.
 *
 * Call tree of the fast and slow paths:
 *   gh_malloc -> small_alloc -> next_free_fast                 (fast)
 *                            -> small_alloc_slow -> gh_mspan_next_free_index
 *                                                 -> gh_mcache_refill -> gh_mcentral_cache_span
 *                                                                      -> gh_mheap_alloc_span
 *             -> large_alloc -> gh_mheap_alloc_span
 *   gh_free   -> free_small (owner: plain bit; else free_remote: atomic OR)
 *             -> free_large -> gh_mheap_free_span
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

GH_DATA int gh_initialized;
static GH_DATA gh_mutex init_lock = GH_MUTEX_INIT(GH_RANK_INIT);

/* ---- initialisation ---------------------------------------------------------- */

static GH_COLD void init_slow(void) {
  gh_mutex_lock(&init_lock);
  if (!gh_atomic_load_acquire(&gh_initialized)) {
    gh_options_init();
    gh_stats_init();
    gh_gc_init();
    gh_mheap_init();
    for (uint32_t i = 0; i < GH_NUM_SPAN_CLASSES; i++) gh_mcentral_init(&gh_central[i], (gh_spanclass)i);
    gh_world_init();
    gh_atomic_store_release(&gh_initialized, 1);
    gh_mutex_unlock(&init_lock);
    gh_world_init_fork(); /* pthread_atfork may call malloc: the heap is up now */
    return;
  }
  gh_mutex_unlock(&init_lock);
}

void gh_ensure_init(void) {
  if (gh_unlikely(!gh_atomic_load_acquire(&gh_initialized))) init_slow();
}

/* The reports the GOHEAP_* options ask for at exit, in an order that lets
 * the last one end the process (the leak check may exit with
 * GOHEAP_LEAKCHECK_EXITCODE). Here, beside initialisation, so that every
 * static link has them. */
__attribute__((destructor)) static void reports_at_exit(void) {
  if (!gh_atomic_load_acquire(&gh_initialized)) return;
  gh_write_option_file(GH_OPT_PROFILE, "GOHEAP_PROFILE", gh_write_heap_profile);
  gh_write_option_file(GH_OPT_DUMP, "GOHEAP_DUMP", gh_dump_heap);
  gh_stats_at_exit();
  gh_leak_at_exit();
}

static void *fail_enomem(void) {
  errno = ENOMEM;
  return NULL;
}


/* ---- small objects: the fast path ----------------------------------------------- */

/* Rule for the collector (world.c): the fast paths below change an mcache's
 * span without gh_enter, so they may only run inlined into a GH_FAST function
 * (whose pc the stop signal recognises) or between gh_enter and gh_leave. */

/*
 * Go: malloc.go:nextFreeFast. A free slot from the span's alloc cache, or NULL
 * when the cache is empty. Unlike Go's, it takes a word's last slot too, and
 * needs no bound check: the cache has no bit past nelems (I2); the slow path
 * loads the next word.
 */
static GH_ALWAYS_INLINE bool next_free_fast(gh_mspan *s, uintptr_t *p) {
  uint64_t cache = s->alloc_cache;
  if (gh_unlikely(cache == 0)) return false;
  uint32_t bit = (uint32_t)__builtin_ctzll(cache);
  uint32_t result = s->freeindex + bit;
  s->alloc_cache = (cache >> bit) >> 1;
  gh_atomic_store_relaxed(&s->freeindex, result + 1);
  s->alloc_count++;
  *p = s->start_addr + (uintptr_t)result * s->elemsize;
  return true;
}

/* Zeroes a new object: inline stores for the small, whole-word slots of
 * collected objects (Go: memclrNoHeapPointers), memset otherwise. */
static GH_ALWAYS_INLINE void clear(void *p, size_t n) {
  if (n <= 64 && (n & 7) == 0) {
    for (size_t i = 0; i < n / 8; i++) ((volatile uint64_t *)p)[i] = 0;
    return;
  }
  memset(p, 0, n);
}

/* Go: malloc.go:(*mcache).nextFree. Slow path: advance in the span, or refill. */
static GH_NOINLINE void *small_alloc_slow(gh_spanclass sc, size_t size, size_t zero_bytes) {
  gh_mcache *c = gh_enter_mcache();
  if (!c) return fail_enomem();
  gh_mspan *s = c->alloc[sc];
  uint32_t i = gh_mspan_next_free_index(s);
  if (i == s->nelems) {
    s = gh_mcache_refill(c, sc);
    if (!s) {
      gh_leave(c);
      return fail_enomem();
    }
    i = gh_mspan_next_free_index(s);
    if (i == s->nelems) gh_throw2("refill returned a full span", "span", s->start_addr);
  }
  s->alloc_count++;
  void *p = (void *)(s->start_addr + (uintptr_t)i * s->elemsize);
  bool needzero = s->needzero;
  gh_leave(c);
  if (zero_bytes && needzero) memset(p, 0, zero_bytes);
  if (gh_spanclass_collected(sc)) gh_gc_maybe_start(); /* Go: mallocgc's shouldhelpgc */
  gh_scavenger_poll();
  return GH_MPROF_COUNT(c, p, size);
}

/* size: the bytes requested (the heap profile counts them); zero_bytes: how
 * many bytes must read as zero (calloc), 0 for none. */
static GH_ALWAYS_INLINE void *small_alloc(gh_spanclass sc, size_t size, size_t zero_bytes) {
  gh_mcache *c = gh_tls_mcache;
  if (gh_likely(c != NULL)) {
    gh_mspan *s = c->alloc[sc];
    uintptr_t p;
    if (gh_likely(next_free_fast(s, &p))) {
      if (zero_bytes && s->needzero) clear((void *)p, zero_bytes);
      return GH_MPROF_COUNT(c, (void *)p, size);
    }
  }
  return small_alloc_slow(sc, size, zero_bytes);
}

/* ---- large objects (Go: mcache.go:allocLarge) ------------------------------------ */

static GH_NOINLINE void *large_alloc(size_t size, uintptr_t align_pages, bool zero, uint32_t kind) {
  gh_ensure_init();
  if (size > GH_MAX_ALLOC) return fail_enomem();
  uintptr_t npages = (size + GH_PAGE_SIZE - 1) >> GH_PAGE_SHIFT;
  if (npages == 0) npages = 1;
  gh_mcache *c = gh_enter_mcache();
  gh_spanclass sc = gh_make_spanclass(0, kind);
  gh_mspan *s = gh_mheap_alloc_span(npages, sc, align_pages);
  if (!s) {
    gh_leave(c);
    return fail_enomem();
  }
  s->nelems = 1;
  s->elemsize = npages << GH_PAGE_SHIFT;
  s->div_mul = 0;
  s->limit = s->start_addr + size;
  s->freeindex = 1; /* I1: the one slot is allocated */
  s->alloc_count = 1;
  s->alloc_cache = 0;
  gh_atomic_add(&gh_large_nmalloc, 1);
  gh_atomic_add(&gh_large_bytes, s->elemsize);
  gh_atomic_add(&gh_large_bytes_total, s->elemsize);
  gh_atomic_add(&gh_heap_live, s->elemsize);
  if (kind != GH_KIND_MANUAL && gh_atomic_load_relaxed(&gh_gc_marking)) s->gcmark_bits[0] = 1; /* black */
  gh_atomic_store_release(&s->xstate, GH_SPAN_IN_USE);
  if (kind != GH_KIND_MANUAL) gh_mcentral_add_large(&gh_central[sc], s); /* visible to the sweeper */
  bool needzero = s->needzero;
  void *p = (void *)s->start_addr; /* kept across a collection below: the only pointer to it */
  size_t clear = kind != GH_KIND_MANUAL ? s->elemsize : size;
  gh_leave(c);
  if (zero && needzero) memset(p, 0, clear);
  if (kind != GH_KIND_MANUAL) gh_gc_maybe_start();
  gh_scavenger_poll();
  return c ? GH_MPROF_COUNT(c, p, size) : p;
}

/* ---- the malloc family ---------------------------------------------------------- */

GH_FAST void *gh_malloc(size_t size) {
  if (gh_likely(size <= GH_MAX_SMALL_SIZE)) return small_alloc(gh_make_spanclass(gh_size_to_class(size), GH_KIND_MANUAL), size, 0);
  return large_alloc(size, 0, false, GH_KIND_MANUAL);
}

GH_FAST void *gh_calloc(size_t n, size_t size) {
  size_t bytes;
  if (gh_unlikely(__builtin_mul_overflow(n, size, &bytes))) return fail_enomem();
  if (gh_likely(bytes <= GH_MAX_SMALL_SIZE))
    return small_alloc(gh_make_spanclass(gh_size_to_class(bytes), GH_KIND_MANUAL), bytes, bytes ? bytes : 1);
  return large_alloc(bytes, 0, true, GH_KIND_MANUAL);
}

/* ---- collected objects (Go: malloc.go:mallocgc) ---------------------------------- */


/* Go: mallocgc's tiny allocator, slow half: a fresh 16-byte block; it becomes
 * the mcache's tiny block if it has more room left than the current one. */
static GH_NOINLINE void *tiny_alloc_slow(size_t size) {
  gh_mcache *c = gh_enter_mcache(); /* small_alloc's fast path, outside gh_fast */
  if (!c) return fail_enomem();
  void *p = small_alloc(gh_make_spanclass(GH_TINY_CLASS, GH_KIND_NOSCAN), size, GH_TINY_SIZE);
  if (p && (size < c->tinyoffset || c->tiny == 0)) {
    c->tiny = (uintptr_t)p;
    c->tinyoffset = size;
  }
  gh_leave(c);
  gh_gc_maybe_start();
  return p;
}

/* Noscan requests under 16 bytes share 16-byte blocks, aligned to their size's
 * largest power-of-two divisor up to 8 (Go: mallocgc, "Tiny allocator"). */
static GH_ALWAYS_INLINE void *tiny_alloc(size_t size) {
  gh_mcache *c = gh_tls_mcache;
  if (gh_likely(c != NULL && c->tiny)) {
    uintptr_t off = c->tinyoffset;
    if ((size & 7) == 0) off = (off + 7) & ~(uintptr_t)7;
    else if ((size & 3) == 0) off = (off + 3) & ~(uintptr_t)3;
    else if ((size & 1) == 0) off = (off + 1) & ~(uintptr_t)1;
    if (off + size <= GH_TINY_SIZE) {
      c->tinyoffset = off + size;
      return GH_MPROF_COUNT(c, (void *)(c->tiny + off), size);
    }
  }
  return tiny_alloc_slow(size);
}

/* During a concurrent mark, new objects are black: small ones because their
 * spans' free slots are marked ahead (mspan.c:gh_mspan_allocate_black),
 * large ones in large_alloc. */
static GH_ALWAYS_INLINE void *collected_alloc(size_t size, uint32_t kind) {
  if (gh_unlikely(size == 0)) size = 1; /* every object has an address of its own */
  if (kind == GH_KIND_NOSCAN && size < GH_TINY_SIZE) return tiny_alloc(size);
  if (gh_likely(size <= GH_MAX_SMALL_SIZE)) { /* zeroed whole: the collector scans whole slots */
    uint32_t c = gh_size_to_class(size);
    return small_alloc(gh_make_spanclass(c, kind), size, gh_class_size(c));
  }
  return large_alloc(size, 0, true, kind);
}

GH_FAST void *gh_alloc(size_t size) { return collected_alloc(size, GH_KIND_SCAN); }

GH_FAST void *gh_alloc_noscan(size_t size) { return collected_alloc(size, GH_KIND_NOSCAN); }

/* The smallest size class >= size whose objects are all `align`-aligned, or 0. */
static uint32_t aligned_class(size_t align, size_t size) {
  if (size > GH_MAX_SMALL_SIZE || align > GH_PAGE_SIZE) return 0;
  for (uint32_t c = gh_size_to_class(size); c < GH_NUM_SIZE_CLASSES; c++)
    if (gh_class_size(c) % align == 0) return c;
  return 0;
}

/* An entry point that allocates through another one (realloc through
 * malloc, posix_memalign through the aligned paths) names its own caller
 * to the heap profile while it does (mprof.c cuts the stack there). */
static inline gh_mcache *outer_begin(uintptr_t ra) {
  gh_mcache *c = gh_tls_mcache;
  if (c) c->outer_ra = ra;
  return c;
}
static inline void outer_end(gh_mcache *c) {
  if (c) c->outer_ra = 0;
}

/* align: a power of two. */
static void *aligned_alloc_impl_inner(size_t align, size_t size) {
  if (align <= 16 && (align <= 8 || size > 8)) return gh_malloc(size);
  if (size > GH_MAX_ALLOC) return fail_enomem();
  uint32_t c = aligned_class(align, size);
  if (c) { /* small_alloc's fast path outside gh_fast: not a safe point */
    gh_mcache *m = gh_enter();
    void *p = small_alloc(gh_make_spanclass(c, GH_KIND_MANUAL), size, 0);
    gh_leave(m);
    return p;
  }
  uintptr_t align_pages = align > GH_PAGE_SIZE ? align >> GH_PAGE_SHIFT : 1;
  if (align_pages > (GH_MAX_ALLOC >> GH_PAGE_SHIFT)) return fail_enomem();
  return large_alloc(size, align_pages, false, GH_KIND_MANUAL);
}

static GH_ALWAYS_INLINE void *aligned_alloc_impl(size_t align, size_t size) {
  gh_mcache *c = outer_begin((uintptr_t)__builtin_return_address(0));
  void *p = aligned_alloc_impl_inner(align, size);
  outer_end(c);
  return p;
}

static bool is_pow2(size_t x) { return x && !(x & (x - 1)); }

int gh_posix_memalign(void **out, size_t align, size_t size) {
  if (!is_pow2(align) || align % sizeof(void *) != 0) return EINVAL;
  int saved = errno;
  void *p = aligned_alloc_impl(align, size);
  errno = saved;
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}

void *gh_aligned_alloc(size_t align, size_t size) {
  if (!is_pow2(align)) {
    errno = EINVAL;
    return NULL;
  }
  return aligned_alloc_impl(align, size);
}

/* glibc: an alignment that is not a power of two is rounded up to one. */
void *gh_memalign(size_t align, size_t size) {
  if (align > ((size_t)1 << 62)) return fail_enomem();
  size_t a = 1;
  while (a < align) a <<= 1;
  return aligned_alloc_impl(a, size);
}

void *gh_valloc(size_t size) { return aligned_alloc_impl(gh_os_page_size(), size); }

void *gh_pvalloc(size_t size) {
  size_t page = gh_os_page_size();
  if (size > SIZE_MAX - page) return fail_enomem();
  size = size ? (size + page - 1) & ~(page - 1) : page;
  return aligned_alloc_impl(page, size);
}

/* ---- freeing ---------------------------------------------------------------------- */

/* A pointer whose page maps to no span: foreign, or inside free heap memory. */
static GH_COLD void bad_unmapped(const char *op, uintptr_t p) {
  int saved = errno;
  gh_mcache *c = gh_enter();
  bool ours = gh_mheap_page_is_free(p);
  gh_leave(c);
  gh_report_bad_pointer(op, p, ours ? GH_BAD_DOUBLE_FREE : GH_BAD_FOREIGN, NULL, 0);
  errno = saved;
}

static GH_COLD void bad_pointer(const char *op, uintptr_t p, gh_bad_kind kind, const gh_mspan *s) {
  int saved = errno;
  gh_report_bad_pointer(op, p, kind, s, 0);
  errno = saved;
}

/*
 * Validates p as the start of a live object and returns its span and slot
 * index; reports and returns NULL otherwise. The common checks of free,
 * realloc, malloc_usable_size and the sized frees.
 */
static inline gh_mspan *object_span(const char *op, uintptr_t p, uint32_t *index) {
  gh_mspan *s = gh_span_of(p);
  if (gh_unlikely(s == NULL)) {
    bad_unmapped(op, p);
    return NULL;
  }
  uint32_t i = gh_mspan_obj_index(s, p);
  if (gh_unlikely(s->start_addr + (uintptr_t)i * s->elemsize != p) && s->spanclass != GH_TINY_SPANCLASS) {
    bad_pointer(op, p, GH_BAD_INTERIOR, s);
    return NULL;
  }
  *index = i;
  return s;
}

/*
 * A free from a thread that does not cache the span: one atomic OR. The first
 * such free since the span's last sweep also queues it for sweeping; that
 * free pins the span first, because once its bit is visible a sweeper may
 * find the span empty, and must not give it back while this thread still
 * holds it. A sweeper that gives a span back marks it dead first, then looks
 * for pins (mcentral.c:retire), and a pinning free pins, then looks at the
 * state, so one of the two sees the other: a double free that comes after
 * its span went back is reported here. (Later frees do not pin: two atomic
 * operations more on every remote free cost 36% on xmalloc-test. A double
 * free that reads the span's state in the few instructions before a sweep
 * gives the span back is the one case left unguarded.)
 *
 * A double free may race the sweep that merges the first free: the second
 * free finds the slot still allocated (old alloc bits), then the sweep
 * publishes the slot free and clears the first bit (mgcsweep.c: in that
 * order), then the second free's OR finds no bit. That bit, on a free slot,
 * is reported by the sweep that merges it (a later remote free queues the
 * span, its owner's refill, malloc_trim). Testing again after the OR would
 * not help: taking the bit back could erase a legitimate free of the slot
 * reallocated meanwhile.
 */
static GH_NOINLINE void free_remote(const char *op, gh_mspan *s, uint32_t i, uintptr_t p) {
  gh_mcache *c = gh_enter_mcache(); /* registered: the collector must stop this thread too */
  uint64_t m = 1ull << (i % 64);
  bool queue = !gh_atomic_load_seq(&s->xqueued);
  if (queue) {
    gh_atomic_add_seq(&s->xpins, 1);
    if (gh_unlikely(gh_atomic_load_seq(&s->xstate) != GH_SPAN_IN_USE)) { /* given back: a double free */
      gh_atomic_sub_seq(&s->xpins, 1);
      gh_leave(c);
      bad_pointer(op, p, GH_BAD_DOUBLE_FREE, NULL);
      return;
    }
  }
  if (gh_unlikely(!gh_mspan_is_allocated(s, i) || (gh_atomic_load_relaxed(&s->free_bits[i / 64]) & m) ||
                  (gh_atomic_or_seq(&s->xremote_free_bits[i / 64], m) & m))) {
    bad_pointer(op, p, GH_BAD_DOUBLE_FREE, s);
  } else if (queue && !gh_atomic_exchange_seq(&s->xqueued, 1) &&
             !gh_atomic_load_seq(&s->xowner)) { /* a cached span: its owner will see xqueued */
    int saved = errno;
    gh_mcentral_queue_for_sweep(&gh_central[s->spanclass], s);
    errno = saved;
  }
  if (queue) gh_atomic_sub_seq(&s->xpins, 1);
  gh_leave(c);
}

/* A large object, or a tiny block (whose free is ignored: see GH_TINY_SPANCLASS). */
static GH_NOINLINE void free_unusual(const char *op, gh_mspan *s, uintptr_t p) {
  if (s->spanclass == GH_TINY_SPANCLASS) return;
  gh_mcache *c = gh_enter_mcache();
  int saved = errno;
  bool ok = gh_spanclass_collected(s->spanclass) ? gh_mcentral_free_large(s) : gh_mheap_free_large(s);
  if (!ok) bad_pointer(op, p, GH_BAD_DOUBLE_FREE, s);
  errno = saved;
  gh_leave(c);
  gh_scavenger_poll();
}

static GH_ALWAYS_INLINE void free_object(const char *op, gh_mspan *s, uint32_t i, uintptr_t p) {
  if (gh_unlikely(gh_spanclass_is_large(s->spanclass) || s->spanclass == GH_TINY_SPANCLASS)) {
    free_unusual(op, s, p);
    return;
  }
  gh_mcache *c = gh_tls_mcache;
  if (gh_likely(c != NULL && gh_atomic_load_relaxed(&s->xowner) == c)) {
    uint32_t w = i / 64;
    uint64_t m = 1ull << (i % 64);
    uint64_t freed = s->free_bits[w];
    if (gh_unlikely((i >= s->freeindex && !(s->alloc_bits[w] & m)) ||
                    ((freed | gh_atomic_load_relaxed(&s->xremote_free_bits[w])) & m))) {
      bad_pointer(op, p, GH_BAD_DOUBLE_FREE, s);
      return;
    }
    gh_atomic_store_relaxed(&s->free_bits[w], freed | m); /* owner is the only writer */
    s->local_frees++;
    return;
  }
  free_remote(op, s, i, p);
}

GH_FAST void gh_free(void *ptr) {
  if (gh_unlikely(ptr == NULL)) return;
  uint32_t i;
  gh_mspan *s = object_span("free", (uintptr_t)ptr, &i);
  if (gh_likely(s != NULL)) free_object("free", s, i, (uintptr_t)ptr);
}

/* Bytes usable from p, the start of an object (or inside a tiny block) in s. */
static size_t usable_size(const gh_mspan *s, uintptr_t p) {
  if (gh_spanclass_is_large(s->spanclass)) return s->elemsize;
  return s->elemsize - (p - s->start_addr) % s->elemsize;
}

/* Is slot i of s a live object (I1, pending frees included)? Any thread may ask:
 * a free made before the question (program order or a synchronisation) reads freed. */
static bool object_is_live(const gh_mspan *s, uint32_t i) {
  if (gh_spanclass_is_large(s->spanclass)) return gh_atomic_load_acquire(&s->xstate) == GH_SPAN_IN_USE;
  return gh_mspan_is_live(s, i);
}

/* object_span, and the object must not be free: for calls that read or keep it. */
static gh_mspan *live_object_span(const char *op, uintptr_t p, uint32_t *index) {
  gh_mspan *s = object_span(op, p, index);
  if (s && gh_unlikely(!object_is_live(s, *index))) {
    bad_pointer(op, p, GH_BAD_DOUBLE_FREE, s);
    return NULL;
  }
  return s;
}

/* The span a sized free expects for (align, size), compared with the real one. */
static bool size_matches(const gh_mspan *s, size_t align, size_t size) {
  uint32_t want = align ? aligned_class(align, size) : (size <= GH_MAX_SMALL_SIZE ? gh_size_to_class(size) : 0);
  if (want != gh_spanclass_sizeclass(s->spanclass)) return false;
  if (want) return true;
  uintptr_t pages = size ? (size + GH_PAGE_SIZE - 1) >> GH_PAGE_SHIFT : 1;
  return pages == s->npages;
}

static GH_ALWAYS_INLINE void sized_free(const char *op, void *ptr, size_t align, size_t size) {
  if (ptr == NULL) return;
  uint32_t i;
  gh_mspan *s = object_span(op, (uintptr_t)ptr, &i);
  if (!s) return;
  if (gh_unlikely(!size_matches(s, align, size))) {
    int saved = errno;
    gh_report_bad_pointer(op, (uintptr_t)ptr, GH_BAD_SIZE_MISMATCH, s, size);
    errno = saved;
    return;
  }
  free_object(op, s, i, (uintptr_t)ptr);
}

GH_FAST void gh_free_sized(void *ptr, size_t size) { sized_free("free_sized", ptr, 0, size); }

GH_FAST void gh_free_aligned_sized(void *ptr, size_t align, size_t size) {
  sized_free("free_aligned_sized", ptr, align <= 16 && (align <= 8 || size > 8) ? 0 : align, size);
}

size_t gh_malloc_usable_size(void *ptr) {
  uint32_t i;
  if (ptr == NULL) return 0;
  gh_mspan *s = live_object_span("malloc_usable_size", (uintptr_t)ptr, &i);
  return s ? usable_size(s, (uintptr_t)ptr) : 0;
}

/* ---- realloc ------------------------------------------------------------------------- */

/* Can the object stay where it is at its new size? (Go has no realloc; the
 * rule: same size class for small objects; a large one that stays large gives
 * back its tail pages when it shrinks and grows into the free pages right
 * after it when there are some.) */
static bool resize_in_place(gh_mspan *s, size_t size) {
  uint32_t cls = gh_spanclass_sizeclass(s->spanclass);
  if (cls) return size <= GH_MAX_SMALL_SIZE && gh_size_to_class(size) == cls;
  if (size <= GH_MAX_SMALL_SIZE || size > GH_MAX_ALLOC) return false;
  uintptr_t npages = (size + GH_PAGE_SIZE - 1) >> GH_PAGE_SHIFT;
  uintptr_t old = s->elemsize;
  if (npages == s->npages) return true;
  if (npages < s->npages) {
    gh_mheap_shrink_span(s, npages);
    gh_atomic_sub(&gh_large_bytes, old - s->elemsize);
    gh_atomic_sub(&gh_heap_live, old - s->elemsize);
    return true;
  }
  if (!gh_mheap_grow_span_in_place(s, npages)) return false;
  gh_atomic_add(&gh_large_bytes, s->elemsize - old);
  gh_atomic_add(&gh_large_bytes_total, s->elemsize - old);
  gh_atomic_add(&gh_heap_live, s->elemsize - old);
  return true;
}

/* Resizes in place, or frees for size 0; returns what realloc returns, or
 * `ptr` with *moved set when the object must move. Inside gh_enter. */
static void *realloc_here(void *ptr, size_t size, bool *moved, uint32_t *kind, size_t *old, bool *profiled) {
  uint32_t i;
  gh_mspan *s = live_object_span("realloc", (uintptr_t)ptr, &i);
  if (!s) {
    errno = EINVAL;
    return NULL;
  }
  if (size == 0) { /* glibc: realloc(p, 0) frees p and returns NULL */
    free_object("realloc", s, i, (uintptr_t)ptr);
    return NULL;
  }
  *old = usable_size(s, (uintptr_t)ptr);
  if (s->spanclass != GH_TINY_SPANCLASS && resize_in_place(s, size)) {
    if (gh_spanclass_is_large(s->spanclass)) s->limit = s->start_addr + size;
    *profiled = gh_span_has_specials(s); /* maybe a heap-profile record to update */
    return ptr;
  }
  *moved = true;
  *kind = gh_spanclass_kind(s->spanclass);
  return ptr;
}

/* A collected object stays collected, of the same kind (bdwgc: GC_REALLOC). */
void *gh_realloc(void *ptr, size_t size) {
  if (ptr == NULL) {
    gh_mcache *oc = outer_begin((uintptr_t)__builtin_return_address(0));
    void *p = gh_malloc(size);
    outer_end(oc);
    return p;
  }
  bool moved = false, profiled = false;
  uint32_t kind = GH_KIND_MANUAL;
  size_t old = 0;
  gh_mcache *c = gh_enter();
  void *r = realloc_here(ptr, size, &moved, &kind, &old, &profiled);
  gh_leave(c);
  if (r == ptr && !moved) { /* in place: the profile counts what it grew by */
    if (profiled || (c && (c->next_sample -= (int64_t)(size > old ? size - old : 0)) < 0))
      gh_mprof_resized(ptr, size, (uintptr_t)__builtin_return_address(0));
    return r;
  }
  if (!moved) return r;
  gh_mcache *oc = outer_begin((uintptr_t)__builtin_return_address(0));
  void *q = kind == GH_KIND_MANUAL ? gh_malloc(size) : kind == GH_KIND_SCAN ? gh_alloc(size) : gh_alloc_noscan(size);
  outer_end(oc);
  if (!q) return NULL;
  memcpy(q, ptr, old < size ? old : size);
  if (kind == GH_KIND_SCAN) gh_write_barrier_range(q, old < size ? old : size); /* manual mode: q may be black */
  gh_free(ptr);
  return q;
}

void *gh_reallocarray(void *ptr, size_t n, size_t size) {
  size_t bytes;
  if (__builtin_mul_overflow(n, size, &bytes)) return fail_enomem();
  return gh_realloc(ptr, bytes);
}

/* ---- giving memory back ------------------------------------------------------------------ */

int gh_malloc_trim(size_t pad) {
  (void)pad;
  gh_ensure_init();
  gh_gc_finish_sweep(); /* a collection's garbage first */
  gh_mcache *c = gh_enter();
  int saved = errno;
  if (gh_tls_mcache) gh_mcache_release_all(gh_tls_mcache);
  for (uint32_t i = 0; i < GH_NUM_SPAN_CLASSES; i++) gh_mcentral_requeue_pending(&gh_central[i]);
  gh_mheap_reclaim(UINTPTR_MAX);
  gh_mutex_lock(&gh_heap.lock);
  uint64_t before = gh_heap.pages_released;
  gh_mutex_unlock(&gh_heap.lock);
  gh_mheap_scavenge(UINT64_MAX);
  gh_mutex_lock(&gh_heap.lock);
  uint64_t after = gh_heap.pages_released;
  gh_mutex_unlock(&gh_heap.lock);
  errno = saved;
  gh_leave(c);
  return after > before;
}

/* ---- questions about pointers ------------------------------------------------------- */

void *gh_base(void *p) {
  gh_mspan *s = gh_span_of((uintptr_t)p);
  if (!s || gh_atomic_load_acquire(&s->xstate) != GH_SPAN_IN_USE || (uintptr_t)p >= s->limit) return NULL;
  uint32_t i = gh_mspan_obj_index(s, (uintptr_t)p);
  if (!object_is_live(s, i)) return NULL;
  return (void *)(s->start_addr + (uintptr_t)i * s->elemsize);
}

int gh_is_collected(void *p) {
  gh_mspan *s = gh_span_of((uintptr_t)p);
  return s && gh_spanclass_collected(s->spanclass) && gh_base(p) == p;
}

void gh_free_os_memory(void) { (void)gh_malloc_trim(0); }

/* ---- the plain names (LD_PRELOAD, static linking) -------------------------------------
 * Every standard, POSIX, glibc and C23 allocation function, and glibc's internal
 * __libc_* names (so code that calls them directly agrees with goheap). */
#ifndef GH_NO_OVERRIDE
#define GH_ALIAS(name) __attribute__((alias(#name), used, visibility("default")))

void *malloc(size_t size) GH_ALIAS(gh_malloc);
void free(void *p) GH_ALIAS(gh_free);
void *calloc(size_t n, size_t size) GH_ALIAS(gh_calloc);
void *realloc(void *p, size_t size) GH_ALIAS(gh_realloc);
void *reallocarray(void *p, size_t n, size_t size) GH_ALIAS(gh_reallocarray);
int posix_memalign(void **out, size_t align, size_t size) GH_ALIAS(gh_posix_memalign);
void *aligned_alloc(size_t align, size_t size) GH_ALIAS(gh_aligned_alloc);
void *memalign(size_t align, size_t size) GH_ALIAS(gh_memalign);
void *valloc(size_t size) GH_ALIAS(gh_valloc);
void *pvalloc(size_t size) GH_ALIAS(gh_pvalloc);
size_t malloc_usable_size(void *p) GH_ALIAS(gh_malloc_usable_size);
void cfree(void *p) GH_ALIAS(gh_free);
extern void free_sized(void *p, size_t size);
extern void free_aligned_sized(void *p, size_t align, size_t size);
void free_sized(void *p, size_t size) GH_ALIAS(gh_free_sized);
void free_aligned_sized(void *p, size_t align, size_t size) GH_ALIAS(gh_free_aligned_sized);
int malloc_trim(size_t pad) GH_ALIAS(gh_malloc_trim);

void *__libc_malloc(size_t size) GH_ALIAS(gh_malloc);
void __libc_free(void *p) GH_ALIAS(gh_free);
void *__libc_calloc(size_t n, size_t size) GH_ALIAS(gh_calloc);
void *__libc_realloc(void *p, size_t size) GH_ALIAS(gh_realloc);
void *__libc_memalign(size_t align, size_t size) GH_ALIAS(gh_memalign);
void *__libc_valloc(size_t size) GH_ALIAS(gh_valloc);
void *__libc_pvalloc(size_t size) GH_ALIAS(gh_pvalloc);
void __libc_cfree(void *p) GH_ALIAS(gh_free);
int __posix_memalign(void **out, size_t align, size_t size) GH_ALIAS(gh_posix_memalign);
void __libc_free_sized(void *p, size_t size) GH_ALIAS(gh_free_sized);
void __libc_free_aligned_sized(void *p, size_t align, size_t size) GH_ALIAS(gh_free_aligned_sized);

#endif
