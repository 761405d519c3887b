/*
 * bdwgc/gc.c -- libgc.so.1 on goheap: bdwgc 8.2's exported functions and
 * data symbols (the ABI of Debian's libgc1 8.2.2), implemented on goheap's
 * public API (include/goheap.h) and nothing else.  libgc.so.1 is linked
 * against libgoheap.so.0 (bdwgc/bdwgc.mk, and README-section.md for why).
 *
 * Conventions in the comments at each definition:
 *   [same]      bdwgc's documented contract;
 *   [superset]  goheap gives more than bdwgc promises (more is scanned or
 *               retained, memory is zeroed...), which no correct client
 *               can tell apart;
 *   [knob]      a tuning knob with no meaning for goheap: stored, returned
 *               by the getter, otherwise ignored;
 *   [approx]    an approximation, spelled out there;
 *   [none]      not available on goheap's public API: what it does instead.
 * The engine hooks that would make the [approx] and [none] entries exact
 * are listed in bdwgc/README-section.md.
 *
 * Nothing here is copied from bdwgc.
 */
#define _GNU_SOURCE 1
#define GC_THREADS 1
#define GC_NO_THREAD_REDIRECTS 1 /* pthread_create below is the real one */
#include "gc.h"
#include "gc/gc_mark.h"
#include "gc/gc_inline.h"
#include "gc/gc_typed.h"
#include "gc/gc_gcj.h"
#include "gc/gc_disclaim.h"
#include "gc/javaxfc.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "goheap.h"
#include "traced.h"

#define EXPORT __attribute__((__visibility__("default")))
#define HIDE(p) (~(GC_word)(p))
#define REVEAL(h) ((void *)~(GC_word)(h))

/* ======================================================================
 * Data symbols (bdwgc 8.2 exports them; clients read and write them).
 * ====================================================================== */
static void *GC_CALLBACK default_oom_fn(size_t n) {
  (void)n;
  return NULL; /* bdwgc's default: the allocation returns NULL */
}
static void GC_CALLBACK default_warn_proc(char *msg, GC_word arg) {
  fprintf(stderr, "GC Warning: ");
  fprintf(stderr, msg, arg);
}
static void GC_CALLBACK default_push_other_roots(void) {}
static void GC_CALLBACK default_same_obj_print(void *p, void *q) {
  fprintf(stderr, "GC_same_obj: %p and %p are not in the same object\n", p, q);
  abort();
}
static void GC_CALLBACK default_displacement_print(void *p) {
  fprintf(stderr, "GC_is_valid_displacement: %p is not a valid displacement\n", p);
  abort();
}
static void GC_CALLBACK default_visible_print(void *p) {
  fprintf(stderr, "GC_is_visible: %p is not visible to the collector\n", p);
  abort();
}
static void GC_CALLBACK default_on_abort(const char *msg) {
  if (msg) fprintf(stderr, "%s\n", msg);
}

/* Refreshed from gh_read_stats every 256 KiB allocated through this
 * library and at every GC_gcollect [approx: bdwgc bumps it at the end of
 * each collection; engine hook: a collection-end callback]. */
EXPORT GC_word GC_gc_no;
EXPORT int GC_parallel; /* [approx] 0: goheap's mark workers are its own */
EXPORT GC_oom_func GC_oom_fn = default_oom_fn;
EXPORT GC_on_heap_resize_proc GC_on_heap_resize; /* [none] never called */
EXPORT int GC_find_leak;                         /* [none] leak mode: never on */
EXPORT int GC_all_interior_pointers = 1;         /* [superset] always 1 in effect */
EXPORT int GC_finalize_on_demand;                /* [same] read at each collection */
EXPORT int GC_java_finalization = 1;             /* [knob] see finalization below */
EXPORT GC_finalizer_notifier_proc GC_finalizer_notifier;
EXPORT int GC_dont_gc;              /* [same] read every 256 KiB allocated and at GC_gcollect */
EXPORT int GC_dont_expand;          /* [knob] */
EXPORT int GC_use_entire_heap;      /* [knob] */
EXPORT int GC_full_freq = 19;       /* [knob] goheap's collections are all full */
EXPORT GC_word GC_non_gc_bytes;     /* [knob] */
EXPORT int GC_no_dls;               /* [approx] goheap always scans libraries' data */
EXPORT GC_word GC_free_space_divisor = 3; /* [approx] GOGC = 300 / divisor, see below */
EXPORT GC_word GC_max_retries;      /* [knob] */
EXPORT char *GC_stackbottom;        /* [knob] goheap reads stack bounds itself */
EXPORT int GC_dont_precollect;      /* [knob] */
EXPORT unsigned long GC_time_limit = 50; /* [knob] no incremental mode */
EXPORT GC_warn_proc GC_current_warn_proc = default_warn_proc;
EXPORT GC_push_other_roots_proc GC_push_other_roots = default_push_other_roots;
/* Kept current: the lowest and highest address of any object this library
 * has handed out [same in use: a pointer outside them is not a heap one]. */
EXPORT void *GC_least_plausible_heap_addr = (void *)~(uintptr_t)0;
EXPORT void *GC_greatest_plausible_heap_addr = (void *)0;
EXPORT void(GC_CALLBACK *GC_same_obj_print_proc)(void *, void *) = default_same_obj_print;
EXPORT void(GC_CALLBACK *GC_is_valid_displacement_print_proc)(void *) = default_displacement_print;
EXPORT void(GC_CALLBACK *GC_is_visible_print_proc)(void *) = default_visible_print;
EXPORT GC_abort_func GC_on_abort = default_on_abort;
/* The inline allocator's free lists of the predefined kinds: always empty
 * here, so inline allocation takes its slow path into this library. */
static void *fl_ptrfree[GC_TINY_FREELISTS], *fl_normal[GC_TINY_FREELISTS], *fl_uncoll[GC_TINY_FREELISTS],
    *fl_auncoll[GC_TINY_FREELISTS];
EXPORT void **const GC_objfreelist_ptr = fl_normal;
EXPORT void **const GC_aobjfreelist_ptr = fl_ptrfree;
EXPORT void **const GC_uobjfreelist_ptr = fl_uncoll;
EXPORT void **const GC_auobjfreelist_ptr = fl_auncoll;
EXPORT int GC_gcj_kind;
EXPORT int GC_gcj_debug_kind;
/* [same] no debug header: GC_debug_malloc's object starts at its base. */
EXPORT const size_t GC_debug_header_size = 0;

/* ======================================================================
 * Internal state
 * ====================================================================== */
static GC_word total_bytes;       /* bytes requested through this library */
static GC_word refresh_at;        /* total_bytes at which to refresh next */
static GC_word bytes_at_last_gc;  /* total_bytes when GC_gc_no last moved */
static GC_word expl_freed_since_gc;
static int init_called;
static int base_percent = 100;    /* GOGC as goheap started (GOHEAP_GOGC) */
static int env_gogc_set, env_memlimit_set;
static int disable_count;
static int disable_auto;          /* GC_set_disable_automatic_collection */
static int applied_percent = -1000; /* what this library last set */
static GC_word applied_divisor = 3;
static int applied_dont_gc;
static pthread_mutex_t ctl_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t alloc_lock; /* recursive; GC_call_with_alloc_lock */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static __thread int tls_registered; /* registered through this library */
static __thread int tls_in_finalizers;
static volatile int fin_ready_count; /* finalizers queued, not yet run */

static void refresh(void);
static void run_ready_if_due(void);

static void read_stats(gh_stats *st) {
  memset(st, 0, sizeof *st);
  st->size = sizeof *st;
  gh_read_stats(st);
}

static int in_mark; /* set while goheap's mark callback runs (world stopped) */
static void mark_callback(void *arg, unsigned round);
static void install_fork_handlers(void);
static void no_memory_for_record(void);
static void once_init(void) {
  pthread_mutexattr_t a;
  const char *e;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&alloc_lock, &a);
  pthread_mutexattr_destroy(&a);
  e = getenv("GOHEAP_GOGC");
  env_gogc_set = e && *e;
  e = getenv("GOHEAP_MEMLIMIT");
  env_memlimit_set = e && *e;
  gh_set_mark_callback(mark_callback, NULL);
  install_fork_handlers();
  base_percent = gh_set_gc_percent(100);
  gh_set_gc_percent(base_percent);
  applied_percent = base_percent;
  refresh_at = 256 << 10;
  init_called = 1; /* bdwgc initializes itself on first use too, */
  (void)gh_register_thread(); /* and registers the thread that does it */
  tls_registered = 1;
}
static inline void ensure_init(void) { pthread_once(&once, once_init); }

/* GOGC from the client's settings: off while GC_disable'd, GC_dont_gc or
 * automatic collection disabled; else 300 / GC_free_space_divisor when the
 * client changed the divisor (bdwgc's default 3 keeps goheap's GOGC, and
 * GOHEAP_GOGC in the environment always wins). */
static void apply_pacing(void) {
  int want;
  GC_word d = __atomic_load_n(&GC_free_space_divisor, __ATOMIC_RELAXED);
  pthread_mutex_lock(&ctl_lock);
  if (disable_count > 0 || GC_dont_gc || disable_auto) {
    want = -1;
  } else if (d != 3 && d != 0 && !env_gogc_set) {
    want = (int)(300 / d);
    if (want < 1) want = 1;
  } else {
    want = base_percent;
  }
  applied_divisor = d;
  applied_dont_gc = GC_dont_gc;
  if (want != applied_percent) {
    gh_set_gc_percent(want);
    applied_percent = want;
  }
  pthread_mutex_unlock(&ctl_lock);
}

/* [same] GC_least/greatest_plausible_heap_addr: goheap's arena range, so
 * that neither data symbol (a root, as all of this library's data) points
 * into an object and keeps it alive: the least is one byte below the lowest
 * arena, the greatest the end of the highest (bdwgc's test is inclusive). */
