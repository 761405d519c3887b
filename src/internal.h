/*
 * internal.h -- goheap's private types, their invariants, and the functions
 * each layer offers the layer above. See malloc.c for the overview.
 *
 * Layers, bottom up (checked by tools/lint/layers.py):
 *   os/os_linux      -- mmap, locks, threads, signals: the only OS calls
 *   mfixalloc        -- fixed-size metadata allocator
 *   mpagealloc       -- free-page bitmaps and summaries
 *   mheap mgcscavenge mbarrier -- arenas and spans of pages; pages back to the OS; written pages
 *   mspan            -- a span's slots and bitmaps
 *   mgcsweep         -- sweeping a span
 *   mcentral         -- per span class span lists
 *   mcache           -- per-thread span cache
 *   world            -- thread registry, stop the world
 *   malloc override  -- the malloc family and the glibc extras
 *   mfinal mweak mprof pprof -- specials (finalizers, profile records), weak links, the heap profile
 *   mgcmark          -- marking
 *   mgc              -- the collector's cycle and pacing
 *   heapdump leakcheck -- tools that read the whole heap with the world stopped
 *   everywhere: panic options mstats sizeclasses lockrank
 *   back edges:
 *   mpagealloc -> mheap: the page allocator walks the heap's arena list (gh_heap.all_arenas)
 *   mheap -> mcentral: reclaim sweeps before growing (gh_mcentral_reclaim)
 *   mgcsweep, mcentral -> mfinal: a freed object or large span drops its finalizer specials
 *   mcache -> malloc: a thread's first mcache initialises goheap (gh_ensure_init)
 *   mcache -> world: a thread's first mcache registers the thread (gh_world_register)
 *   world -> mgc: fork hooks and thread registration (gh_gc_fork_*, gh_register_thread)
 *   malloc -> mgc: allocation starts and paces collections (gh_gc_maybe_start, gh_gc_init)
 *   malloc -> mprof: a sampled allocation records its stack (Go: mallocgc's profilealloc)
 *   malloc -> heapdump, leakcheck: the exit-time reports run beside initialisation
 *   mfinal -> mgc: the finalizer thread registers as a mutator (gh_register_thread)
 *   panic -> malloc: gh_set_error_mode initialises first (gh_ensure_init)
 *   mfixalloc, mheap, mgcscavenge, mbarrier, mcentral -> mcache, world: a registered
 *     thread holding a lock is in a slow path (gh_mutex_lock: gh_tls_mcache, gh_world_safepoint)
 *   mstats -> malloc, mfixalloc, mheap, mcache, world, mgc: gh_read_stats and
 *     gh_print_stats gather every layer's numbers
 *
 * Concurrency naming: a field whose name starts with `x` is shared between
 * threads and is read and written only through the gh_atomic_* helpers below;
 * a function whose name ends in `_locked` needs the lock its comment names.
 */
#ifndef GH_INTERNAL_H
#define GH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../include/goheap.h"
#include "msize.h"
#include "os/os.h"

/* ---- compiler helpers ---------------------------------------------------- */
#define gh_likely(x) __builtin_expect(!!(x), 1)
#define gh_unlikely(x) __builtin_expect(!!(x), 0)
#define GH_NOINLINE __attribute__((noinline))
#define GH_COLD __attribute__((cold, noinline))
#define GH_CACHELINE 64
#define GH_STR2(x) #x
#define GH_STR(x) GH_STR2(x)
#define GH_VERSION_STRING GH_STR(GOHEAP_VERSION_MAJOR) "." GH_STR(GOHEAP_VERSION_MINOR) "." GH_STR(GOHEAP_VERSION_PATCH)

/* Atomics: the only place goheap names the compiler's __atomic builtins
 * (lint: tools/lint/atomics.py). The suffix is the memory order: _relaxed,
 * _acquire, _release, none (acq_rel for read-modify-write), _seq (seq_cst,
 * for the Dekker-style handshakes between a free and a sweep). Every
 * read-modify-write returns the old value. */
#define gh_atomic_load_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define gh_atomic_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define gh_atomic_load_seq(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define gh_atomic_store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define gh_atomic_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define gh_atomic_store_seq(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define gh_atomic_exchange(p, v) __atomic_exchange_n((p), (v), __ATOMIC_ACQ_REL)
#define gh_atomic_exchange_seq(p, v) __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define gh_atomic_add(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define gh_atomic_sub(p, v) __atomic_fetch_sub((p), (v), __ATOMIC_RELAXED)
#define gh_atomic_add_seq(p, v) __atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)
#define gh_atomic_sub_seq(p, v) __atomic_fetch_sub((p), (v), __ATOMIC_SEQ_CST)
#define gh_atomic_or(p, v) __atomic_fetch_or((p), (v), __ATOMIC_RELAXED)
#define gh_atomic_or_seq(p, v) __atomic_fetch_or((p), (v), __ATOMIC_SEQ_CST)
#define gh_atomic_and_seq(p, v) __atomic_fetch_and((p), (v), __ATOMIC_SEQ_CST)
/* Compare-and-swap of *p from `old` to `new`; true if it happened. */
#define gh_atomic_cas(p, old, new)                                                                   \
  __extension__({                                                                                    \
    __typeof__(*(p)) gh_expect_ = (old);                                                             \
    __atomic_compare_exchange_n((p), &gh_expect_, (new), false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED); \
  })
/* Orders the compiler against a signal handler on this thread (no fence instruction). */
#define gh_signal_fence() __atomic_signal_fence(__ATOMIC_SEQ_CST)

static inline uint32_t gh_ctz64(uint64_t x) { return x ? (uint32_t)__builtin_ctzll(x) : 64; }
/* x86-64's baseline (Debian's target) has no POPCNT instruction, and there
 * the builtin is a call to libgcc's __popcountdi2 (7% of alloc-test's time):
 * the same bit count inline, without a call; the instruction where the
 * target has it (-mpopcnt, -march=native, aarch64's cnt). */
static inline uint32_t gh_popcount64(uint64_t x) {
#if defined(__x86_64__) && !defined(__POPCNT__)
  x = x - ((x >> 1) & 0x5555555555555555ull);
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
  return (uint32_t)((x * 0x0101010101010101ull) >> 56);
#else
  return (uint32_t)__builtin_popcountll(x);
#endif
}

/* ---- debug builds ----------------------------------------------------------
 * GH_DEBUG=1 (make debug) turns on GH_ASSERT, the lock-order and lock-held
 * checks below, and the span/central/heap checkers at the layer boundaries
 * (after a sweep, a refill, a span's return to the heap). Release builds
 * compile all of it away. */
#ifndef GH_DEBUG
#define GH_DEBUG 0
#endif
__attribute__((noreturn)) void gh_throw(const char *msg); /* panic.c: an internal invariant broken */
#if GH_DEBUG
#define GH_ASSERT(cond, what) ((cond) ? (void)0 : gh_throw("assertion failed: " what " (" __FILE__ ":" GH_STR(__LINE__) ")"))
#else
#define GH_ASSERT(cond, what) ((void)0)
#endif