static void update_bounds(void) {
  void *lo, *hi;
  gh_heap_range(&lo, &hi);
  void *least = __atomic_load_n(&GC_least_plausible_heap_addr, __ATOMIC_RELAXED);
  void *greatest = __atomic_load_n(&GC_greatest_plausible_heap_addr, __ATOMIC_RELAXED);
  if (lo == NULL) return;
  lo = (char *)lo - 1;
  while ((uintptr_t)lo < (uintptr_t)least && /* a racing thread may hold an older, narrower range */
         !__atomic_compare_exchange_n(&GC_least_plausible_heap_addr, &least, lo, 1, __ATOMIC_RELAXED,
                                      __ATOMIC_RELAXED)) {
  }
  while ((uintptr_t)hi > (uintptr_t)greatest &&
         !__atomic_compare_exchange_n(&GC_greatest_plausible_heap_addr, &greatest, hi, 1, __ATOMIC_RELAXED,
                                      __ATOMIC_RELAXED)) {
  }
}

/* Every allocation ends here. */
static inline void *done(void *p, size_t n) {
  GC_word t;
  if (__builtin_expect(p == NULL, 0)) {
    GC_oom_func f = GC_oom_fn;
    return f ? f(n) : NULL;
  }
  if ((uintptr_t)p < (uintptr_t)GC_least_plausible_heap_addr ||
      (uintptr_t)p + n > (uintptr_t)GC_greatest_plausible_heap_addr)
    update_bounds();
  t = __atomic_add_fetch(&total_bytes, (GC_word)n, __ATOMIC_RELAXED);
  if (__builtin_expect(t >= refresh_at, 0)) refresh();
  if (__builtin_expect(fin_ready_count != 0, 0)) run_ready_if_due();
  return p;
}

/* ======================================================================
 * Initialization
 * ====================================================================== */
/* [same] goheap initializes itself on first use; this registers the
 * calling thread (bdwgc's GC_init registers the main thread). */
EXPORT void GC_init(void) {
  ensure_init();
  if (!tls_registered) {
    (void)gh_register_thread();
    tls_registered = 1;
  }
  init_called = 1;
  apply_pacing();
}
EXPORT int GC_is_init_called(void) { return init_called; }
/* [approx] goheap cannot be torn down; nothing happens. */
EXPORT void GC_deinit(void) {}
EXPORT unsigned GC_get_version(void) {
  return (GC_VERSION_MAJOR << 16) | (GC_VERSION_MINOR << 8) | GC_VERSION_MICRO;
}

/* ======================================================================
 * Allocation
 * ====================================================================== */
/* [same] gh_alloc: zeroed (bdwgc also clears NORMAL objects), scanned. */
EXPORT void *GC_malloc(size_t n) {
  ensure_init();
  return done(gh_alloc(n ? n : 1), n);
}
/* [same] gh_alloc_noscan, at least 16 bytes: goheap, as Go, packs noscan
 * objects under 16 bytes into shared blocks, which GC_base, GC_size and
 * GC_free could not treat as objects of their own.  Zeroed [superset]. */
EXPORT void *GC_malloc_atomic(size_t n) {
  ensure_init();
  return done(gh_alloc_noscan(n < 16 ? 16 : n), n);
}
/* [same] a malloc'd block of goheap's: never collected, always scanned
 * (goheap scans every malloc'd object).  GC_free frees it. */
EXPORT void *GC_malloc_uncollectable(size_t n) {
  ensure_init();
  return done(gh_calloc(1, n ? n : 1), n);
}
/* [superset] as GC_malloc_uncollectable: the block is scanned too. */
EXPORT void *GC_malloc_atomic_uncollectable(size_t n) { return GC_malloc_uncollectable(n); }
/* [superset] goheap recognizes every interior pointer: no page hint needed. */
EXPORT void *GC_malloc_ignore_off_page(size_t n) { return GC_malloc(n); }
EXPORT void *GC_malloc_atomic_ignore_off_page(size_t n) { return GC_malloc_atomic(n); }
/* [same] stubborn objects are ordinary ones since bdwgc 7.x. */
EXPORT void *GC_malloc_stubborn(size_t n) { return GC_malloc(n); }
EXPORT void GC_change_stubborn(const void *p) { (void)p; }
/* [same] MANUAL_VDB's write barrier: goheap's gh_write_barrier, which records
 * the write when GOHEAP_GC_MODE=manual and returns at once otherwise. */
EXPORT void GC_end_stubborn_change(const void *p) {
  if (gh_gc_mode() != GH_GC_MANUAL) return;
  void *b = gh_base((void *)p); /* NULL for a pointer outside the heap */
  if (b) gh_write_barrier_range(b, gh_malloc_usable_size(b));
}
EXPORT void GC_ptr_store_and_dirty(void *p, const void *q) {
  *(const void **)p = q;
  gh_write_barrier(p);
}
/* [same] gh_free: collected or malloc'd objects. */
EXPORT void GC_free(void *p) {
  if (p == NULL) return;
  __atomic_add_fetch(&expl_freed_since_gc, (GC_word)gh_malloc_usable_size(p), __ATOMIC_RELAXED);
  traced_remove(p);
  gh_free(p);
}
/* A traced object moves to a new one of the same descriptor, recorded
 * before the copy; the old one is forgotten after it, so that a collection
 * in between traces what either holds (a layout's object is noscan). */
static void *realloc_traced(void *p, size_t n, GC_word d, size_t stride) {
  size_t old = gh_malloc_usable_size(p);
  int collected = gh_is_collected(p);
  void *q = traced_is_layout(d) ? gh_alloc_noscan(n < 16 ? 16 : n) : collected ? gh_alloc(n) : gh_calloc(1, n);
  if (q == NULL) return NULL;
  if (!traced_add(q, d, stride, !collected)) {
    if (!traced_is_layout(d)) no_memory_for_record();
    gh_free(q);
    if ((q = gh_alloc(n)) == NULL) return NULL; /* [superset] scanned in full */
  }
  memcpy(q, p, old < n ? old : n);
  traced_remove(p);
  gh_free(p);
  return q;
}
/* [same] keeps the object's kind (gh_realloc; a traced object's layout or
 * mark procedure too); NULL: GC_malloc; 0: free. */
EXPORT void *GC_realloc(void *p, size_t n) {
  GC_word d;
  size_t stride;
  if (p == NULL) return GC_malloc(n);
  if (n == 0) {
    GC_free(p);
    return NULL;
  }
  if (traced_find(p, &d, &stride)) return done(realloc_traced(p, n, d, stride), n);
  return done(gh_realloc(p, n < 16 ? 16 : n), n);
}
EXPORT char *GC_strdup(const char *s) {
  size_t n;
  char *p;
  if (s == NULL) return NULL;
  n = strlen(s) + 1;
  p = (char *)GC_malloc_atomic(n);
  if (p) memcpy(p, s, n);
  return p;
}
EXPORT char *GC_strndup(const char *s, size_t k) {
  size_t n = strnlen(s, k);
  char *p = (char *)GC_malloc_atomic(n + 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = 0;
  }
  return p;
}
/* [same] as bdwgc does it above its granule: an object of lb + align - 1
 * bytes and the aligned interior pointer into it (which keeps it alive;
 * GC_base gives the object's start). */
EXPORT void *GC_memalign(size_t align, size_t lb) {
  char *p;
  if (align <= 16) return GC_malloc(lb);
  if ((align & (align - 1)) != 0 || lb > (size_t)-1 - align) {
    errno = EINVAL;
    return NULL;
  }
  p = (char *)GC_malloc(lb + align - 1);
  if (p == NULL) return NULL;
  return (void *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
}
EXPORT int GC_posix_memalign(void **out, size_t align, size_t lb) {
  void *p;
  if (align < sizeof(void *) || (align & (align - 1)) != 0) return EINVAL;
  p = GC_memalign(align, lb);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
/* [approx] goheap keeps its own counters: these only move GC_get_total_bytes. */
EXPORT void GC_incr_bytes_allocd(size_t n) { __atomic_add_fetch(&total_bytes, (GC_word)n, __ATOMIC_RELAXED); }
EXPORT void GC_incr_bytes_freed(size_t n) { __atomic_add_fetch(&expl_freed_since_gc, (GC_word)n, __ATOMIC_RELAXED); }

/* ---- kinds ------------------------------------------------------------
 * bdwgc's predefined kinds 0 PTRFREE, 1 NORMAL, 2 UNCOLLECTABLE,
 * 3 AUNCOLLECTABLE; GC_new_kind adds more.  goheap has two kinds of
 * collected object, scanned (conservatively, in full) and noscan: a kind
 * whose descriptor says "no pointers" (length 0) is noscan; a kind whose
 * descriptor is a bitmap is noscan and traced by its layout (bdwgc/traced.c);
 * a length descriptor is scanned in full [superset].  A kind with a mark
 * procedure (GC_MAKE_PROC): [superset] its objects are scanned in full,
 * conservatively, and the procedure is called too, for every marked object
 * of the kind in every collection (bdwgc/traced.c says why not only the
 * procedure). */
#define MAXKINDS 64
#define K_PTRFREE 0
#define K_NORMAL 1
#define K_UNCOLL 2
#define K_AUNCOLL 3
struct kind {
  void **fl;
  GC_word descr;
  int noscan, uncollectable, used;
};
static struct kind kinds[MAXKINDS] = {
    {fl_ptrfree, 0, 1, 0, 1}, {fl_normal, 0, 0, 0, 1}, {fl_uncoll, 0, 0, 1, 1}, {fl_auncoll, 0, 1, 1, 1}};
static unsigned nkinds = 4;

static void *track(void *p, int k);
static void *alloc_typed(size_t lb, GC_descr d, size_t stride);
static void *alloc_kind(size_t lb, int k) {
  if (k < 0 || (unsigned)k >= nkinds) k = K_NORMAL;
  if (kinds[k].uncollectable) return track(GC_malloc_uncollectable(lb), k);
  if (kinds[k].noscan) return GC_malloc_atomic(lb);
  if (traced_is_layout(kinds[k].descr)) return alloc_typed(lb, kinds[k].descr, 0);
  return track(GC_malloc(lb), k);
}
EXPORT void *GC_malloc_kind(size_t lb, int k) { return alloc_kind(lb, k); }
EXPORT void *GC_malloc_kind_global(size_t lb, int k) { return alloc_kind(lb, k); }
EXPORT void *GC_generic_malloc(size_t lb, int k) { return alloc_kind(lb, k); }
EXPORT void *GC_generic_malloc_ignore_off_page(size_t lb, int k) { return alloc_kind(lb, k); }
EXPORT void *GC_generic_or_special_malloc(size_t lb, int k) { return alloc_kind(lb, k); }
EXPORT void *GC_generic_malloc_uncollectable(size_t lb, int k) { return track(GC_malloc_uncollectable(lb), k); }
EXPORT void *GC_debug_generic_or_special_malloc(size_t lb, int k, const char *s, int i) {
  (void)s;
  (void)i;
  return alloc_kind(lb, k);
}

/* [same] a list of objects of lb bytes linked through their first word,
 * about a 4 KiB block's worth, each a separate object.  [superset] for a
 * pointer-free kind the objects are allocated scanned, so that the list's
 * links (in their first words) keep the unused ones alive while the client
 * holds only the head. */
EXPORT void GC_generic_malloc_many(size_t lb, int k, void **result) {
  size_t sz = lb < sizeof(void *) ? sizeof(void *) : lb, n, i;
  void *head = NULL;
  int uncoll = k >= 0 && (unsigned)k < nkinds && kinds[k].uncollectable;
  n = sz >= 2048 ? 1 : 4096 / ((sz + 15) & ~(size_t)15);
  for (i = 0; i < n; i++) {
    void *p = track(uncoll ? GC_malloc_uncollectable(sz) : GC_malloc(sz), k);
    if (p == NULL) break;
    *(void **)p = head;
    head = p;
  }
  *result = head;
}
EXPORT void *GC_malloc_many(size_t lb) {
  void *r;
  GC_generic_malloc_many(lb, K_NORMAL, &r);
  return r;
}

static pthread_mutex_t kind_lock = PTHREAD_MUTEX_INITIALIZER;
/* [same] a free-list array for a new kind (the client's inline allocator
 * fills it through GC_generic_malloc_many). */
EXPORT void **GC_new_free_list_inner(void) {
  void **fl = (void **)gh_calloc(GC_TINY_FREELISTS, sizeof(void *));
  if (!fl) {
    fprintf(stderr, "GC_new_free_list: out of memory\n");
    abort();
  }
  return fl;
}
EXPORT void **GC_new_free_list(void) { return GC_new_free_list_inner(); }
/* [approx] see "kinds" above: remembered, mark procedures never called. */
EXPORT unsigned GC_new_kind_inner(void **fl, GC_word descr, int add_size, int clear) {
  unsigned k;
  (void)clear; /* goheap always clears */
  pthread_mutex_lock(&kind_lock);
  if (nkinds >= MAXKINDS) {
    pthread_mutex_unlock(&kind_lock);
    fprintf(stderr, "GC_new_kind: too many kinds\n");
    abort();
  }
  k = nkinds++;
  kinds[k].fl = fl;
  kinds[k].descr = descr;
  kinds[k].noscan = (descr & GC_DS_TAGS) == GC_DS_LENGTH && (descr >> GC_DS_TAG_BITS) == 0 && !add_size &&
                    descr == 0;
  kinds[k].used = 1;
  pthread_mutex_unlock(&kind_lock);
  return k;
}
EXPORT unsigned GC_new_kind(void **fl, GC_word descr, int add_size, int clear) {
  return GC_new_kind_inner(fl, descr, add_size, clear);
}
EXPORT unsigned GC_new_proc_inner(GC_mark_proc proc) { return traced_new_proc(proc); }
EXPORT unsigned GC_new_proc(GC_mark_proc proc) { return GC_new_proc_inner(proc); }

/* ---- the mark callback --------------------------------------------------
 * goheap calls it in every collection, world stopped, once the roots'
 * closure is marked, in rounds until a round marks nothing new, again after
 * the objects kept for their finalizers are marked, and once with
 * GH_MARK_DONE (include/goheap.h: gh_set_mark_callback).  Round 0 calls
 * GC_push_other_roots; every round traces the objects of bdwgc/traced.c
 * that are marked; GH_MARK_DONE forgets those that were not (dead).  What a
 * procedure pushes -- GC_mark_and_push, GC_push_all, or entries it writes on
 * the mark stack it is given -- is scanned at once (gh_mark_range). */
static int is_proc_kind(int k) {
  return k >= 0 && (unsigned)k < nkinds && (kinds[k].descr & GC_DS_TAGS) == GC_DS_PROC;
}
static void no_memory_for_record(void) {
  fprintf(stderr, "libgc (goheap): out of memory for the record of a mark procedure's object\n");
  abort();
}
static void *track(void *p, int k) {
  if (p && is_proc_kind(k) && !traced_add(p, kinds[k].descr, 0, !gh_is_collected(p))) no_memory_for_record();
  return p;
}
static void mark_callback(void *arg, unsigned round) {
  GC_push_other_roots_proc f = GC_push_other_roots;
  (void)arg;
  in_mark = 1;
  if (round == GH_MARK_DONE) {
    traced_forget_dead();
  } else {
    if (round == 0) {
      traced_begin();
      if (f && f != default_push_other_roots) f();
    }
    traced_pass();
  }
  in_mark = 0;
}

/* [same] inside a mark procedure (or GC_push_other_roots): marks obj and
 * what it reaches; elsewhere it does nothing. */
EXPORT struct GC_ms_entry *GC_mark_and_push(void *obj, struct GC_ms_entry *msp, struct GC_ms_entry *lim,
                                            void **src) {
  (void)lim;
  (void)src;
  if (in_mark) gh_mark_range(&obj, &obj + 1);
  return msp;
}
/* [approx] goheap has no scan/noscan query: every collected object
 * reports NORMAL, a malloc'd one UNCOLLECTABLE. */
EXPORT int GC_get_kind_and_size(const void *p, size_t *psize) {
  if (psize) *psize = gh_malloc_usable_size((void *)p);
  return gh_is_collected((void *)p) ? K_NORMAL : K_UNCOLL;
}
/* [none] goheap exposes no mark bits.  GC_is_marked answers 1 (an object
 * a client asks about is one it can reach); setting/clearing do nothing. */
EXPORT int GC_is_marked(const void *p) {
  (void)p;
  return 1;
}
EXPORT void GC_set_mark_bit(const void *p) { (void)p; }
EXPORT void GC_clear_mark_bit(const void *p) { (void)p; }
EXPORT int GC_is_tmp_root(void *p) {
  (void)p;
  return 0;
}
EXPORT void GC_print_free_list(int kind, size_t g) {
  (void)kind;
  (void)g;
}
/* [none] goheap cannot enumerate objects: visits nothing. */
EXPORT void GC_enumerate_reachable_objects_inner(GC_reachable_object_proc proc, void *cd) {
  (void)proc;
  (void)cd;
}
EXPORT void GC_register_describe_type_fn(int kind, GC_describe_type_fn fn) {
  (void)kind;
  (void)fn;
}
EXPORT void *GC_clear_stack(void *p) { return p; }

/* ---- typed allocation: [same] -------------------------------------------
 * An object with a bitmap descriptor is noscan for goheap and traced by its
 * layout in bdwgc/traced.c: only the words the bitmap names keep objects
 * alive (Guile 3.0's weak-table entries).  A length descriptor, or one that
 * says "every word", gets a scanned object [superset]; "no word", a noscan
 * one. */
EXPORT GC_descr GC_make_descriptor(const GC_word *bm, size_t len) { return traced_make_descriptor(bm, len); }
static void *alloc_typed(size_t lb, GC_descr d, size_t stride) {
  void *p;
  if (!traced_is_layout(d)) return d == GC_DS_LENGTH ? GC_malloc_atomic(lb) : GC_malloc(lb);
  ensure_init();
  p = gh_alloc_noscan(lb < 16 ? 16 : lb);
  if (p && !traced_add(p, d, stride, 0)) { /* recorded before the client can store a pointer in it */
    gh_free(p);
    p = gh_alloc(lb ? lb : 1); /* no memory for the record: [superset] scanned in full */
  }
  return done(p, lb);
}
EXPORT void *GC_malloc_explicitly_typed(size_t lb, GC_descr d) { return alloc_typed(lb, d, 0); }
EXPORT void *GC_malloc_explicitly_typed_ignore_off_page(size_t lb, GC_descr d) { return alloc_typed(lb, d, 0); }
/* [same] n elements of lb bytes, each with the layout d. */
EXPORT void *GC_calloc_explicitly_typed(size_t n, size_t lb, GC_descr d) {
  if (lb != 0 && n > (size_t)-1 / lb) return NULL;
  return alloc_typed(n * lb, d, lb);
}
EXPORT void GC_init_gcj_malloc(int mp_index, void *mp) {
  (void)mp_index;
  (void)mp;
  GC_gcj_kind = GC_gcj_debug_kind = K_NORMAL;
}
EXPORT void *GC_gcj_malloc(size_t lb, void *vt) {
  void **p = (void **)GC_malloc(lb < sizeof(void *) ? sizeof(void *) : lb);
  if (p) *p = vt;
  return p;
}
EXPORT void *GC_gcj_malloc_ignore_off_page(size_t lb, void *vt) { return GC_gcj_malloc(lb, vt); }
EXPORT void *GC_debug_gcj_malloc(size_t lb, void *vt, const char *s, int i) {
  (void)s;
  (void)i;
  return GC_gcj_malloc(lb, vt);
}

/* ======================================================================
 * Object queries
 * ====================================================================== */
/* [approx] gh_base: the start of a collected object, or of a malloc'd
 * block (goheap's malloc'd blocks stand in for uncollectable objects, and
 * when goheap is the process's malloc every malloc'd block answers too,
 * where bdwgc answers NULL for memory it did not allocate). */
EXPORT void *GC_base(void *p) { return gh_base(p); }
EXPORT int GC_is_heap_ptr(const void *p) { return gh_base((void *)p) != NULL; }
EXPORT size_t GC_size(const void *p) { return gh_malloc_usable_size((void *)p); }
/* [superset] every interior pointer is recognized. */
EXPORT void GC_register_displacement(size_t off) { (void)off; }
EXPORT void GC_debug_register_displacement(size_t off) { (void)off; }
EXPORT void *GC_same_obj(void *p, void *q) {
  void *bq = gh_base(q);
  if (bq != NULL && gh_base(p) != bq) GC_same_obj_print_proc(p, q);
  return p;
}
EXPORT void *GC_pre_incr(void **p, ptrdiff_t how_much) {
  *(char **)p += how_much;
  return *p;
}
EXPORT void *GC_post_incr(void **p, ptrdiff_t how_much) {
  void *old = *p;
  *(char **)p += how_much;
  return old;
}
/* [approx] check nothing: every address is visible/valid to goheap. */
EXPORT void *GC_is_visible(void *p) { return p; }
EXPORT void *GC_is_valid_displacement(void *p) { return p; }

/* ======================================================================
 * Roots, and the push-other-roots callback
 * ====================================================================== */
struct range {
  GC_word hlo, hhi; /* hidden: the list keeps nothing alive */
  struct range *next;
};
static pthread_mutex_t roots_lock = PTHREAD_MUTEX_INITIALIZER;
static struct range *roots;

/* [same] gh_add_roots; adding a range already added does nothing. */
EXPORT void GC_add_roots(void *lo, void *hi) {
  struct range *r;
  if ((uintptr_t)lo >= (uintptr_t)hi) return;
  ensure_init();
  pthread_mutex_lock(&roots_lock);
  for (r = roots; r; r = r->next)
    if (REVEAL(r->hlo) == lo && REVEAL(r->hhi) == hi) {
      pthread_mutex_unlock(&roots_lock);
      return;
    }
  r = (struct range *)gh_malloc(sizeof *r);
  if (!r) {
    pthread_mutex_unlock(&roots_lock);
    fprintf(stderr, "GC_add_roots: out of memory\n");
    abort();
  }
  r->hlo = HIDE(lo);
  r->hhi = HIDE(hi);
  r->next = roots;
  roots = r;
  gh_add_roots(lo, hi);
  pthread_mutex_unlock(&roots_lock);
}
/* [same] removes every range added with GC_add_roots that lies inside
 * [lo, hi). */
EXPORT void GC_remove_roots(void *lo, void *hi) {
  struct range **pp, *r;
  pthread_mutex_lock(&roots_lock);
  for (pp = &roots; (r = *pp) != NULL;) {
    if ((uintptr_t)REVEAL(r->hlo) >= (uintptr_t)lo && (uintptr_t)REVEAL(r->hhi) <= (uintptr_t)hi) {
      gh_remove_roots(REVEAL(r->hlo), REVEAL(r->hhi));
      *pp = r->next;
      gh_free(r);
    } else {
      pp = &r->next;
    }
  }
  pthread_mutex_unlock(&roots_lock);
}
/* [same] for ranges added with GC_add_roots (the data of the program and
 * its libraries stay roots, as in bdwgc). */
EXPORT void GC_clear_roots(void) { GC_remove_roots((void *)0, (void *)~(uintptr_t)0); }
/* [approx] goheap cannot leave part of a library's data out: ignored, so
 * that range is still scanned (more is retained, never less). */
EXPORT void GC_exclude_static_roots(void *lo, void *hi) {
  (void)lo;
  (void)hi;
}
EXPORT void GC_clear_exclusion_table(void) {}
/* [approx] goheap scans the writable data of every loaded object; the
 * callback is stored, never called. */
static GC_has_static_roots_func has_static_roots_fn;
EXPORT void GC_register_has_static_roots_callback(GC_has_static_roots_func f) { has_static_roots_fn = f; }

/* GC_push_other_roots / GC_set_push_other_roots: [same] the procedure is
 * called in every collection, with the world stopped (from goheap's mark
 * callback, round 0: see "Mark procedures" below), and what it pushes with
 * GC_push_all/GC_push_conditional is scanned then (gh_mark_range).  Outside
 * a collection the push calls do nothing, as in bdwgc. */

static void push_range(void *lo, void *hi) {
  if (in_mark && (uintptr_t)lo < (uintptr_t)hi) gh_mark_range(lo, hi);
}
EXPORT void GC_push_all(void *lo, void *hi) { push_range(lo, hi); }
EXPORT void GC_push_all_eager(void *lo, void *hi) { push_range(lo, hi); }
EXPORT void GC_push_conditional(void *lo, void *hi, int all) {
  (void)all;
  push_range(lo, hi);
}
EXPORT void GC_push_finalizer_structures(void) {}
EXPORT void GC_set_push_other_roots(GC_push_other_roots_proc f) { GC_push_other_roots = f; }
EXPORT GC_push_other_roots_proc GC_get_push_other_roots(void) { return GC_push_other_roots; }

/* ======================================================================
 * Finalization and disappearing links
 *
 * Disappearing links are goheap's weak links (gh_register_weak_link): the
 * collection that finds the target unreachable clears them with the world
 * stopped, short links before finalization, long links when the target is
 * freed, as bdwgc does; a link lying in a collected object that dies is
 * forgotten with it.
 *
 * Finalizers: one record per object with a client finalizer; goheap holds
 * one finalizer per object (on_unreachable), run on goheap's finalizer
 * thread after a collection found the object unreachable, which queues the
 * client's finalizer.  bdwgc's rules for who runs it are kept:
 * GC_invoke_finalizers runs the queue, called by the client when
 * GC_finalize_on_demand is set (GC_finalizer_notifier tells it there is
 * work), otherwise by this library in the client's threads, at the next
 * allocation or at the end of GC_gcollect.
 *
 * [approx] differences from bdwgc, all on the side of retaining more:
 *  - goheap's finalization is ordered like Go's: what a finalizable object
 *    references stays alive until its finalizer ran, and a cycle of
 *    finalizable objects, or one that references itself, is never
 *    finalized.  So GC_register_finalizer_no_order, _ignore_self and
 *    _unreachable all act as GC_register_finalizer; bdwgc's no_order and
 *    ignore_self would finalize such cycles and self-references.  Engine
 *    hook: an unordered finalizer (the object's contents are not treated
 *    as roots for the cycle it is found unreachable in).
 *  - GC_gcollect returns after the finalizers of the objects it found
 *    unreachable are queued: when any finalizer is registered, it waits,
 *    up to 1 s, until goheap's finalizer thread has handled every record
 *    the collection queued (gh_await_finalizers).
 * ====================================================================== */
struct fin_rec {
  GC_word hobj;             /* ~obj */
  GC_finalization_proc fn;  /* the client's finalizer, or NULL */
  void *cd;                 /* its client data (kept alive, as by bdwgc) */
  struct fin_rec *hnext;
};
struct ready {
  struct ready *next, *prev; /* ready_head's queue, then (prev too) the running list */
  void *obj; /* plain: the queue keeps obj alive until its finalizer ran */
  GC_finalization_proc fn;
  void *cd;
};

#define NBUCKETS 65536
static pthread_mutex_t tab_lock = PTHREAD_MUTEX_INITIALIZER;
/* The table: a collected, scanned array held by this global (the library's
 * data is a root), so records live as long as they are in the table,
 * whatever GOHEAP_SCAN_MANUAL says. */
static struct fin_rec **fin_tab;
static struct ready *ready_head, *ready_tail;
/* Records whose finalizer a thread is running (GC_invoke_finalizers): a
 * root, so that in a fork child, where that thread is gone and the finalizer
 * may be half done, the object stays valid for good. */
static struct ready *running;
static long live_recs;

static size_t bucket(GC_word hidden) {
  GC_word x = ~hidden;
  return (size_t)(((x >> 3) * (GC_word)0x9E3779B97F4A7C15ull) >> (64 - 16));
}
static void tables_ready(void) { /* tab_lock held */
  if (fin_tab) return;
  fin_tab = (struct fin_rec **)gh_alloc(NBUCKETS * sizeof *fin_tab);
  if (!fin_tab) {
    fprintf(stderr, "libgc (goheap): out of memory for the finalizer table\n");
    abort();
  }
}
static struct fin_rec *fin_find(const void *obj) {
  GC_word h = HIDE(obj);
  struct fin_rec *f;
  for (f = fin_tab[bucket(h)]; f; f = f->hnext)
    if (f->hobj == h) return f;
  return NULL;
}
static void fin_insert(struct fin_rec *f) {
  size_t b = bucket(f->hobj);
  f->hnext = fin_tab[b];
  fin_tab[b] = f;
  live_recs++;
}
static int fin_remove(struct fin_rec *f) {
  struct fin_rec **pp;
  for (pp = &fin_tab[bucket(f->hobj)]; *pp; pp = &(*pp)->hnext)
    if (*pp == f) {
      *pp = f->hnext;
      live_recs--;
      return 1;
    }
  return 0;
}
static void on_unreachable(void *obj, void *arg);
/* The record of obj (a collected object's start), made if missing. */
static struct fin_rec *fin_get(void *obj) {
  struct fin_rec *f = fin_find(obj);
  if (f) return f;
  f = (struct fin_rec *)gh_alloc(sizeof *f);
  if (!f) return NULL;
  f->hobj = HIDE(obj);
  fin_insert(f);
  gh_set_finalizer(obj, on_unreachable, f);
  return f;
}

static void notify(void) {
  GC_finalizer_notifier_proc n = GC_finalizer_notifier;
  if (n) n();
}

/* goheap's finalizer for every recorded object (goheap's finalizer thread):
 * queues the client's finalizer. */
static void on_unreachable(void *obj, void *arg) {
  struct fin_rec *f = (struct fin_rec *)arg;
  struct ready *r = NULL;
  int was_empty = 0;
  pthread_mutex_lock(&tab_lock);
  if (REVEAL(f->hobj) != obj || !fin_remove(f)) {
    pthread_mutex_unlock(&tab_lock);
    return; /* the record was dropped meanwhile */
  }
  if (f->fn) {
    r = (struct ready *)gh_alloc(sizeof *r);
    if (r) {
      r->obj = obj;
      r->fn = f->fn;
      r->cd = f->cd;
      was_empty = ready_head == NULL;
      if (ready_tail) ready_tail->next = r;
      else ready_head = r;
      ready_tail = r;
      __atomic_add_fetch(&fin_ready_count, 1, __ATOMIC_RELEASE);
    }
  }
  pthread_mutex_unlock(&tab_lock);
  gh_free(f);
  if (r && was_empty && GC_finalize_on_demand) notify();
}

static void register_finalizer(void *obj, GC_finalization_proc fn, void *cd, GC_finalization_proc *ofn,
                               void **ocd) {
  struct fin_rec *f;
  if (ofn) *ofn = NULL;
  if (ocd) *ocd = NULL;
  /* bdwgc ignores objects it did not allocate; so does this. */
  if (obj == NULL || !gh_is_collected(obj)) return;
  ensure_init();
  pthread_mutex_lock(&tab_lock);
  tables_ready();
  f = fn ? fin_get(obj) : fin_find(obj);
  if (f) {
    if (ofn) *ofn = f->fn;
    if (ocd) *ocd = f->cd;
    f->fn = fn;
    f->cd = fn ? cd : NULL;
    /* A record left with nothing to do keeps its goheap finalizer (a
     * removal could race with one already queued); it does nothing. */
  }
  pthread_mutex_unlock(&tab_lock);
}
EXPORT void GC_register_finalizer(void *obj, GC_finalization_proc fn, void *cd, GC_finalization_proc *ofn,
                                  void **ocd) {
  register_finalizer(obj, fn, cd, ofn, ocd);
}
/* [approx] ordered, as GC_register_finalizer: see above. */
EXPORT void GC_register_finalizer_ignore_self(void *obj, GC_finalization_proc fn, void *cd,
                                              GC_finalization_proc *ofn, void **ocd) {
  register_finalizer(obj, fn, cd, ofn, ocd);
}
/* [approx] ordered, as GC_register_finalizer: see above. */
EXPORT void GC_register_finalizer_no_order(void *obj, GC_finalization_proc fn, void *cd,
                                           GC_finalization_proc *ofn, void **ocd) {
  register_finalizer(obj, fn, cd, ofn, ocd);
}
/* [approx] ordered, as GC_register_finalizer: see above. */
EXPORT void GC_register_finalizer_unreachable(void *obj, GC_finalization_proc fn, void *cd,
                                              GC_finalization_proc *ofn, void **ocd) {
  register_finalizer(obj, fn, cd, ofn, ocd);
}
EXPORT void GC_debug_register_finalizer(void *obj, GC_finalization_proc fn, void *cd, GC_finalization_proc *ofn,
                                        void **ocd) {
  register_finalizer(obj, fn, cd, ofn, ocd);
}
EXPORT void GC_debug_register_finalizer_ignore_self(void *obj, GC_finalization_proc fn, void *cd,
                                                    GC_finalization_proc *ofn, void **ocd) {
  register_finalizer(obj, fn, cd, ofn, ocd);
}
EXPORT void GC_debug_register_finalizer_no_order(void *obj, GC_finalization_proc fn, void *cd,
                                                 GC_finalization_proc *ofn, void **ocd) {
  register_finalizer(obj, fn, cd, ofn, ocd);
}
EXPORT void GC_debug_register_finalizer_unreachable(void *obj, GC_finalization_proc fn, void *cd,
                                                    GC_finalization_proc *ofn, void **ocd) {
  register_finalizer(obj, fn, cd, ofn, ocd);
}

/* Disappearing links: goheap's weak links (see above). */
static int link_rc(int e) {
  return e == 0 ? GC_SUCCESS : e == EEXIST ? GC_DUPLICATE : e == ENOENT ? GC_NOT_FOUND : GC_NO_MEMORY;
}
static void check_link(const char *fn, void **link) {
  if (((uintptr_t)link & (sizeof(void *) - 1)) != 0) {
    fprintf(stderr, "%s: bad link address %p\n", fn, (void *)link);
    abort();
  }
}
static int register_link(void **link, const void *obj, int is_long) {
  check_link("GC_general_register_disappearing_link", link);
  ensure_init();
  return link_rc(gh_register_weak_link(link, (void *)obj, is_long));
}
static int move_link(void **link, void **new_link, int is_long) {
  check_link("GC_move_disappearing_link", new_link);
  return link_rc(gh_move_weak_link(link, new_link, is_long));
}
EXPORT int GC_general_register_disappearing_link(void **link, const void *obj) {
  return register_link(link, obj, 0);
}
EXPORT int GC_register_disappearing_link(void **link) { return register_link(link, gh_base(*link), 0); }
EXPORT int GC_move_disappearing_link(void **link, void **new_link) { return move_link(link, new_link, 0); }
EXPORT int GC_unregister_disappearing_link(void **link) { return gh_unregister_weak_link(link, 0); }
EXPORT int GC_register_long_link(void **link, const void *obj) { return register_link(link, obj, 1); }
EXPORT int GC_move_long_link(void **link, void **new_link) { return move_link(link, new_link, 1); }
EXPORT int GC_unregister_long_link(void **link) { return gh_unregister_weak_link(link, 1); }

static void running_add(struct ready *r) { /* tab_lock held */
  r->prev = NULL;
  r->next = running;
  if (running) running->prev = r;
  running = r;
}
static void running_remove(struct ready *r) { /* tab_lock held */
  if (r->prev) r->prev->next = r->next;
  else running = r->next;
  if (r->next) r->next->prev = r->prev;
}
/* [same] runs the queued finalizers in the calling thread; returns how
 * many.  Not reentered from a finalizer. */
EXPORT int GC_invoke_finalizers(void) {
  int n = 0;
  if (tls_in_finalizers) return 0;
  tls_in_finalizers = 1;
  for (;;) {
    struct ready *r;
    pthread_mutex_lock(&tab_lock);
    r = ready_head;
    if (r) {
      ready_head = r->next;
      if (!ready_head) ready_tail = NULL;
      __atomic_sub_fetch(&fin_ready_count, 1, __ATOMIC_RELEASE);
      running_add(r);
    }
    pthread_mutex_unlock(&tab_lock);
    if (!r) break;
    r->fn(r->obj, r->cd);
    n++;
    pthread_mutex_lock(&tab_lock);
    running_remove(r);
    pthread_mutex_unlock(&tab_lock);
    gh_free(r);
  }
  tls_in_finalizers = 0;
  return n;
}
EXPORT int GC_should_invoke_finalizers(void) { return fin_ready_count != 0; }
static void run_ready_if_due(void) {
  if (!GC_finalize_on_demand && !tls_in_finalizers) GC_invoke_finalizers();
}
/* [approx] runs every registered client finalizer now, reachable or not
 * (bdwgc's meaning), then clears the records' links. */
EXPORT void GC_finalize_all(void) {
  for (;;) {
    struct fin_rec *f = NULL;
    size_t b;
    void *obj = NULL;
    GC_finalization_proc fn = NULL;
    void *cd = NULL;
    pthread_mutex_lock(&tab_lock);
    if (fin_tab)
      for (b = 0; b < NBUCKETS && !f; b++)
        for (f = fin_tab[b]; f && !f->fn; f = f->hnext) {
        }
    if (f) {
      obj = REVEAL(f->hobj);
      fn = f->fn;
      cd = f->cd;
      f->fn = NULL;
      f->cd = NULL;
    }
    pthread_mutex_unlock(&tab_lock);
    if (!f) break;
    fn(obj, cd);
  }
  GC_invoke_finalizers();
}
/* [knob] */
EXPORT void GC_set_java_finalization(int v) { GC_java_finalization = v; }
EXPORT int GC_get_java_finalization(void) { return GC_java_finalization; }
EXPORT void GC_set_finalize_on_demand(int v) { GC_finalize_on_demand = v; }
EXPORT int GC_get_finalize_on_demand(void) { return GC_finalize_on_demand; }
EXPORT void GC_set_finalizer_notifier(GC_finalizer_notifier_proc f) { GC_finalizer_notifier = f; }
EXPORT GC_finalizer_notifier_proc GC_get_finalizer_notifier(void) { return GC_finalizer_notifier; }
static GC_await_finalize_proc await_finalize_proc;
/* [none] stored; goheap has no "finalizer pending" event per object. */
EXPORT void GC_set_await_finalize_proc(GC_await_finalize_proc f) { await_finalize_proc = f; }
EXPORT GC_await_finalize_proc GC_get_await_finalize_proc(void) { return await_finalize_proc; }

/* ---- toggle references: [approx] always strong ------------------------- */
static GC_toggleref_func toggleref_fn;
static struct toggle {
  struct toggle *next;
  void *obj;
} *toggles; /* malloc'd: scanned, keeps the objects alive */
EXPORT void GC_set_toggleref_func(GC_toggleref_func f) { toggleref_fn = f; }
EXPORT GC_toggleref_func GC_get_toggleref_func(void) { return toggleref_fn; }
EXPORT int GC_toggleref_add(void *obj, int strong) {
  struct toggle *t = (struct toggle *)gh_alloc(sizeof *t);
  (void)strong;
  if (!t) return GC_NO_MEMORY;
  t->obj = obj;
  pthread_mutex_lock(&tab_lock);
  t->next = toggles;
  toggles = t;
  pthread_mutex_unlock(&tab_lock);
  return GC_SUCCESS;
}

/* ---- reclaim notifiers (gc_disclaim.h) --------------------------------- */
/* [none] goheap calls nothing when it frees an object: stored, never called. */
EXPORT void GC_register_disclaim_proc(int kind, GC_disclaim_proc proc, int mark_from_all) {
  (void)kind;
  (void)proc;
  (void)mark_from_all;
}
EXPORT void GC_init_finalized_malloc(void) { ensure_init(); }
static void GC_CALLBACK finalized_trampoline(void *obj, void *cd) {
  const struct GC_finalizer_closure *fc = (const struct GC_finalizer_closure *)cd;
  fc->proc((char *)obj + sizeof(void *), fc->cd);
}
/* [approx] the closure pointer is stored in a word before the object (as
 * bdwgc does) and the object gets an ordinary finalizer that calls it:
 * it runs as a finalizer (queued, in a client thread), not at reclaim. */
EXPORT void *GC_finalized_malloc(size_t size, const struct GC_finalizer_closure *fc) {
  void **p = (void **)GC_malloc(size + sizeof(void *));
  if (!p) return NULL;
  p[0] = (void *)((uintptr_t)fc | 1);
  register_finalizer(p, finalized_trampoline, (void *)fc, NULL, NULL);
  return p + 1;
}

/* ======================================================================
 * Collection
 * ====================================================================== */
static GC_start_callback_proc start_callback;
static GC_on_collection_event_proc on_collection_event;
static GC_on_thread_event_proc on_thread_event;
static GC_stop_func stop_func;

/* Refreshes what bdwgc updates at each collection: GC_gc_no, the bytes
 * since the last collection, the pacing the client asked for through
 * data symbols, and the pushed roots. */
static pthread_mutex_t refresh_lock = PTHREAD_MUTEX_INITIALIZER;
static void refresh(void) {
  gh_stats st;
  if (pthread_mutex_trylock(&refresh_lock) != 0) return;
  __atomic_store_n(&refresh_at, __atomic_load_n(&total_bytes, __ATOMIC_RELAXED) + (256 << 10), __ATOMIC_RELAXED);
  read_stats(&st);
  if (st.num_gc != GC_gc_no) {
    GC_gc_no = (GC_word)st.num_gc;
    bytes_at_last_gc = __atomic_load_n(&total_bytes, __ATOMIC_RELAXED);
    expl_freed_since_gc = 0;
  }
  if (GC_dont_gc != applied_dont_gc || GC_free_space_divisor != applied_divisor) apply_pacing();
  pthread_mutex_unlock(&refresh_lock);
}

static void collection_event(GC_EventType e) {
  GC_on_collection_event_proc f = on_collection_event;
  if (f) f(e);
}

/* [same] a full collection; the start callback and the START/END
 * collection events are called around it [approx: for automatic
 * collections they are not: engine hook, a callback at the start and end
 * of every cycle].  When finalizers or links are registered, it returns
 * after their finalizers were queued (see "Finalization"), and runs them
 * unless GC_finalize_on_demand. */
EXPORT void GC_gcollect(void) {
  GC_start_callback_proc sc = start_callback;
  long recs;
  ensure_init();
  if (GC_dont_gc || disable_count > 0) return; /* bdwgc: no collection while disabled */
  if (sc) sc();
  collection_event(GC_EVENT_START);
  gh_collect();
  pthread_mutex_lock(&tab_lock);
  recs = live_recs;
  pthread_mutex_unlock(&tab_lock);
  if (recs > 0) (void)gh_await_finalizers(1000); /* ETIMEDOUT only if a client's own gh finalizer blocks */
  collection_event(GC_EVENT_END);
  refresh();
  if (fin_ready_count) {
    if (GC_finalize_on_demand) notify();
    else if (!tls_in_finalizers) GC_invoke_finalizers();
  }
}
/* [same] gh_collect then gh_free_os_memory. */
EXPORT void GC_gcollect_and_unmap(void) {
  GC_gcollect();
  gh_free_os_memory();
}
/* [approx] goheap's collection cannot be abandoned: the stop function is
 * not consulted; returns 1 (completed). */
EXPORT int GC_try_to_collect(GC_stop_func f) {
  (void)f;
  GC_gcollect();
  return !(GC_dont_gc || disable_count > 0);
}
EXPORT void GC_set_stop_func(GC_stop_func f) { stop_func = f; }
EXPORT GC_stop_func GC_get_stop_func(void) { return stop_func; }
/* [approx] no incremental mode: returns 0 (no work in progress). */
EXPORT int GC_collect_a_little(void) {
  refresh();
  return 0;
}
/* [same] a nesting count; while positive, no automatic collection
 * (GOGC off) and GC_gcollect does nothing. */
EXPORT void GC_disable(void) {
  ensure_init();
  pthread_mutex_lock(&ctl_lock);
  disable_count++;
  pthread_mutex_unlock(&ctl_lock);
  apply_pacing();
}
EXPORT void GC_enable(void) {
  ensure_init();
  pthread_mutex_lock(&ctl_lock);
  if (disable_count > 0) disable_count--;
  pthread_mutex_unlock(&ctl_lock);
  apply_pacing();
}
EXPORT int GC_is_disabled(void) { return disable_count > 0 || GC_dont_gc != 0; }
EXPORT void GC_set_disable_automatic_collection(int v) {
  ensure_init();
  disable_auto = v;
  apply_pacing();
}
EXPORT int GC_get_disable_automatic_collection(void) { return disable_auto; }
/* [knob] goheap's mode is chosen at start-up by GOHEAP_GC_MODE (stw,
 * concurrent: the kernel records writes, manual: the program does, through
 * GC_end_stubborn_change and GC_ptr_store_and_dirty), not by this call. */
EXPORT void GC_enable_incremental(void) {}
EXPORT int GC_is_incremental_mode(void) { return gh_gc_mode() != GH_GC_STW; }
EXPORT int GC_incremental_protection_needs(void) { return GC_PROTECTS_NONE; }
EXPORT void GC_start_incremental_collection(void) {}
EXPORT void GC_start_mark_threads(void) {}
EXPORT void GC_set_markers_count(unsigned n) { (void)n; }
EXPORT int GC_get_parallel(void) { return GC_parallel; }
EXPORT void GC_start_performance_measurement(void) {}
/* [approx] goheap grows its heap on demand: nothing to do; returns 1. */
EXPORT int GC_expand_hp(size_t n) {
  (void)n;
  ensure_init();
  return 1;
}
/* [approx] bdwgc's hard maximum becomes goheap's soft memory limit
 * (collections get more frequent near it; allocation fails only when the
 * system refuses memory).  0: no limit.  GOHEAP_MEMLIMIT wins. */
EXPORT void GC_set_max_heap_size(GC_word n) {
  ensure_init();
  if (env_memlimit_set) return;
  gh_set_memory_limit(n == 0 || n > (GC_word)INT64_MAX ? INT64_MAX : (int64_t)n);
}
EXPORT unsigned long GC_get_full_gc_total_time(void) { /* ms of stop-the-world */
  gh_stats st;
  read_stats(&st);
  return (unsigned long)(st.pause_total_ns / 1000000u);
}

/* ======================================================================
 * Statistics
 * ====================================================================== */
EXPORT size_t GC_get_heap_size(void) {
  gh_stats st;
  read_stats(&st);
  return (size_t)(st.heap_sys - st.heap_released);
}
EXPORT size_t GC_get_free_bytes(void) {
  gh_stats st;
  read_stats(&st);
  return (size_t)(st.heap_idle - st.heap_released);
}
EXPORT size_t GC_get_unmapped_bytes(void) {
  gh_stats st;
  read_stats(&st);
  return (size_t)st.heap_released;
}
/* [approx] counted by this library's allocation calls, as of the last
 * collection it noticed (see GC_gc_no). */
EXPORT size_t GC_get_bytes_since_gc(void) {
  refresh();
  return (size_t)(total_bytes - bytes_at_last_gc);
}
EXPORT size_t GC_get_expl_freed_bytes_since_gc(void) { return (size_t)expl_freed_since_gc; }
/* [same] bytes requested through this library's allocation calls. */
EXPORT size_t GC_get_total_bytes(void) { return (size_t)__atomic_load_n(&total_bytes, __ATOMIC_RELAXED); }
EXPORT size_t GC_get_obtained_from_os_bytes(void) {
  gh_stats st;
  read_stats(&st);
  return (size_t)st.heap_sys;
}
EXPORT size_t GC_get_memory_use(void) {
  gh_stats st;
  read_stats(&st);
  return (size_t)st.heap_alloc;
}
EXPORT GC_word GC_get_gc_no(void) {
  gh_stats st;
  read_stats(&st);
  GC_gc_no = (GC_word)st.num_gc;
  return GC_gc_no;
}
EXPORT void GC_get_heap_usage_safe(GC_word *heap_size, GC_word *free_bytes, GC_word *unmapped, GC_word *since_gc,
                                   GC_word *total) {
  gh_stats st;
  read_stats(&st);
  if (heap_size) *heap_size = st.heap_sys - st.heap_released;
  if (free_bytes) *free_bytes = st.heap_idle - st.heap_released;
  if (unmapped) *unmapped = st.heap_released;
  if (since_gc) *since_gc = GC_get_bytes_since_gc();
  if (total) *total = GC_get_total_bytes();
}
/* Fields goheap has no figure for are ~0, as bdwgc documents for unknowns. */
EXPORT size_t GC_get_prof_stats(struct GC_prof_stats_s *ps, size_t sz) {
  struct GC_prof_stats_s s;
  gh_stats st;
  read_stats(&st);
  memset(&s, 0xff, sizeof s);
  s.heapsize_full = st.heap_sys;
  s.free_bytes_full = st.heap_idle;
  s.unmapped_bytes = st.heap_released;
  s.bytes_allocd_since_gc = total_bytes - bytes_at_last_gc;
  s.allocd_bytes_before_gc = bytes_at_last_gc;
  s.non_gc_bytes = GC_non_gc_bytes;
  s.gc_no = st.num_gc;
  s.markers_m1 = 0;
  s.expl_freed_bytes_since_gc = expl_freed_since_gc;
  s.obtained_from_os_bytes = st.heap_sys;
  if (sz > sizeof s) sz = sizeof s;
  memcpy(ps, &s, sz);
  return sz;
}
EXPORT size_t GC_get_prof_stats_unsafe(struct GC_prof_stats_s *ps, size_t sz) { return GC_get_prof_stats(ps, sz); }
/* [same] the size of the object goheap hands out for i bytes. */
EXPORT size_t GC_get_size_map_at(int i) {
  void *p;
  size_t n;
  if (i < 0 || i > 32 * 1024) return (size_t)-1;
  p = gh_alloc(i ? (size_t)i : 1);
  if (!p) return (size_t)-1;
  n = gh_malloc_usable_size(p);
  gh_free(p);
  return n;
}
/* [approx] goheap's own summary (gh_print_stats) on stdout, where bdwgc
 * prints its block lists. */
EXPORT void GC_dump(void) {
  fflush(stdout);
  gh_print_stats(1);
}
EXPORT void GC_dump_named(const char *name) {
  if (name) printf("***GC Dump %s\n", name);
  GC_dump();
}
EXPORT void GC_dump_regions(void) { GC_dump(); }
EXPORT void GC_dump_finalization(void) {
  long n;
  pthread_mutex_lock(&tab_lock);
  n = live_recs;
  pthread_mutex_unlock(&tab_lock);
  printf("Finalization records: %ld, queued finalizers: %d\n", n, fin_ready_count);
}

/* ======================================================================
 * Knobs
 * ====================================================================== */
/* [same] called with the request's size when an allocation fails. */
EXPORT void GC_set_oom_fn(GC_oom_func f) { GC_oom_fn = f; }
EXPORT GC_oom_func GC_get_oom_fn(void) { return GC_oom_fn; }
EXPORT void GC_set_on_heap_resize(GC_on_heap_resize_proc f) { GC_on_heap_resize = f; }
EXPORT GC_on_heap_resize_proc GC_get_on_heap_resize(void) { return GC_on_heap_resize; }
EXPORT void GC_set_on_collection_event(GC_on_collection_event_proc f) { on_collection_event = f; }
EXPORT GC_on_collection_event_proc GC_get_on_collection_event(void) { return on_collection_event; }
/* [none] goheap stops threads itself: stored, never called. */
EXPORT void GC_set_on_thread_event(GC_on_thread_event_proc f) { on_thread_event = f; }
EXPORT GC_on_thread_event_proc GC_get_on_thread_event(void) { return on_thread_event; }
/* [none] goheap has no leak-detection mode (its leak check is
 * GOHEAP_LEAKCHECK=1, for malloc'd memory): 1 is refused with a message. */
EXPORT void GC_set_find_leak(int v) {
  if (v) fprintf(stderr, "libgc (goheap): GC_set_find_leak(1): leak-detection mode is not supported\n");
}
EXPORT int GC_get_find_leak(void) { return 0; }
/* [superset] interior pointers are always recognized. */
EXPORT void GC_set_all_interior_pointers(int v) { (void)v; }
EXPORT int GC_get_all_interior_pointers(void) { return 1; }
EXPORT void GC_set_dont_expand(int v) { GC_dont_expand = v; }
EXPORT int GC_get_dont_expand(void) { return GC_dont_expand; }
EXPORT void GC_set_full_freq(int v) { GC_full_freq = v; }
EXPORT int GC_get_full_freq(void) { return GC_full_freq; }
EXPORT void GC_set_non_gc_bytes(GC_word v) { GC_non_gc_bytes = v; }
EXPORT GC_word GC_get_non_gc_bytes(void) { return GC_non_gc_bytes; }
EXPORT void GC_set_no_dls(int v) { GC_no_dls = v; }
EXPORT int GC_get_no_dls(void) { return GC_no_dls; }
/* [approx] bdwgc collects when about heap/divisor bytes were allocated;
 * this sets GOGC = 300 / divisor (3, the default, is GOGC 100), unless
 * GOHEAP_GOGC is set. */
EXPORT void GC_set_free_space_divisor(GC_word d) {
  ensure_init();
  GC_free_space_divisor = d;
  apply_pacing();
}
EXPORT GC_word GC_get_free_space_divisor(void) { return GC_free_space_divisor; }
EXPORT void GC_set_max_retries(GC_word v) { GC_max_retries = v; }
EXPORT GC_word GC_get_max_retries(void) { return GC_max_retries; }
EXPORT void GC_set_dont_precollect(int v) { GC_dont_precollect = v; }
EXPORT int GC_get_dont_precollect(void) { return GC_dont_precollect; }
EXPORT void GC_set_time_limit(unsigned long v) { GC_time_limit = v; }
EXPORT unsigned long GC_get_time_limit(void) { return GC_time_limit; }
static struct GC_timeval_s time_limit_tv = {50, 0};
EXPORT void GC_set_time_limit_tv(struct GC_timeval_s v) { time_limit_tv = v; }
EXPORT struct GC_timeval_s GC_get_time_limit_tv(void) { return time_limit_tv; }
static GC_word allocd_bytes_per_finalizer = 10000;
EXPORT void GC_set_allocd_bytes_per_finalizer(GC_word v) { allocd_bytes_per_finalizer = v; }
EXPORT GC_word GC_get_allocd_bytes_per_finalizer(void) { return allocd_bytes_per_finalizer; }
static int pages_executable;
EXPORT void GC_set_pages_executable(int v) { pages_executable = v; }
EXPORT int GC_get_pages_executable(void) { return pages_executable; }
static size_t min_bytes_allocd = 1;
EXPORT void GC_set_min_bytes_allocd(size_t v) { min_bytes_allocd = v; }
EXPORT size_t GC_get_min_bytes_allocd(void) { return min_bytes_allocd; }
static int rate = 10;
EXPORT void GC_set_rate(int v) { rate = v; }
EXPORT int GC_get_rate(void) { return rate; }
static int max_prior_attempts = 1;
EXPORT void GC_set_max_prior_attempts(int v) { max_prior_attempts = v; }
EXPORT int GC_get_max_prior_attempts(void) { return max_prior_attempts; }
static int manual_vdb_allowed = 1;
EXPORT void GC_set_manual_vdb_allowed(int v) { manual_vdb_allowed = v; }
EXPORT int GC_get_manual_vdb_allowed(void) { return manual_vdb_allowed; }
static int force_unmap;
/* [same] GC_gcollect then also returns free pages to the OS. */
EXPORT void GC_set_force_unmap_on_gcollect(int v) { force_unmap = v; }
EXPORT int GC_get_force_unmap_on_gcollect(void) { return force_unmap; }
EXPORT void GC_set_warn_proc(GC_warn_proc p) { GC_current_warn_proc = p; }
EXPORT GC_warn_proc GC_get_warn_proc(void) { return GC_current_warn_proc; }
EXPORT void GC_ignore_warn_proc(char *msg, GC_word arg) {
  (void)msg;
  (void)arg;
}
static int log_fd = 2;
EXPORT void GC_set_log_fd(int fd) { log_fd = fd; }
EXPORT void GC_set_abort_func(GC_abort_func f) { GC_on_abort = f; }
EXPORT GC_abort_func GC_get_abort_func(void) { return GC_on_abort; }
EXPORT void GC_abort_on_oom(void) {
  fprintf(stderr, "GC_abort_on_oom: out of memory\n");
  if (GC_on_abort) GC_on_abort("Out of memory");
  abort();
}
/* [approx] called before each GC_gcollect's collection, not before
 * automatic ones (engine hook: a cycle-start callback). */
EXPORT void GC_set_start_callback(GC_start_callback_proc f) { start_callback = f; }
EXPORT GC_start_callback_proc GC_get_start_callback(void) { return start_callback; }

EXPORT void GC_printf(const char *fmt, ...) __attribute__((__format__(__printf__, 1, 2)));
EXPORT void GC_printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stdout, fmt, ap);
  va_end(ap);
  fflush(stdout);
}
EXPORT void GC_err_printf(const char *fmt, ...) __attribute__((__format__(__printf__, 1, 2)));
EXPORT void GC_err_printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
}
EXPORT void GC_log_printf(const char *fmt, ...) __attribute__((__format__(__printf__, 1, 2)));
EXPORT void GC_log_printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vdprintf(log_fd, fmt, ap);
  va_end(ap);
}