/* ---- locks and their order (Go: lockrank.go) --------------------------------
 * Every goheap lock has a rank; a thread may take a lock only if every lock
 * it holds has a lower rank. Locks of one multi rank (the mcentrals) may
 * nest only in increasing address order (fork takes them all). Debug builds
 * check both at every acquisition and that `_locked` functions are called
 * with their lock held (gh_assert_held; tools/lint/locks.py checks that every
 * `_locked` function asserts it). fork() takes every global lock in this
 * order (world.c), so that no lock is held mid-update in the child.
 * Outermost first: */
typedef enum gh_lockrank {
  GH_RANK_NONE,       /* a lock nobody initialised: an error */
  GH_RANK_INIT,       /* malloc.c: first-use initialisation */
  GH_RANK_GC,         /* mgc.c: one collection at a time */
  GH_RANK_WORLD,      /* world.c: the thread registry */
  GH_RANK_MCENTRAL,   /* mcentral.c: a span class's lists (multi) */
  GH_RANK_SPECIAL,    /* mfinal.c: one span's finalizer list */
  GH_RANK_HEAP,       /* mheap.c: pages, arenas, the heap's fixallocs */
  GH_RANK_FINQ,       /* mfinal.c: the finalizer queue */
  GH_RANK_SPECIALS,   /* mfinal.c: the finalizer records' fixalloc */
  GH_RANK_ROOTS,      /* mgcmark.c: gh_add_roots ranges */
  GH_RANK_MARKWORK,   /* mgcmark.c: mark work buffers */
  GH_RANK_WEAK,       /* mweak.c: the weak-link table */
  GH_RANK_PERSISTENT, /* mfixalloc.c: persistent_alloc (a leaf) */
  GH_RANK_COUNT
} gh_lockrank;
#if GH_DEBUG
void gh_mutex_lock(gh_mutex *l);
void gh_mutex_unlock(gh_mutex *l);
void gh_mutex_reinit(gh_mutex *l);
void gh_assert_held(const gh_mutex *l);
void gh_assert_no_locks(void); /* at a safe point */
#else
/* gh_mutex_lock, gh_mutex_unlock, gh_mutex_reinit: see "safe points" below */
#define gh_assert_held(l) ((void)(l))
#define gh_assert_no_locks() ((void)0)
#endif

/* ---- address-space constants (Go on linux/amd64) ------------------------- */
#define GH_ARENA_SHIFT 26                                  /* 64 MiB heap arenas */
#define GH_ARENA_SIZE ((uintptr_t)1 << GH_ARENA_SHIFT)
#define GH_PAGES_PER_ARENA (GH_ARENA_SIZE >> GH_PAGE_SHIFT) /* 8192 */
#define GH_ADDR_BITS 48                                    /* user space on x86-64 and arm64 */
#define GH_ARENA_INDEX_BITS (GH_ADDR_BITS - GH_ARENA_SHIFT)  /* 22: arena numbers */
#define GH_ARENA_L2_BITS 11                                /* an L2 block: 2048 arenas, 128 GiB */
#define GH_ARENA_L1_ENTRIES ((uintptr_t)1 << (GH_ARENA_INDEX_BITS - GH_ARENA_L2_BITS))
#define GH_ARENA_L2_ENTRIES ((uintptr_t)1 << GH_ARENA_L2_BITS)
#define GH_CHUNK_PAGES 512                                 /* page-allocator chunk: 4 MiB */
#define GH_CHUNKS_PER_ARENA (GH_PAGES_PER_ARENA / GH_CHUNK_PAGES)
#define GH_CHUNK_WORDS (GH_CHUNK_PAGES / 64)
#define GH_NUM_SPAN_CLASSES (GH_NUM_SIZE_CLASSES * 3)
#define GH_MAX_OBJS_PER_SPAN 1024 /* 8 KiB of 8-byte objects */
#define GH_MAX_BITMAP_WORDS (GH_MAX_OBJS_PER_SPAN / 64)
#define GH_MAX_ALLOC ((size_t)1 << 46) /* larger requests fail with ENOMEM at once */

/*
 * Span class (Go: mheap.go:spanClass is size class * 2 + noscan). goheap has
 * three kinds, because manual (malloc) and collected (gh_alloc) objects never
 * share a span: sweeping applies the collector's mark bits only to collected
 * spans, and manual spans are scanned whole as roots:
 *   span class = size class * 3 + kind        (size class 0: large objects)
 * The class stays one byte, in the span's first cache line.
 */
typedef uint8_t gh_spanclass;
#define GH_KIND_MANUAL 0u /* malloc: freed explicitly; scanned as a root */
#define GH_KIND_SCAN 1u   /* collected, may hold pointers */
#define GH_KIND_NOSCAN 2u /* collected, holds no pointers: marked, never scanned */
static inline gh_spanclass gh_make_spanclass(uint32_t sizeclass, uint32_t kind) {
  return (gh_spanclass)(sizeclass * 3 + kind);
}
static inline uint32_t gh_spanclass_sizeclass(gh_spanclass sc) { return sc / 3u; }
static inline uint32_t gh_spanclass_kind(gh_spanclass sc) { return sc % 3u; }
static inline bool gh_spanclass_is_large(gh_spanclass sc) { return sc < 3; }
static inline bool gh_spanclass_noscan(gh_spanclass sc) { return gh_spanclass_kind(sc) == GH_KIND_NOSCAN; }
static inline bool gh_spanclass_collected(gh_spanclass sc) { return gh_spanclass_kind(sc) != GH_KIND_MANUAL; }
/* Go's tiny allocator: noscan collected requests under GH_TINY_SIZE bytes share
 * blocks of the 16-byte noscan span class (as do 16-byte noscan objects, which
 * need no sharing), so a pointer into such a span may be interior and an
 * explicit free of it is ignored (malloc.c; documented in goheap.h). */
#define GH_TINY_SIZE 16
#define GH_TINY_CLASS 2
#define GH_TINY_SPANCLASS (GH_TINY_CLASS * 3 + GH_KIND_NOSCAN)

/* ---- mspan (Go: mheap.go:mspan) ------------------------------------------ */
typedef enum gh_span_state {
  GH_SPAN_DEAD = 0,   /* not in use: on no list, its pages free (Go: mSpanDead) */
  GH_SPAN_IN_USE = 1, /* holds heap objects (Go: mSpanInUse) */
  GH_SPAN_STATE_COUNT
} gh_span_state;
extern const char *const gh_span_state_names[GH_SPAN_STATE_COUNT]; /* Go: mSpanStateNames */

struct gh_mcache;
struct gh_spanlist;

/*
 * A small-object span is `npages` pages cut into `nelems` slots of `elemsize`
 * bytes; a large span (class 0) is one object of `npages` pages. Metadata never
 * lives in user memory: the bitmaps are separate, so an overflowing block cannot
 * corrupt the allocator.
 *
 * Invariants (between sweeps; a sweep re-establishes them):
 *  I1  slot i is allocated  <=>  (i < freeindex || alloc_bits[i]) && !freed(i),
 *      where freed(i) = free_bits[i] || xremote_free_bits[i] (explicit frees not
 *      yet swept). Allocation never sets alloc_bits; it only advances freeindex.
 *  I2  alloc_cache holds ~alloc_bits[freeindex .. freeindex+63] as seen from
 *      freeindex's 64-slot word, shifted so bit 0 is slot freeindex, with no
 *      bit at or past nelems; or, when freeindex is a multiple of 64, it may
 *      be 0 with the word not loaded yet (the fast path took the previous
 *      word's last slot; the slow path loads the word).
 *  I3  alloc_count == freeindex-allocated + popcount(alloc_bits >= freeindex)
 *      (frees are subtracted only when swept).
 *  I4  bits of every bitmap at indices >= nelems are zero.
 *  I5  sweepgen of a collected span, relative to the heap's h (gh_mheap.xsweepgen):
 *        h-2 needs sweeping, h-1 being swept, h swept and not cached,
 *        h+3 swept then cached (Go's h+1, "cached before this sweep cycle
 *        began", never occurs: a collection flushes every mcache first).
 *      A sweeper claims a span by CAS from h-2 to h-1; otherwise only the
 *      owner of a span (the thread that took it off an mcentral list or its
 *      mcache) may change it. Manual spans keep the sweepgen 0 they had at birth.
 *  I7  gcmark_bits are zero except during a collection's mark (a concurrent
 *      mark's whole duration: marks and black allocations land on spans
 *      their owners sweep in place meanwhile) and before the sweep that
 *      consumes them; slots above nelems are never marked.
 *  I6  a span with state IN_USE is mapped by every one of its pages in the
 *      arena's spans[] table; a DEAD span by none.
 */
typedef struct gh_mspan {
  /* cache line 1: everything malloc's and free's fast paths read */
  uint64_t alloc_cache;    /* I2: 1 bits are free slots, bit 0 = slot freeindex (owner only) */
  uint32_t freeindex;      /* next slot to examine; slots below are allocated (I1) */
  uint32_t nelems;         /* number of slots; 1 for a large span */
  uintptr_t start_addr;    /* first byte; page aligned */
  uintptr_t elemsize;      /* slot size; npages*8KiB for a large span */
  uint32_t alloc_count;    /* I3 */
  uint32_t div_mul;        /* reciprocal of elemsize (msize.h); 0 for large spans */
  struct gh_mcache *xowner;    /* the mcache caching this span, or NULL */
  uint64_t *alloc_bits;    /* I1: allocation bitmap as of the last sweep */
  gh_spanclass spanclass;  /* size class * 3 + kind (gh_make_spanclass) */
  uint8_t xstate;          /* gh_span_state; set last on init, with release order */
  uint8_t needzero;        /* 1 if free slots may hold old data */
  uint8_t xqueued;         /* 1 once a free asked for a sweep; cleared by the sweeper */
  uint32_t local_frees;    /* owner frees since the last sweep (owner only): a hint that
                              a sweep would find something; the sweep counts the bits */
  /* cache line 2: the bitmaps of a span of at most 64 slots live here */
  uint64_t inline_bits[4]; /* alloc, free, remote, mark words when the bitmaps are 1 word */
  uint64_t *free_bits;     /* slots freed by the owning thread since the last sweep */
  uint64_t *xremote_free_bits; /* slots freed by other threads; atomic OR, taken by xchg */
  uint64_t *gcmark_bits;   /* the collector's mark bits: zero between collections */
  uint32_t xpins;          /* frees between publishing a bit and queueing: no release while > 0 */
  uint32_t npages;
  /* cache line 3: the mcentral's lists (owned by its lock), sweeping, stats */
  struct gh_mspan *next, *prev;
  struct gh_spanlist *list; /* the list this span is on, NULL if none */
  uint32_t xsweepgen;      /* I5 */
  uint32_t alloc_count_before_cache; /* alloc_count when last cached or swept (stats) */
  uintptr_t limit;         /* end of usable data: start + nelems*elemsize, or + size */
  struct gh_special *specials; /* finalizers and profile records, sorted by offset (speciallock);
                                  links are written with release stores, so gh_span_has_specials
                                  may test this one without the lock */
  struct gh_special *specials_cursor; /* the last one inserted, or NULL (speciallock) */
  gh_mutex speciallock;    /* rank GH_RANK_SPECIAL, set by gh_mheap_alloc_span */
} gh_mspan;
_Static_assert(sizeof(gh_mspan) % GH_CACHELINE == 0, "gh_mspan must fill whole cache lines");

static inline uint32_t gh_span_bitmap_words(const gh_mspan *s) { return (s->nelems + 63) / 64; }

/* Has the span any special? A hint, without its lock (another thread may be adding one). */
static inline bool gh_span_has_specials(const gh_mspan *s) { return gh_atomic_load_acquire(&s->specials) != NULL; }

/* ---- span lists (mcentral) ------------------------------------------------ */
typedef struct gh_spanlist {
  gh_mspan *first, *last; /* newest, oldest */
  uint32_t count;
} gh_spanlist;

/* ---- mcentral (Go: mcentral.go) ------------------------------------------- */
/*
 * One per span class. Spans that are not cached by an mcache sit on one of
 * four lists, partial/full x swept/unswept; which index of each pair is "swept"
 * flips with the heap's sweepgen (Go: mcentral.go:partialSwept). A span is
 * unswept either because a collection has run (sweepgen h-2) or because an
 * explicit free queued it (xqueued). Every field below `lock` is protected by it.
 */
typedef struct gh_mcentral {
  gh_mutex lock;
  gh_spanclass spanclass;
  gh_spanlist partial[2]; /* spans with free slots */
  gh_spanlist full[2];    /* spans without free slots (as of their last sweep) */
  gh_spanlist empty;      /* swept spans with no object, kept for reuse (at most 8 pages) */
  uint64_t nspans;        /* spans of this class in use, cached ones included */
  uint64_t queued_since_cache; /* spans queued by frees since the last cacheSpan */
  char pad[GH_CACHELINE];
} gh_mcentral;

/* ---- mcache (Go: mcache.go) ----------------------------------------------- */
/*
 * One per thread, reached through an initial-exec TLS pointer. Only its
 * thread touches alloc[] and spare[]; the registry links are protected by the
 * world lock.
 *
 * Unlike Go's mcache, which holds one span per class, goheap's also keeps the
 * last few spans it allocated from (spare[], up to 16 spans and 128 KiB per
 * class): explicit frees by this thread to
 * a span it caches are plain stores, so keeping recently used spans cached
 * makes a thread's frees of its own recent objects cheap even in classes with
 * few objects per span. Every span in alloc[] or spare[] has xowner == this,
 * and no span is ever in two slots, not even for an instant: a fork child
 * releases the caches of threads that died mid-update (world.c), and must not
 * release a span twice. So slots change by single release stores.
 */