/* ======================================================================
 * Threads and stacks
 * ====================================================================== */
static int stop_signal(void) {
  const char *e = getenv("GOHEAP_STOP_SIGNAL");
  int s = e ? atoi(e) : 0;
  return s > 0 ? s : SIGRTMIN + 7;
}
/* [approx] goheap's stop signal (GOHEAP_STOP_SIGNAL, default SIGRTMIN+7)
 * is fixed when it starts: the setters are ignored; both getters return
 * it (goheap restarts threads with a futex, not a signal). */
EXPORT void GC_set_suspend_signal(int s) { (void)s; }
EXPORT int GC_get_suspend_signal(void) { return stop_signal(); }
EXPORT void GC_set_thr_restart_signal(int s) { (void)s; }
EXPORT int GC_get_thr_restart_signal(void) { return stop_signal(); }

EXPORT int GC_get_stack_base(struct GC_stack_base *sb) {
  pthread_attr_t a;
  void *addr = NULL;
  size_t size = 0;
  sb->mem_base = NULL;
  if (pthread_getattr_np(pthread_self(), &a) != 0) return GC_UNIMPLEMENTED;
  if (pthread_attr_getstack(&a, &addr, &size) == 0 && addr) sb->mem_base = (char *)addr + size;
  pthread_attr_destroy(&a);
  return sb->mem_base ? GC_SUCCESS : GC_UNIMPLEMENTED;
}
/* [same] fn gets the current frame as the stack base. */
EXPORT void *GC_call_with_stack_base(GC_stack_base_func fn, void *arg) {
  struct GC_stack_base sb;
  sb.mem_base = (void *)&sb;
  return fn(&sb, arg);
}
/* [same] goheap allows registration at any time. */
EXPORT void GC_allow_register_threads(void) { ensure_init(); }
/* [same] gh_register_thread; GC_DUPLICATE if this thread was registered
 * through this library already (goheap reads the stack bounds itself:
 * the given base is not used). */