#define GH_MCACHE_SPARES 16             /* at most ... */
#define GH_MCACHE_SPARE_BYTES (128 << 10) /* ... and at most this much per class */
struct gh_class_stats;
typedef struct gh_mcache {
  /* The heap profile (mprof.c; Go: mcache.nextSample): bytes still to
   * allocate before the next sampled allocation; every allocation subtracts
   * its size, and a negative result samples it. */
  int64_t next_sample;
  uint64_t sample_rng;      /* the sampling distance's random state; 0 until seeded */
  uint32_t sampling;        /* 1 while this thread records a sample (no nested samples) */
  uintptr_t outer_ra;       /* set while an entry point allocates through another (realloc
                               through malloc): the return address the stack starts at */
  gh_mspan *alloc[GH_NUM_SPAN_CLASSES]; /* the span to allocate from; &gh_emptyspan if none */
  /* Go: mcache.tiny. Noscan collected requests under 16 bytes are packed into
   * one 16-byte block; tiny is its address (0 if none), tinyoffset the first
   * free byte. The block is an ordinary object, marked as a root while held. */
  uintptr_t tiny;
  uintptr_t tinyoffset;
  /* Stopping the world (world.c). unsafe > 0 while the thread is in a slow
   * path of the allocator: it is then not at a safe point, and the stop
   * signal's handler returns at once; the slow path stops the thread when
   * it leaves (gh_leave). The fast paths, which are not counted, live in the
   * section gh_fast and the handler recognises them by the interrupted pc. */
  uint32_t unsafe;
  uint32_t xstop_epoch;     /* the stop request this thread has answered (stopped for) */
  uintptr_t stop_sp;        /* its stack pointer while stopped: scanned up to stack_hi */
  uintptr_t stack_hi;       /* top of its stack (exclusive); found at its first stop */
  uintptr_t stop_regs[32];  /* its registers while stopped (roots) */
  /* 0 running; 1 blocked in a goheap wait at a safe point (gh_world_blocking_wait:
   * stop_sp is set, it counts as stopped without a signal); 2 counted as stopped
   * by a collection, which sets it back to 1 before restarting the world. */
  uint32_t xblocked;
  gh_mspan *spare[GH_NUM_SPAN_CLASSES][GH_MCACHE_SPARES]; /* or NULL */
  uint8_t spare_next[GH_NUM_SPAN_CLASSES]; /* the spare slot to replace next (a ring) */
  /* this thread's counts (relaxed stores by the thread, relaxed loads by
   * gh_read_stats), added to the global table when the thread exits */
  struct gh_class_stats { uint64_t nmalloc, nfree; } local_stats[GH_NUM_SIZE_CLASSES];
  uint64_t thread_id;
  struct gh_mcache *all_next, *all_prev; /* registry of live mcaches (world lock) */
} gh_mcache;

typedef struct gh_class_stats gh_class_stats;

extern gh_mspan gh_emptyspan; /* nelems 0: the fast path always misses on it */

/* ---- page allocator (Go: mpagealloc.go, mpallocbits.go) -------------------- */
/* Summary of one chunk of 512 pages (Go: pallocSum): free pages at the start,
 * the longest free run, free pages at the end. */
typedef struct gh_pallocsum {
  uint16_t start, max, end;
} gh_pallocsum;

/*
 * Per-arena page state, protected by the heap lock:
 *   alloc bit 1 = page in use by a span, or not yet committed (never free);
 *   scav  bit 1 = page is free and released to the OS (reads as zero).
 * Invariant: scav implies !alloc; summaries match the alloc bits.
 */
typedef struct gh_pallocdata {
  uint64_t alloc[GH_PAGES_PER_ARENA / 64];
  uint64_t scav[GH_PAGES_PER_ARENA / 64];
  gh_pallocsum sum[GH_CHUNKS_PER_ARENA];
} gh_pallocdata;

/* ---- heap arena (Go: mheap.go:heapArena) ----------------------------------- */
typedef struct gh_heaparena {
  gh_mspan *spans[GH_PAGES_PER_ARENA]; /* I6: page -> its in-use span, or NULL */
  gh_pallocdata pages;                 /* the page allocator's view of this arena */
  uint8_t xdirty[GH_PAGES_PER_ARENA];  /* GOHEAP_GC_MODE=manual: 1 = a page gh_write_barrier
                                          recorded since the collector last took it (mbarrier.c) */
  uintptr_t base;                      /* first byte of the arena */
} gh_heaparena;

/* ---- mheap (Go: mheap.go:mheap) --------------------------------------------- */
typedef struct gh_mheap {
  /* The arena index (Go: mheap.arenas, two levels): arena number (address >>
   * 26) -> its metadata. L1 is here; an L2 block of 2048 slots (16 KiB) is
   * mapped when its first arena is added, so the index costs address space
   * only where the heap is (one flat table would reserve 32 MiB). Slots are
   * published with release stores and never cleared. First, so spanOf needs no offset. */
  gh_heaparena **arenas[GH_ARENA_L1_ENTRIES];
  gh_mutex lock; /* protects everything below that is not atomic (and the index's writers) */
  gh_heaparena **all_arenas; /* every arena, in address order */
  uint32_t narenas, arenas_cap;
  uint32_t search_arena;    /* lowest arena (index into all_arenas) that may have free pages */
  uintptr_t next_hint;      /* where to try to reserve the next arena */
  uint32_t xsweepgen;       /* I5's h: advanced by 2 per collection */
  /* accounting, in pages (heap lock) */
  uint64_t pages_inuse;     /* pages in in-use spans */
  uint64_t pages_committed; /* pages made read/write */
  uint64_t pages_free;      /* committed free pages, released or not */
  uint64_t pages_released;  /* free pages given back to the OS */
  uint64_t pages_scavenging; /* free pages a scavenge took off the bitmaps while madvise runs */
} gh_mheap;

extern gh_mheap gh_heap;
extern gh_mcentral gh_central[GH_NUM_SPAN_CLASSES];

/* ---- mfixalloc.c: off-heap fixed-size allocation for metadata ------------- */
typedef struct gh_fixalloc {
  size_t size;        /* object size */
  void *free_list;    /* freed objects; first word links them */
  char *chunk, *chunk_end;
} gh_fixalloc;
void gh_fixalloc_init(gh_fixalloc *f, size_t size);
void *gh_fixalloc_alloc(gh_fixalloc *f); /* zeroed; NULL when the OS refuses */
void gh_fixalloc_free(gh_fixalloc *f, void *p);
void *gh_persistent_alloc(size_t size); /* never freed; zeroed; NULL on failure */
void gh_persistent_fork_prepare(void);
void gh_persistent_fork_parent(void);
void gh_persistent_fork_child(void);
/* Doubles a mapped metadata array (*arr, *cap elements of `elem` bytes, `used`
 * in use) to at least `first` elements; false, unchanged, if the OS refuses. */
bool gh_metadata_grow(void **arr, uint32_t *cap, uint32_t used, size_t elem, uint32_t first);
extern uint64_t gh_metadata_bytes;      /* mapped for metadata (atomic) */

/* ---- mpagealloc.c: the page allocator, heap lock held ---------------------- */
void gh_pagealloc_init_arena(gh_heaparena *a);
uintptr_t gh_pagealloc_alloc_locked(uintptr_t npages, uintptr_t *scav_pages);
bool gh_pagealloc_alloc_at_locked(uintptr_t addr, uintptr_t npages, uintptr_t *scav_pages);
void gh_pagealloc_free_locked(uintptr_t addr, uintptr_t npages);
void gh_pagealloc_grow_locked(uintptr_t addr, uintptr_t npages);
bool gh_pagealloc_find_unscavenged_locked(uintptr_t max_pages, uintptr_t *addr, uintptr_t *npages);
void gh_pagealloc_mark_scavenged_locked(uintptr_t addr, uintptr_t npages);
void gh_pagealloc_check_locked(void); /* aborts with a message if an invariant fails */

/* ---- mheap.c ------------------------------------------------------------------ */
void gh_mheap_init(void);
gh_mspan *gh_mheap_alloc_span(uintptr_t npages, gh_spanclass sc, uintptr_t align_pages);
void gh_mheap_free_span(gh_mspan *s);
bool gh_mheap_grow_span_in_place(gh_mspan *s, uintptr_t new_npages);
void gh_mheap_shrink_span(gh_mspan *s, uintptr_t new_npages);
bool gh_mheap_large_dies(gh_mspan *s);  /* IN_USE -> DEAD once, with the large-object counts */
bool gh_mheap_free_large(gh_mspan *s);  /* a manual large object; false: not live (double free) */

/* ---- mbarrier.c: the concurrent mark's write barrier (kernel written-page tracking) -- */
#define GH_GC_MODE_STW 0        /* GOHEAP_GC_MODE=stw: the whole mark with the world stopped */
#define GH_GC_MODE_CONCURRENT 1 /* ...=concurrent: mark while the program runs */
#define GH_GC_MODE_MANUAL 2     /* ...=manual: the same, with the program's gh_write_barrier calls */
extern const char *const gh_gc_mode_names[3]; /* options.c: "stw", "concurrent", "manual" */
extern uint32_t gh_gc_marking;  /* 1 during a concurrent mark: allocate black, record fresh spans */
void gh_barrier_init(void);
bool gh_barrier_on(void);     /* concurrent or manual mode */
bool gh_barrier_manual(void); /* manual mode */
void gh_barrier_committed_locked(uintptr_t lo, uintptr_t hi);
void gh_barrier_fresh_locked(uintptr_t base, uintptr_t npages);
bool gh_barrier_protect(void);  /* world running, before the start */
bool gh_barrier_start(void);    /* world stopped */
void gh_barrier_written(bool reprotect, void (*fn)(uintptr_t lo, uintptr_t hi, void *ctx), void *ctx);
bool gh_barrier_take_fresh(bool protect, void (*fn)(uintptr_t lo, uintptr_t hi, void *ctx), void *ctx);
void gh_barrier_unprotect(void);
void gh_barrier_fork_child(void);

/* ---- mgcscavenge.c: free pages back to the OS (Go: mgcscavenge.go) --------- */
void gh_mheap_scavenge(uint64_t bytes);        /* releases up to `bytes` of free pages now */
void gh_scavenge_taken_locked(void);            /* heap lock: free pages were taken */
uint64_t gh_scavenge_freed_locked(bool *wake);  /* heap lock: pages went free; bytes to release now */
void gh_scavenge_wake(void);                    /* after the unlock, when *wake */
void gh_scavenger_poll(void);                   /* no lock held, outside the heap: start the thread if due */
void gh_scavenge_fork_child(void);
uintptr_t gh_mheap_reclaim(uintptr_t pages); /* sweep until `pages` went back (Go: mheap.reclaim) */
void gh_mheap_check(void);
void gh_mheap_fork_child_repair(void);  /* first thing in a fork child */
void gh_mheap_end_mark(void);           /* world stopped: spans freed during a mark are recycled */
void gh_mheap_fork_child_recount(void); /* last */
/* Calls fn for every span starting in pages [first, first+n) of arena a
 * (world stopped, or a fork child). */
void gh_mheap_each_span_in(gh_heaparena *a, uint32_t first, uint32_t n, void (*fn)(gh_mspan *s, void *ctx), void *ctx);
void gh_mheap_each_span(void (*fn)(gh_mspan *s, void *ctx), void *ctx);
/* p is a page goheap reserved and that no span holds (a free or released page). */
bool gh_mheap_page_is_free(uintptr_t p);

/* The arena metadata covering p, or NULL if goheap never reserved there. */
static inline gh_heaparena *gh_arena_of(uintptr_t p) {
  uintptr_t i = p >> GH_ARENA_SHIFT;
  if (gh_unlikely(i >= (GH_ARENA_L1_ENTRIES << GH_ARENA_L2_BITS))) return NULL;
  gh_heaparena **l2 = gh_atomic_load_acquire(&gh_heap.arenas[i >> GH_ARENA_L2_BITS]);
  if (gh_unlikely(l2 == NULL)) return NULL;
  return gh_atomic_load_acquire(&l2[i & (GH_ARENA_L2_ENTRIES - 1)]);
}

/* The slot of arena a's page map that holds page p (I6). */
static inline gh_mspan **gh_arena_span_slot(gh_heaparena *a, uintptr_t p) {
  return &a->spans[(p >> GH_PAGE_SHIFT) & (GH_PAGES_PER_ARENA - 1)];
}

/* Go: mheap.go:spanOf. The span that owns p, or NULL if goheap does not
 * own p. Three dependent loads after the range check. */
static inline gh_mspan *gh_span_of(uintptr_t p) {
  gh_heaparena *a = gh_arena_of(p);
  if (gh_unlikely(a == NULL)) return NULL;
  return *gh_arena_span_slot(a, p);
}