EXPORT int GC_register_my_thread(const struct GC_stack_base *sb) {
  (void)sb;
  ensure_init();
  if (tls_registered) return GC_DUPLICATE;
  if (gh_register_thread() != 0) return GC_NO_MEMORY;
  tls_registered = 1;
  return GC_SUCCESS;
}
EXPORT int GC_thread_is_registered(void) { return tls_registered; }
EXPORT int GC_unregister_my_thread(void) {
  gh_unregister_thread();
  tls_registered = 0;
  return GC_SUCCESS;
}
/* [superset] goheap scans the whole stack of a thread it stops. */
EXPORT void GC_register_altstack(void *stack, GC_word ss, void *alt, GC_word as) {
  (void)stack;
  (void)ss;
  (void)alt;
  (void)as;
}
EXPORT void GC_use_threads_discovery(void) {}
/* [superset] a blocked section is scanned like the rest of the stack. */
EXPORT void *GC_do_blocking(GC_fn_type fn, void *cd) { return fn(cd); }
EXPORT void *GC_call_with_gc_active(GC_fn_type fn, void *cd) { return fn(cd); }
/* [approx] no handle; GC_set_stackbottom is ignored (goheap reads each
 * thread's stack bounds from the thread library). */
EXPORT void *GC_get_my_stackbottom(struct GC_stack_base *sb) {
  (void)GC_get_stack_base(sb);
  return NULL;
}
EXPORT void GC_set_stackbottom(void *h, const struct GC_stack_base *sb) {
  (void)h;
  (void)sb;
}
/* [none] goheap's public API cannot stop the world or one thread on
 * request: these do nothing (engine hook: gh_stop_world/gh_start_world). */