/* ---- mspan.c: bitmap operations (Go: mbitmap.go) ----------------------------- */
void gh_mspan_init_small(gh_mspan *s, gh_spanclass sc);
uint32_t gh_mspan_next_free_index(gh_mspan *s);
void gh_mspan_refill_alloc_cache(gh_mspan *s, uint32_t word);
void gh_mspan_allocate_black(gh_mspan *s); /* during a concurrent mark: free slots marked ahead */
void gh_mspan_clear_marks(gh_mspan *s);    /* zeroes the mark bits (I7) */
uint64_t gh_mspan_cache_word(const gh_mspan *s, uint32_t word); /* free slots of a word, < nelems */
uint32_t gh_mspan_count_alloc(const gh_mspan *s);
bool gh_mspan_is_allocated(const gh_mspan *s, uint32_t i); /* I1, racy-safe reads */
bool gh_mspan_is_live(const gh_mspan *s, uint32_t i);      /* ... and not freed since the last sweep */
void gh_mspan_check(const gh_mspan *s); /* aborts with a message if an invariant fails */
void gh_mspan_flush_nmalloc(gh_mspan *s, struct gh_class_stats *local);
void gh_mspan_recount(gh_mspan *s);
void gh_mcache_recount_all(gh_mcache *c); /* fork child: before releasing a dead thread's cache */

/* Bits of word w of a span's bitmaps for the slots below freeindex (I1: allocated). */
static inline uint64_t gh_mspan_allocated_below(uint32_t freeindex, uint32_t w) {
  if (freeindex >= (w + 1) * 64) return ~0ull;
  if (freeindex <= w * 64) return 0;
  return (1ull << (freeindex - w * 64)) - 1;
}

static inline uint32_t gh_mspan_obj_index(const gh_mspan *s, uintptr_t p) {
  return gh_div_by_elemsize(p - s->start_addr, s->div_mul);
}

/* ---- mgcsweep.c ----------------------------------------------------------------- */
/* Merges pending frees; returns slots freed. Counts into `local` (the
 * owner's mcache table) or, when NULL, the global table. */
uint32_t gh_mspan_sweep(gh_mspan *s, struct gh_class_stats *local);
uint32_t gh_mspan_sweep_gc(gh_mspan *s, uint32_t *counted); /* applies the mark bits */
void gh_mspan_sweep_large(gh_mspan *s, bool gc);
/* Claims (I5) and sweeps a span taken off an mcentral's unswept list. */
void gh_mspan_sweep_uncached(gh_mspan *s, uint32_t sg);
static inline bool gh_mspan_frees_pending(const gh_mspan *s) {
  return s->local_frees || gh_atomic_load_seq(&s->xqueued);
}

/* ---- mcentral.c ----------------------------------------------------------------- */
void gh_mcentral_init(gh_mcentral *c, gh_spanclass sc);
gh_mspan *gh_mcentral_cache_span(gh_mcentral *c, gh_mcache *owner);
void gh_mcentral_uncache_span(gh_mcentral *c, gh_mspan *s);
void gh_mcentral_queue_for_sweep(gh_mcentral *c, gh_mspan *s);
void gh_mcentral_clear_empty_marks(gh_mcentral *c); /* world stopped */
uintptr_t gh_mcentral_reclaim(gh_mcentral *c, uintptr_t pages); /* pages given back */
bool gh_mcentral_sweep_one(gh_mcentral *c);
void gh_mcentral_add_large(gh_mcentral *c, gh_mspan *s); /* a new large collected span */
bool gh_mcentral_free_large(gh_mspan *s);               /* collected; false: not live (double free) */
void gh_mcentral_requeue_pending(gh_mcentral *c); /* queue swept spans with remote frees pending */
void gh_mcentral_check(gh_mcentral *c);
void gh_mcentral_adopt_limbo(void); /* fork child: spans dead threads held in flight */

/* ---- mcache.c ------------------------------------------------------------------- */
gh_mcache *gh_mcache_get_slow(void); /* creates the thread's mcache */
gh_mspan *gh_mcache_refill(gh_mcache *c, gh_spanclass sc);
void gh_mcache_release_all(gh_mcache *c);
void gh_mcache_flush_stats(gh_mcache *c);
gh_mcache *gh_mheap_alloc_mcache(void); /* mheap.c: zeroed, NULL if out of memory */
void gh_mheap_free_mcache(gh_mcache *c);
extern __thread gh_mcache *gh_tls_mcache __attribute__((tls_model("initial-exec")));

/* ---- safe points (world.c): every slow path runs between gh_enter and gh_leave ---- */
void gh_world_safepoint(gh_mcache *c); /* stops here if a collection asked to */
extern uint32_t gh_stw_epoch;          /* odd while a collection stops the world */
static inline gh_mcache *gh_enter(void) {
  gh_mcache *c = gh_tls_mcache;
  if (c) {
    c->unsafe++;
    gh_signal_fence();
  }
  return c;
}
static inline void gh_leave(gh_mcache *c) {
  if (!c) return;
  GH_ASSERT(c->unsafe != 0, "gh_leave without gh_enter (the slow-path count would wrap)");
  gh_signal_fence();
  if (--c->unsafe == 0 && gh_unlikely(gh_atomic_load_acquire(&gh_stw_epoch) & 1)) gh_world_safepoint(c);
}
/* A registered thread holding or waiting for a goheap lock is in a slow path
 * (Go: lock() raises m.locks, so the holder of a runtime lock is never
 * preempted): the stop signal never parks it holding a lock that another
 * thread needs to reach its own safe point (gh_finq_wake once parked holding
 * finq_lock while the finalizer thread waited for it: the stop timed out).
 * The count rises before the wait, so no signal lands between acquiring and
 * counting. gc_lock is the exception: the collector holds it while it stops
 * the world, and the threads waiting for it must park. Debug builds
 * (lockrank.c) wrap these with the order checks. */
static inline void gh_mutex_lock_counted(gh_mutex *l) {
  gh_mcache *c = l->rank == GH_RANK_GC ? NULL : gh_enter();
  gh_os_mutex_lock(l);
  l->counted = c != NULL;
}
/* The thread's mcache is the one the lock counted: it changes only when
 * the thread registers (none was counted) or exits (holding no lock). */
static inline gh_mcache *gh_mutex_uncount(gh_mutex *l) {
  gh_mcache *c = l->counted ? gh_tls_mcache : NULL;
  GH_ASSERT(!l->counted || c, "a counted lock released by a thread without its mcache");
  l->counted = 0;
  return c;
}
static inline void gh_mutex_unlock_counted(gh_mutex *l) {
  gh_mcache *c = gh_mutex_uncount(l);
  gh_os_mutex_unlock(l);
  gh_leave(c);
}
/* A fork child: the forking thread held the lock across fork() (fork waited
 * for any collection, so no stop is pending and gh_leave does not park). */
static inline void gh_mutex_reinit_counted(gh_mutex *l) {
  gh_mcache *c = gh_mutex_uncount(l);
  gh_os_mutex_reinit(l);
  gh_leave(c);
}
/* A fork child: a lock some thread that did not survive may have held. */
static inline void gh_mutex_reset(gh_mutex *l) {
  l->counted = 0; /* the count it raised died with that thread */
  gh_os_mutex_reinit(l);
}
#if !GH_DEBUG
static inline void gh_mutex_lock(gh_mutex *l) { gh_mutex_lock_counted(l); }
static inline void gh_mutex_unlock(gh_mutex *l) { gh_mutex_unlock_counted(l); }
static inline void gh_mutex_reinit(gh_mutex *l) { gh_mutex_reinit_counted(l); }
#endif
/* The calling thread's mcache, created if need be, inside gh_enter; NULL
 * (and nothing entered) if it cannot be created. */