EXPORT void GC_stop_world_external(void) {}
EXPORT void GC_start_world_external(void) {}
EXPORT void GC_suspend_thread(unsigned long t) { (void)t; }
EXPORT void GC_resume_thread(unsigned long t) { (void)t; }
EXPORT int GC_is_thread_suspended(unsigned long t) {
  (void)t;
  return 0;
}
/* [approx] the lock GC_call_with_alloc_lock holds is this library's own
 * (recursive) lock: allocation and collection go on meanwhile in other
 * threads.  Disappearing links are cleared with the world stopped, so a
 * link read returns the live object or NULL, never one already found dead. */
EXPORT void GC_alloc_lock(void) {
  ensure_init();
  pthread_mutex_lock(&alloc_lock);
}
EXPORT void GC_alloc_unlock(void) { pthread_mutex_unlock(&alloc_lock); }
EXPORT void *GC_call_with_alloc_lock(GC_fn_type fn, void *cd) {
  void *r;
  GC_alloc_lock();
  r = fn(cd);
  GC_alloc_unlock();
  return r;
}
/* [same] fork.  goheap's heap and collector handle fork themselves; this
 * library's own locks are taken before fork() and re-initialised in the
 * child by pthread_atfork handlers installed at initialisation, unless the
 * client called GC_set_handle_fork(0) before (bdwgc's default on Linux:
 * handlers installed; -1 asks for them too if possible, and manual calls
 * of GC_atfork_prepare/parent/child otherwise).  Lock order, outermost
 * first (no lock of this library is held while an earlier one is taken):
 * alloc_lock, roots_lock, kind_lock, refresh_lock, ctl_lock,
 * traced_lock (bdwgc/traced.c), tab_lock; goheap's own locks come after all of them (its
 * handlers were installed first, so its prepare runs last). */