static inline gh_mcache *gh_enter_mcache(void) {
  gh_mcache *c = gh_tls_mcache;
  if (gh_unlikely(!c)) c = gh_mcache_get_slow();
  if (c) {
    c->unsafe++;
    gh_signal_fence();
  }
  return c;
}
/* Fast paths: code the stop signal may interrupt only between two whole steps
 * is placed in this section (malloc.c); world.c treats a pc inside it as not
 * a safe point. Helpers they inline must be always_inline. */
#define GH_FAST __attribute__((section("gh_fast"), noinline, used))
#define GH_ALWAYS_INLINE inline __attribute__((always_inline))

/* ---- world.c: threads and fork --------------------------------------------------- */
void gh_world_init(void);        /* the thread-exit key; before init completes */
void gh_world_init_fork(void);   /* fork handlers; may allocate, so after init */
void gh_world_register(gh_mcache *c);
void gh_world_unregister(gh_mcache *c);
uint64_t gh_world_num_threads(void);
bool gh_world_stop(void);  /* stops every other registered thread; false (reported) on a timeout */
void gh_world_start(void);
void gh_world_each_thread(void (*fn)(gh_mcache *c, void *arg), void *arg); /* world stopped */
void gh_world_install_signal(void); /* at the first collection */
int gh_world_stop_signal(void);     /* GOHEAP_STOP_SIGNAL or the default, installed or not */
void gh_world_sum_local_stats(gh_class_stats *sum); /* every live mcache's counts */
/* Waits on a futex word as a stopped thread would (Go: entersyscallblock): for
 * goheap's own idle threads, which a collection then neither signals nor waits for. */
void gh_world_blocking_wait(uint32_t *addr, uint32_t val);
/* pthread_create for the program (override.c): the new thread is registered
 * before fn runs, and arg is a root until then. */
int gh_world_create_thread(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
void gh_world_scan_starting(void (*scan)(uintptr_t lo, uintptr_t hi, void *ctx), void *ctx); /* world stopped */

/* ---- the collector: mgc.c, mgcmark.c, mfinal.c ------------------------------------- */
typedef struct gh_mark_result {
  uint64_t marked_bytes;  /* collected objects found live */
  uint64_t manual_bytes;  /* allocated manual objects (they count as live) */
  uint64_t cpu_ns;        /* CPU time of all mark workers */
  uint64_t stack_bytes, global_bytes; /* roots scanned */
  uint32_t workers;
  bool forced;
} gh_mark_result;
void gh_gc_init(void);
void gh_gc_maybe_start(void);  /* from collected allocation slow paths, outside gh_enter */
void gh_gc_finish_sweep(void); /* sweeps every span a collection left unswept */
void gh_gc_set_goal(void);
void gh_gc_fill_stats(gh_stats *st);
void gh_gc_fork_prepare(void);        /* gc_lock, before every other lock */
void gh_gc_fork_prepare_leaves(void); /* the collector's leaf locks, after the heap lock */
void gh_gc_fork_parent_leaves(void);
void gh_gc_fork_parent(void);
void gh_gc_fork_child(void);
bool gh_gc_stop_and_run(void (*prepare)(void), void (*fn)(void *ctx), void *ctx); /* see mgc.c */
void gh_gc_prepare_mark(void);          /* world running, gc lock held */
void gh_gc_mark(gh_mark_result *out);   /* world stopped */
extern uint32_t gh_gc_alloc_wait;        /* concurrent mark: allocating threads wait for its end */
void gh_gc_mark_protect(void);           /* concurrent mark: world running, before the start */
void gh_gc_mark_start(void);             /* ... world stopped */
void gh_gc_mark_concurrent(void);        /* ... world running */
void gh_gc_mark_terminate(gh_mark_result *out); /* ... world stopped, caches flushed */
/* The leak check's mark (mgcmark.c): prepare with the world running, then
 * mark, mark from each unreached object, read the bits, end: world stopped. */
void gh_gc_prepare_leak_mark(void);
bool gh_gc_mark_leaks(void);
void gh_gc_mark_from_object(gh_mspan *s, uintptr_t lo, uintptr_t hi);
bool gh_gc_is_marked(gh_mspan *s, uintptr_t p);
void gh_gc_end_leak_mark(void);
void gh_gc_mark_fork_prepare(void);
void gh_gc_mark_fork_parent(void);
void gh_gc_mark_fork_child(void);
struct gh_special;
void gh_special_scan_roots(gh_mspan *s, void (*scan)(uintptr_t lo, uintptr_t hi, void *ctx), void *ctx);
uint64_t gh_special_queue_unreachable(gh_mspan *s, bool (*is_marked)(gh_mspan *, uintptr_t),
                                      uint64_t (*mark)(gh_mspan *, uintptr_t));
void gh_special_sweep(gh_mspan *s);
struct gh_bucket;
bool gh_special_add_profile(gh_mspan *s, uintptr_t p, struct gh_bucket *b, uint64_t size);
bool gh_special_take_profile(gh_mspan *s, uintptr_t p, struct gh_bucket **b, uint64_t *size);
bool gh_special_resize_profile(gh_mspan *s, uintptr_t p, uint64_t size, struct gh_bucket **b, uint64_t *old);
void gh_special_each_profile(const gh_mspan *s, void (*fn)(uintptr_t p, struct gh_bucket *b, uint64_t size, void *arg),
                             void *arg);
void gh_special_drop_all(gh_mspan *s);
void gh_finq_scan_roots(void (*scan)(uintptr_t lo, uintptr_t hi, void *ctx), void *ctx);
void gh_finq_wake(void);
void gh_finq_fork_prepare(void);
void gh_finq_fork_parent(void);
void gh_finq_fork_child(void);
/* mweak.c: weak links (world stopped: short links before the finalizers are
 * queued, then long links and dead link memory). */
void gh_weak_clear_dead(bool before_finalizers);
void gh_weak_fork_prepare(void);
void gh_weak_fork_parent(void);
void gh_weak_fork_child(void);
extern uint64_t gh_finalizers_run;

/* ---- mprof.c: the heap profile (Go: mprof.go) ---------------------------------------- */
#define GH_PROF_MAX_STACK 32
/* One call stack and the counts of the sampled objects allocated there (Go:
 * bucket + memRecord). Never freed; counts are atomic. */
typedef struct gh_bucket {
  struct gh_bucket *hnext;   /* hash chain (CAS-pushed) */
  struct gh_bucket *allnext; /* every bucket (CAS-pushed) */
  uint64_t hash;
  uint64_t xalloc_objects, xalloc_bytes, xfree_objects, xfree_bytes;
  uint32_t nstk;
  uintptr_t stk[];           /* return addresses, innermost first */
} gh_bucket;
/* The countdown of the calling thread's mcache went negative at the
 * allocation p: samples it (when profiling is on) and draws the next
 * distance. ra: the return address of goheap's entry point. Returns p. */
void *gh_mprof_malloc(void *p, size_t size, uintptr_t ra);
void gh_mprof_free(gh_bucket *b, uint64_t size); /* a sampled object was freed */
/* realloc resized p in place (and its span has specials, or the countdown
 * ran out): the profile follows (mprof.c). */
void gh_mprof_resized(void *p, size_t size, uintptr_t ra);
gh_bucket *gh_mprof_buckets(void);               /* all buckets, newest first */
int64_t gh_mprof_rate(void);
/* The sampling step of every allocation, with the thread's mcache c. */
#define GH_MPROF_COUNT(c, p, size)                                                          \
  (gh_unlikely(((c)->next_sample -= (int64_t)(size)) < 0)                                  \
       ? gh_mprof_malloc((p), (size), (uintptr_t)__builtin_return_address(0))              \
       : (p))

/* ---- pprof.c: profile.proto (github.com/google/pprof/proto/profile.proto) ---------- */
int gh_pprof_write_heap(int fd, int64_t rate); /* every bucket, as a heap profile; 0 or -1 */

/* ---- exit-time reports (called by malloc.c's destructor) ------------------------------ */
void gh_leak_at_exit(void);     /* GOHEAP_LEAKCHECK; may _exit */

/* ---- malloc.c ----------------------------------------------------------------------- */
void gh_ensure_init(void);
extern int gh_initialized;

/* ---- panic.c: reporting bad calls (Go: panic.go:throw) ---------------------- */
typedef enum gh_bad_kind {
  GH_BAD_DOUBLE_FREE,
  GH_BAD_FOREIGN,
  GH_BAD_INTERIOR,
  GH_BAD_SIZE_MISMATCH,
  GH_BAD_NOT_COLLECTED, /* a collector call on malloc'd memory */
} gh_bad_kind;
/* Reports a bad call on stderr and aborts, or returns in report mode. */
void gh_report_bad_pointer(const char *op, uintptr_t p, gh_bad_kind kind, const gh_mspan *s,
                           size_t given_size);
__attribute__((noreturn)) void gh_throw2(const char *msg, const char *detail, uint64_t val);
/* A small printf-free formatter: appends to buf. */
typedef struct gh_buf {
  char *p, *end;
} gh_buf;
/* One warning line on fd: an exit-time output to `path` (from option
 * `variable`) failed; errno says why. */
void gh_report_output_error(int fd, const char *variable, const char *path);

void gh_buf_str(gh_buf *b, const char *s);
void gh_buf_u64(gh_buf *b, uint64_t v);
void gh_buf_hex(gh_buf *b, uint64_t v);
void gh_buf_bytes(gh_buf *b, uint64_t v); /* "12.3 MiB" */

/* ---- options.c -------------------------------------------------------------------- */
typedef enum gh_option {
  GH_OPT_ON_ERROR,      /* 0 abort, 1 report */
  GH_OPT_STATS,         /* heap summary at exit: 0 none, 1 text, 2 JSON */
  GH_OPT_VERBOSE,       /* print the options in effect at start-up */
  GH_OPT_RETAIN,        /* bytes of free pages kept before returning any to the OS */
  GH_OPT_RETAIN_PERCENT,/* ... or this percentage of the heap in use, if larger */
  GH_OPT_SCAVENGER,     /* 0: no background scavenger thread (mgcscavenge.c) */
  GH_OPT_GOGC,          /* GOGC: heap growth % between collections; -1 off */
  GH_OPT_MEMLIMIT,      /* soft memory limit in bytes; INT64_MAX none */
  GH_OPT_GCTRACE,       /* GOHEAP_DEBUG=gctrace=1 */
  GH_OPT_GC_WORKERS,    /* mark workers; 0: one per CPU */
  GH_OPT_GC_MODE,       /* GH_GC_MODE_*: how the collector marks */
  GH_OPT_SCAN_MANUAL,   /* scan malloc'd objects as roots */
  GH_OPT_STOP_SIGNAL,   /* 0: SIGRTMIN+7 */
  GH_OPT_STOP_TIMEOUT_MS,
  GH_OPT_MARK_BUFFERS,  /* cap on 4 KiB mark-stack buffers; 0 none */
  GH_OPT_STATS_FILE,    /* path (gh_option_path) for GH_OPT_STATS's output; NULL: stderr */
  GH_OPT_PROFILE_RATE,  /* mean bytes between sampled allocations; 1 all, 0 off */
  GH_OPT_PROFILE,       /* path: heap profile at exit */
  GH_OPT_LEAKCHECK,     /* leak check at exit (and every allocation sampled) */
  GH_OPT_LEAKCHECK_EXITCODE, /* _exit status if it finds leaks; 0 keeps the program's */
  GH_OPT_DUMP,          /* path: heap dump at exit */
  GH_OPT_COUNT
} gh_option;
void gh_options_init(void);
int64_t gh_option_get(gh_option o);
void gh_option_set(gh_option o, int64_t v);
const char *gh_option_path(gh_option o); /* a KIND_PATH option's string, NULL if unset */
/* An exit-time output to the file a path option names (panic.c; write: gh_dump_heap...). */
void gh_write_option_file(gh_option o, const char *variable, int (*write)(int fd));
void gh_options_print(void);

/* ---- mstats.c ------------------------------------------------------------------------ */
/* Per size class: objects allocated (counted when their span is swept or
 * uncached) and objects freed (counted when swept). The global table is
 * updated with atomics; each mcache has its own (see gh_mcache). */
extern gh_class_stats gh_class_stats_tab[GH_NUM_SIZE_CLASSES];
void gh_stats_count(gh_class_stats *local, uint32_t sizeclass, uint64_t nmalloc, uint64_t nfree);
void gh_stats_flush_local(gh_class_stats *local); /* into the global table, then zero */
void gh_stats_add_local(gh_class_stats *sum, const gh_class_stats *local);
extern uint64_t gh_large_nmalloc, gh_large_nfree, gh_large_bytes; /* atomic */
extern uint64_t gh_large_bytes_total; /* cumulative bytes of large blocks allocated (atomic) */
/* Go: gcControllerState.heapLive. Bytes in live objects plus the free slots of
 * cached spans (they count as allocated from cacheSpan to uncacheSpan, so the
 * fast path need not count). The collector's pacer compares it with the goal. */
extern uint64_t gh_heap_live;
void gh_stats_init(void); /* after the options are read */
void gh_stats_at_exit(void); /* GOHEAP_STATS */

#endif /* GH_INTERNAL_H */