static int handle_fork = 1;  /* GC_set_handle_fork, before initialisation */
static int fork_handled;     /* the handlers are installed */
static pthread_mutex_t *const fork_locks[] = {&alloc_lock,   &roots_lock,   &kind_lock, &refresh_lock,
                                              &ctl_lock,     &traced_lock,  &tab_lock};
#define NFORK_LOCKS (sizeof fork_locks / sizeof fork_locks[0])
static void fork_prepare(void) {
  size_t i;
  for (i = 0; i < NFORK_LOCKS; i++) pthread_mutex_lock(fork_locks[i]);
}
static void fork_parent(void) {
  size_t i;
  for (i = NFORK_LOCKS; i-- > 0;) pthread_mutex_unlock(fork_locks[i]);
}
static void fork_child(void) {
  pthread_mutexattr_t a;
  size_t i;
  for (i = 0; i < NFORK_LOCKS; i++) pthread_mutex_init(fork_locks[i], NULL);
  pthread_mutexattr_init(&a);
  pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&alloc_lock, &a);
  pthread_mutexattr_destroy(&a);
}
static void install_fork_handlers(void) { /* once_init */
  if (handle_fork == 0) return;
  if (pthread_atfork(fork_prepare, fork_parent, fork_child) == 0) fork_handled = 1;
  else if (handle_fork != -1) {
    fprintf(stderr, "libgc (goheap): pthread_atfork failed\n");
    abort();
  }
}
EXPORT void GC_set_handle_fork(int v) {
  if (!init_called) handle_fork = v >= -1 ? v : 1;
}
EXPORT void GC_atfork_prepare(void) {
  ensure_init();
  if (!fork_handled) fork_prepare();
}
EXPORT void GC_atfork_parent(void) {
  if (!fork_handled) fork_parent();
}
EXPORT void GC_atfork_child(void) {
  if (!fork_handled) fork_child();
}
/* [same] goheap finds a dlopen'ed library's data at the next collection. */
EXPORT void *GC_dlopen(const char *path, int mode) { return dlopen(path, mode); }

struct start_info {
  void *(*fn)(void *);
  void *arg;
};
static void unregister_at_exit(void *unused) {
  (void)unused;
  GC_unregister_my_thread();
}
static void *thread_start(void *p) {
  struct start_info si = *(struct start_info *)p;
  void *r;
  (void)gh_register_thread();
  tls_registered = 1;
  gh_free(p); /* after registering: until then si.arg is reachable only from p */
  pthread_cleanup_push(unregister_at_exit, NULL);
  r = si.fn(si.arg);
  pthread_cleanup_pop(1);
  return r;
}
/* [same] the new thread is registered before its start routine runs and
 * unregistered when it returns, exits or is cancelled. */
EXPORT int GC_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg) {
  struct start_info *si;
  int e;
  ensure_init();
  si = (struct start_info *)gh_malloc(sizeof *si); /* malloc'd: scanned */
  if (!si) return EAGAIN;
  si->fn = fn;
  si->arg = arg;
  e = pthread_create(t, attr, thread_start, si);
  if (e != 0) gh_free(si);
  return e;
}
EXPORT int GC_pthread_join(pthread_t t, void **ret) { return pthread_join(t, ret); }
EXPORT int GC_pthread_detach(pthread_t t) { return pthread_detach(t); }
EXPORT int GC_pthread_cancel(pthread_t t) { return pthread_cancel(t); }
EXPORT void GC_pthread_exit(void *ret) { pthread_exit(ret); }
/* [same] never blocks goheap's stop signal (as bdwgc keeps its own). */
EXPORT int GC_pthread_sigmask(int how, const sigset_t *set, sigset_t *old) {
  sigset_t s;
  if (set && (how == SIG_BLOCK || how == SIG_SETMASK)) {
    s = *set;
    sigdelset(&s, stop_signal());
    set = &s;
  }
  return pthread_sigmask(how, set, old);
}

/* ======================================================================
 * Debugging allocator: [approx] goheap has no debug headers or smash
 * checks (GC_debug_header_size is 0); the GC_debug_* forms are the plain
 * ones, and the file/line arguments are ignored.
 * ====================================================================== */
#define UNUSED_SI \
  (void)s;        \
  (void)i
EXPORT void *GC_debug_malloc(size_t n, const char *s, int i) {
  UNUSED_SI;
  return GC_malloc(n);
}
EXPORT void *GC_debug_malloc_atomic(size_t n, const char *s, int i) {
  UNUSED_SI;
  return GC_malloc_atomic(n);
}
EXPORT char *GC_debug_strdup(const char *str, const char *s, int i) {
  UNUSED_SI;
  return GC_strdup(str);
}
EXPORT char *GC_debug_strndup(const char *str, size_t n, const char *s, int i) {
  UNUSED_SI;
  return GC_strndup(str, n);
}
EXPORT void *GC_debug_malloc_uncollectable(size_t n, const char *s, int i) {
  UNUSED_SI;
  return GC_malloc_uncollectable(n);
}
EXPORT void *GC_debug_malloc_atomic_uncollectable(size_t n, const char *s, int i) {
  UNUSED_SI;
  return GC_malloc_atomic_uncollectable(n);
}
EXPORT void *GC_debug_malloc_stubborn(size_t n, const char *s, int i) {
  UNUSED_SI;
  return GC_malloc(n);
}
EXPORT void *GC_debug_malloc_ignore_off_page(size_t n, const char *s, int i) {
  UNUSED_SI;
  return GC_malloc(n);
}
EXPORT void *GC_debug_malloc_atomic_ignore_off_page(size_t n, const char *s, int i) {
  UNUSED_SI;
  return GC_malloc_atomic(n);
}
EXPORT void GC_debug_free(void *p) { GC_free(p); }
EXPORT void *GC_debug_realloc(void *p, size_t n, const char *s, int i) {
  UNUSED_SI;
  return GC_realloc(p, n);
}
EXPORT void GC_debug_change_stubborn(const void *p) { (void)p; }
EXPORT void GC_debug_end_stubborn_change(const void *p) { (void)p; }
EXPORT void GC_debug_ptr_store_and_dirty(void *p, const void *q) { *(const void **)p = q; }
EXPORT void *GC_debug_malloc_replacement(size_t n) { return GC_malloc(n); }
EXPORT void *GC_debug_realloc_replacement(void *p, size_t n) { return GC_realloc(p, n); }
EXPORT size_t GC_get_debug_header_size(void) { return 0; }

/* ---- misc --------------------------------------------------------------- */
__attribute__((noinline)) EXPORT void GC_noop1(GC_word x) { __asm__ __volatile__("" : : "r"(x) : "memory"); }
