/*
 * tests/bdwgc/gc.h -- bdwgc's public API (gc.h, libgc 8.2) mapped onto
 * goheap's, so that bdwgc's own black-box tests (fetched at test time from
 * Debian's libgc source package, never committed: tests/suites/bdwgc.sh)
 * build unchanged against goheap.  Written from bdwgc's documented
 * interface; no bdwgc code is copied here.
 *
 * Only what goheap can honour is mapped.  Where a bdwgc call has no
 * counterpart, the mapping below says which of these it is:
 *   [same]      the same contract (gh_alloc <-> GC_MALLOC, ...);
 *   [superset]  goheap gives more than bdwgc promises, which no correct
 *               program can tell apart from bdwgc (objects are scanned
 *               where bdwgc might not scan them, memory is zeroed where
 *               bdwgc leaves it as is, a whole stack is scanned where
 *               GC_do_blocking would let bdwgc skip part of it);
 *   [knob]      a tuning knob or hint with no meaning for goheap: accepted,
 *               remembered (GC_get_x returns what GC_set_x stored) and
 *               otherwise ignored;
 *   [approx]    an approximation, spelled out where it is defined;
 *   [none]      no counterpart: tests that need it are not run (see the
 *               header of tests/suites/bdwgc.sh); the few such entry
 *               points that a run test references on a path it does not
 *               take abort() if ever called.
 *
 * Most of the mapping is static inline in this header (a test's calls then
 * never reach a symbol named GC_*); what needs global state is in
 * gc_shim.c, under ghshim_* names.  Nothing here is named like a libgc
 * symbol at link level, so the same test objects can be linked against a
 * goheap stand-in built on the real libgc (GH_BDWGC_BACKEND=libgc in
 * bdwgc.sh, a check of this shim, not of goheap).
 *
 * The main points (see each definition for details):
 *   GC_MALLOC(n)              gh_alloc(n ? n : 1)                       [same]
 *   GC_MALLOC_ATOMIC(n)       gh_alloc_noscan(max(n,16))                [same]
 *       (max: goheap, like Go, packs noscan objects under 16 bytes into
 *       shared 16-byte blocks; such a piece is not an object of its own, so
 *       GC_FREE/GC_base/GC_size could not work on it as bdwgc promises)
 *   GC_MALLOC_UNCOLLECTABLE   gh_calloc: malloc'd blocks are roots      [same]
 *   GC_FREE, GC_REALLOC       gh_free, gh_realloc (keeps the kind)      [same]
 *   GC_base, GC_size          gh_base, gh_malloc_usable_size            [same]
 *   GC_gcollect               gh_collect                                [same]
 *   GC_REGISTER_FINALIZER     gh_set_finalizer, through a table in gc_shim.c
 *       that also returns the previous fn/cd as bdwgc does, and runs the
 *       finalizer on goheap's finalizer thread (bdwgc runs it in a client
 *       thread; both run it once, after the object became unreachable,
 *       ordered: an object reachable from a finalizable one is finalized
 *       after it)                                                     [same]
 *   GC_register_finalizer_no_order / _ignore_self / _unreachable: mapped to
 *       the same ordered finalizer [approx: goheap never finalizes a cycle
 *       of finalizable objects, bdwgc's _no_order does]
 *   GC_general_register_disappearing_link, GC_register_long_link, move and
 *       unregister: kept in gc_shim.c's table; the object gets a goheap
 *       finalizer (chained with its bdwgc finalizer, if any) that clears
 *       the short links, runs the client's finalizer, then clears the long
 *       links [approx: bdwgc clears short links during the collection that
 *       finds the object unreachable, long links when the object is
 *       reclaimed; here both happen on the finalizer thread, shortly after.
 *       The link's location must stay valid memory until then (true of
 *       static data and uncollectable objects, and of every link in
 *       gctest)]
 *   GC_invoke_finalizers      goheap runs them itself: waits until its
 *                             finalizers_run counter settles    [approx]
 *   GC_get_heap_size          heap_sys - heap_released                  [same]
 *   GC_get_unmapped_bytes     heap_released                             [same]
 *   GC_get_total_bytes        bytes requested through this header,
 *                             rounded up to 8 (goheap keeps no such
 *                             counter)                          [approx]
 *   GC_add_roots/remove_roots gh_add_roots/gh_remove_roots              [same]
 *   GC_register_my_thread     gh_register_thread; returns GC_SUCCESS even
 *                             if the thread was registered already (goheap
 *                             cannot tell; registering twice is harmless)
 *   GC_unregister_my_thread   gh_unregister_thread                      [same]
 *   GC_thread_is_registered   registers the calling thread, returns 1:
 *                             goheap registers every thread that allocates,
 *                             there is no query                  [approx]
 *   GC_pthread_create         pthread_create of a start routine that calls
 *                             gh_register_thread first and
 *                             gh_unregister_thread when the thread returns
 *                             or exits (bdwgc's GC_pthread_create does the
 *                             same); with GC_THREADS, and without
 *                             GC_NO_THREAD_REDIRECTS, pthread_create,
 *                             pthread_join and pthread_detach are
 *                             redirected as bdwgc's gc.h does       [same]
 *   GC_disable/GC_enable      a nesting count; the outermost disable sets
 *                             gh_set_gc_percent(-1), the matching enable
 *                             restores the old value [approx: gh_collect
 *                             still collects while disabled]
 *   GC_do_blocking, GC_call_with_gc_active: call fn directly      [superset]
 *   GC_call_with_alloc_lock, GC_alloc_lock/unlock: a mutex of the shim's own
 *                             (goheap has no allocator lock to lend)
 *                             [approx: excludes other holders of that mutex,
 *                             not allocation]
 *   GC_call_with_stack_base   calls fn with this frame's address as the
 *                             stack base (goheap finds stacks itself)
 *   GC_malloc_many(n)         a list of separate GC_malloc(n) objects [same]
 *   GC_memalign(a, n)         as bdwgc does it: an object of n + a - 1
 *                             bytes and an aligned interior pointer into it
 *                             (which keeps it alive in goheap too)  [same]
 *   GC_get_kind_and_size      GC_I_NORMAL for every collected object (goheap
 *                             has no query for scan/noscan), 2 (bdwgc's
 *                             UNCOLLECTABLE) for malloc'd ones    [approx]
 *   GC_is_visible, GC_is_valid_displacement: return p, check nothing (every
 *                             interior pointer is valid in goheap) [approx]
 *   GC_same_obj(p, q)         checks gh_base(p) == gh_base(q)           [same]
 *   GC_set_all_interior_pointers: ignored, goheap always recognizes interior
 *                             pointers (GC_get_ returns 1)        [superset]
 *   GC_enable_incremental, GC_collect_a_little, GC_set_rate, ...    [knob]
 *   GC_DEBUG                  accepted and ignored: the plain allocator is
 *                             used (no debug headers, no smash checks) [none]
 *   typed allocation (gc_typed.h): plain GC_MALLOC, every word scanned
 *                                                                 [superset]
 *   GC_set_find_leak, GC_enumerate_reachable_objects_inner, GC_is_marked,
 *   GC_set_stackbottom, GC_get_my_stackbottom: see their definitions.
 */
#ifndef GH_BDWGC_GC_H
#define GH_BDWGC_GC_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* pthread_getattr_np */
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "goheap.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- configuration macros bdwgc's gc_config_macros.h would set ---------- */
#define GH_BDWGC_SHIM 1
#define GC_VERSION_MAJOR 8 /* the API level emulated: libgc 8.2.2 */
#define GC_VERSION_MINOR 2
#define GC_VERSION_MICRO 2
#if defined(GC_THREADS) && !defined(GC_PTHREADS)
#define GC_PTHREADS 1
#endif
#ifdef GC_PTHREADS
#include <pthread.h>
#endif
#define GC_API extern
#define GC_CALL
#ifndef GC_CALLBACK
#define GC_CALLBACK
#endif
#ifndef GC_ATTR_UNUSED
#define GC_ATTR_UNUSED __attribute__((__unused__))
#endif
#ifndef GC_ATTR_MALLOC
#define GC_ATTR_MALLOC
#endif
#ifndef GC_ATTR_ALLOC_SIZE
#define GC_ATTR_ALLOC_SIZE(argnum)
#endif
#ifndef GC_ATTR_NONNULL
#define GC_ATTR_NONNULL(argnum)
#endif
#ifndef GC_ATTR_DEPRECATED
#define GC_ATTR_DEPRECATED
#endif
#ifndef GC_FAR
#define GC_FAR
#endif
#ifndef GC_GNUC_PREREQ
#define GC_GNUC_PREREQ(major, minor) ((__GNUC__ << 8) + __GNUC_MINOR__ >= ((major) << 8) + (minor))
#endif
#define GC_EXPECT(expr, outcome) __builtin_expect(expr, outcome)
#define GC_INLINE static inline
#define GH_SHIM_FN static inline __attribute__((__unused__))

typedef uintptr_t GC_word;
typedef intptr_t GC_signed_word;
typedef GC_word GC_hidden_pointer;
#define GC_HIDE_POINTER(p) (~(GC_hidden_pointer)(p))
#define GC_REVEAL_POINTER(p) ((void *)GC_HIDE_POINTER(p))
#define HIDE_POINTER(p) GC_HIDE_POINTER(p)
#define REVEAL_POINTER(p) GC_REVEAL_POINTER(p)

/* Result codes */
#define GC_SUCCESS 0
#define GC_DUPLICATE 1
#define GC_NO_MEMORY 2
#define GC_NO_THREADS 2
#define GC_UNIMPLEMENTED 3
#define GC_NOT_FOUND 4

/* Not supported by goheap; bdwgc's tests check these to skip parts. */
#define GC_TOGGLE_REFS_NOT_NEEDED 1

/* ---- state kept by gc_shim.c ------------------------------------------- */
extern GC_word ghshim_total_bytes;   /* GC_get_total_bytes */
extern int ghshim_init_called;
void ghshim_init(void);
void ghshim_noop1(GC_word);
typedef void (*ghshim_fin_fn)(void *, void *);
void ghshim_register_finalizer(void *obj, ghshim_fin_fn fn, void *cd, ghshim_fin_fn *ofn, void **ocd);
int ghshim_register_link(void **link, const void *obj, int is_long);
int ghshim_unregister_link(void **link, int is_long);
int ghshim_move_link(void **link, void **new_link, int is_long);
int ghshim_invoke_finalizers(void);
void ghshim_disable(void);
void ghshim_enable(void);
int ghshim_is_disabled(void);
void ghshim_alloc_lock(void);
void ghshim_alloc_unlock(void);
void ghshim_atfork_prepare(void);
void ghshim_atfork_parent(void);
void ghshim_atfork_child(void);
void *ghshim_memalign(size_t align, size_t lb);
void *ghshim_malloc_many(size_t lb);
void ghshim_stack_base(void **base); /* the calling thread's stack bottom, or NULL */
void ghshim_read_stats(gh_stats *st);
size_t ghshim_size_map_at(int i);
void ghshim_unsupported(const char *what) __attribute__((__noreturn__));
#ifdef GC_PTHREADS
int ghshim_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
#endif

GH_SHIM_FN void ghshim_count(size_t n) {
  __atomic_fetch_add(&ghshim_total_bytes, (GC_word)((n + 7) & ~(size_t)7), __ATOMIC_RELAXED);
}

/* ---- initialization ---------------------------------------------------- */
GH_SHIM_FN void GC_init(void) { ghshim_init(); }
/* bdwgc's GC_INIT also applies GC_INITIAL_HEAP_SIZE / GC_MAXIMUM_HEAP_SIZE
 * and the like, when defined: goheap has no heap-size bounds of that kind
 * (gh_set_memory_limit is a soft target, not a maximum), so they are ignored. */
#define GC_INIT() GC_init()
/* goheap initializes itself on its first call (bdwgc too, unless the
 * platform needs GC_INIT): there is no "not initialized" state to report. */
GH_SHIM_FN int GC_is_init_called(void) { return 1; }
GH_SHIM_FN void GC_deinit(void) {}
GH_SHIM_FN unsigned GC_get_version(void) {
  return (GC_VERSION_MAJOR << 16) | (GC_VERSION_MINOR << 8) | GC_VERSION_MICRO;
}

/* ---- allocation -------------------------------------------------------- */
GH_SHIM_FN void *GC_malloc(size_t n) {
  void *p = gh_alloc(n ? n : 1);
  if (p) ghshim_count(n);
  return p;
}
GH_SHIM_FN void *GC_malloc_atomic(size_t n) {
  void *p = gh_alloc_noscan(n < 16 ? 16 : n);
  if (p) ghshim_count(n);
  return p;
}
GH_SHIM_FN void *GC_malloc_uncollectable(size_t n) {
  void *p = gh_calloc(1, n ? n : 1);
  if (p) ghshim_count(n);
  return p;
}
GH_SHIM_FN void *GC_malloc_atomic_uncollectable(size_t n) { return GC_malloc_uncollectable(n); }
GH_SHIM_FN void *GC_malloc_ignore_off_page(size_t n) { return GC_malloc(n); }
GH_SHIM_FN void *GC_malloc_atomic_ignore_off_page(size_t n) { return GC_malloc_atomic(n); }
GH_SHIM_FN void GC_free(void *p) { gh_free(p); }
GH_SHIM_FN void *GC_realloc(void *p, size_t n) {
  void *q;
  if (p == NULL) return GC_malloc(n);
  if (n == 0) {
    gh_free(p);
    return NULL;
  }
  q = gh_realloc(p, n);
  if (q) ghshim_count(n);
  return q;
}
GH_SHIM_FN char *GC_strdup(const char *s) {
  size_t n;
  char *p;
  if (s == NULL) return NULL;
  n = strlen(s) + 1;
  p = (char *)GC_malloc_atomic(n);
  if (p) memcpy(p, s, n);
  return p;
}
GH_SHIM_FN char *GC_strndup(const char *s, size_t k) {
  size_t n = strnlen(s, k);
  char *p = (char *)GC_malloc_atomic(n + 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = 0;
  }
  return p;
}
GH_SHIM_FN void *GC_memalign(size_t align, size_t lb) { return ghshim_memalign(align, lb); }
GH_SHIM_FN int GC_posix_memalign(void **out, size_t align, size_t lb) {
  void *p;
  if (align < sizeof(void *) || (align & (align - 1)) != 0) return EINVAL;
  p = ghshim_memalign(align, lb);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
GH_SHIM_FN void *GC_malloc_many(size_t lb) { return ghshim_malloc_many(lb); }
#define GC_NEXT(p) (*(void **)(p))

#define GC_MALLOC(sz) GC_malloc(sz)
#define GC_MALLOC_ATOMIC(sz) GC_malloc_atomic(sz)
#define GC_STRDUP(s) GC_strdup(s)
#define GC_STRNDUP(s, sz) GC_strndup(s, sz)
#define GC_MALLOC_ATOMIC_UNCOLLECTABLE(sz) GC_malloc_atomic_uncollectable(sz)
#define GC_MALLOC_UNCOLLECTABLE(sz) GC_malloc_uncollectable(sz)
#define GC_MALLOC_IGNORE_OFF_PAGE(sz) GC_malloc_ignore_off_page(sz)
#define GC_MALLOC_ATOMIC_IGNORE_OFF_PAGE(sz) GC_malloc_atomic_ignore_off_page(sz)
#define GC_REALLOC(old, sz) GC_realloc(old, sz)
#define GC_FREE(p) GC_free(p)
#define GC_NEW(t) ((t *)GC_MALLOC(sizeof(t)))
#define GC_NEW_ATOMIC(t) ((t *)GC_MALLOC_ATOMIC(sizeof(t)))
#define GC_NEW_UNCOLLECTABLE(t) ((t *)GC_MALLOC_UNCOLLECTABLE(sizeof(t)))
#define GC_NEW_STUBBORN(t) GC_NEW(t)
#define GC_MALLOC_STUBBORN(sz) GC_MALLOC(sz)

/* Write barrier / stubborn-object hints: goheap's collections stop the
 * world and rescan everything, nothing needs to be told. */
GH_SHIM_FN void GC_end_stubborn_change(const void *p) { (void)p; }
GH_SHIM_FN void GC_change_stubborn(const void *p) { (void)p; }
#define GC_END_STUBBORN_CHANGE(p) GC_end_stubborn_change(p)
#define GC_PTR_STORE(p, q) (*(void **)(p) = (void *)(q))
#define GC_PTR_STORE_AND_DIRTY(p, q) \
  do { \
    void *ghshim_q_ = (void *)(q); \
    *(void **)(p) = ghshim_q_; \
  } while (0)
#define GC_reachable_here(ptr) __asm__ __volatile__("" : : "X"(ptr) : "memory")
GH_SHIM_FN void GC_noop1(GC_word x) { ghshim_noop1(x); }

/* Pointer arithmetic checks (bdwgc checks them only with GC_DEBUG). */
#define GC_PTR_ADD(x, n) ((x) + (n))
#define GC_PRE_INCR(x, n) ((x) += (n))
#define GC_POST_INCR(x) ((x)++)
#define GC_POST_DECR(x) ((x)--)

/* ---- object queries ---------------------------------------------------- */
GH_SHIM_FN void *GC_base(void *p) { return gh_base(p); }
GH_SHIM_FN int GC_is_heap_ptr(const void *p) { return gh_base((void *)p) != NULL; }
GH_SHIM_FN size_t GC_size(const void *p) { return gh_malloc_usable_size((void *)p); }

extern void (*ghshim_same_obj_print_proc)(void *, void *);
extern void (*ghshim_is_valid_displacement_print_proc)(void *);
extern void (*ghshim_is_visible_print_proc)(void *);
#define GC_same_obj_print_proc ghshim_same_obj_print_proc
#define GC_is_valid_displacement_print_proc ghshim_is_valid_displacement_print_proc
#define GC_is_visible_print_proc ghshim_is_visible_print_proc
GH_SHIM_FN void *GC_same_obj(void *p, void *q) {
  void *bq = gh_base(q);
  if (bq != NULL && gh_base(p) != bq) ghshim_same_obj_print_proc(p, q);
  return p;
}
GH_SHIM_FN void *GC_is_visible(void *p) { return p; }
GH_SHIM_FN void *GC_is_valid_displacement(void *p) { return p; }
GH_SHIM_FN void *GC_pre_incr(void **p, ptrdiff_t how_much) {
  *(char **)p += how_much;
  return *p;
}
GH_SHIM_FN void *GC_post_incr(void **p, ptrdiff_t how_much) {
  void *old = *p;
  *(char **)p += how_much;
  return old;
}

/* ---- collection -------------------------------------------------------- */
GH_SHIM_FN void GC_gcollect(void) { gh_collect(); }
GH_SHIM_FN void GC_gcollect_and_unmap(void) {
  gh_collect();
  gh_free_os_memory();
}
typedef int (*GC_stop_func)(void);
GH_SHIM_FN int GC_try_to_collect(GC_stop_func f) {
  (void)f;
  gh_collect();
  return 1;
}
GH_SHIM_FN int GC_collect_a_little(void) { return 0; } /* no incremental work pending */
GH_SHIM_FN void GC_disable(void) { ghshim_disable(); }
GH_SHIM_FN void GC_enable(void) { ghshim_enable(); }
GH_SHIM_FN int GC_is_disabled(void) { return ghshim_is_disabled(); }
GH_SHIM_FN void GC_enable_incremental(void) {}
GH_SHIM_FN int GC_is_incremental_mode(void) { return 0; }
GH_SHIM_FN void GC_start_incremental_collection(void) {}
#define GC_PROTECTS_NONE 0
GH_SHIM_FN int GC_incremental_protection_needs(void) { return GC_PROTECTS_NONE; }
GH_SHIM_FN void GC_start_mark_threads(void) {}
GH_SHIM_FN void GC_set_markers_count(unsigned n) { (void)n; }
GH_SHIM_FN int GC_get_parallel(void) { return 0; } /* goheap's mark workers are internal */
GH_SHIM_FN void GC_start_performance_measurement(void) {}
GH_SHIM_FN void GC_clear_exclusion_table(void) {}
GH_SHIM_FN void GC_set_all_interior_pointers(int v) { (void)v; }
GH_SHIM_FN int GC_get_all_interior_pointers(void) { return 1; }
GH_SHIM_FN void GC_register_displacement(size_t off) { (void)off; }
#define GC_REGISTER_DISPLACEMENT(n) GC_register_displacement(n)
/* Leak detection is a bdwgc mode goheap does not have: never on. */
GH_SHIM_FN void GC_set_find_leak(int v) {
  if (v) ghshim_unsupported("GC_set_find_leak(1): leak detection");
}
GH_SHIM_FN int GC_get_find_leak(void) { return 0; }

/* ---- statistics -------------------------------------------------------- */
GH_SHIM_FN size_t GC_get_heap_size(void) {
  gh_stats st;
  ghshim_read_stats(&st);
  return (size_t)(st.heap_sys - st.heap_released);
}
GH_SHIM_FN size_t GC_get_unmapped_bytes(void) {
  gh_stats st;
  ghshim_read_stats(&st);
  return (size_t)st.heap_released;
}
GH_SHIM_FN size_t GC_get_free_bytes(void) {
  gh_stats st;
  ghshim_read_stats(&st);
  return (size_t)(st.heap_idle - st.heap_released);
}
GH_SHIM_FN size_t GC_get_memory_use(void) {
  gh_stats st;
  ghshim_read_stats(&st);
  return (size_t)st.heap_alloc;
}
GH_SHIM_FN size_t GC_get_obtained_from_os_bytes(void) {
  gh_stats st;
  ghshim_read_stats(&st);
  return (size_t)st.heap_sys;
}
GH_SHIM_FN size_t GC_get_total_bytes(void) {
  return (size_t)__atomic_load_n(&ghshim_total_bytes, __ATOMIC_RELAXED);
}
GH_SHIM_FN size_t GC_get_bytes_since_gc(void) { return 0; }       /* not tracked */
GH_SHIM_FN size_t GC_get_expl_freed_bytes_since_gc(void) { return 0; } /* not tracked */
GH_SHIM_FN GC_word GC_get_gc_no(void) {
  gh_stats st;
  ghshim_read_stats(&st);
  return (GC_word)st.num_gc;
}
GH_SHIM_FN unsigned long GC_get_full_gc_total_time(void) { /* ms: goheap's stop-the-world total */
  gh_stats st;
  ghshim_read_stats(&st);
  return (unsigned long)(st.pause_total_ns / 1000000u);
}
GH_SHIM_FN void GC_get_heap_usage_safe(GC_word *heap_size, GC_word *free_bytes, GC_word *unmapped,
                                       GC_word *since_gc, GC_word *total) {
  gh_stats st;
  ghshim_read_stats(&st);
  if (heap_size) *heap_size = st.heap_sys - st.heap_released;
  if (free_bytes) *free_bytes = st.heap_idle - st.heap_released;
  if (unmapped) *unmapped = st.heap_released;
  if (since_gc) *since_gc = 0;
  if (total) *total = GC_get_total_bytes();
}
struct GC_prof_stats_s {
  GC_word heapsize_full, free_bytes_full, unmapped_bytes, bytes_allocd_since_gc,
      allocd_bytes_before_gc, non_gc_bytes, gc_no, markers_m1, bytes_reclaimed_since_gc,
      reclaimed_bytes_before_gc, expl_freed_bytes_since_gc, obtained_from_os_bytes;
};
/* Fields goheap has no figure for are -1, as bdwgc documents for unknowns. */
GH_SHIM_FN size_t GC_get_prof_stats(struct GC_prof_stats_s *ps, size_t sz) {
  struct GC_prof_stats_s s;
  gh_stats st;
  ghshim_read_stats(&st);
  memset(&s, 0xff, sizeof s);
  s.heapsize_full = st.heap_sys;
  s.free_bytes_full = st.heap_idle;
  s.unmapped_bytes = st.heap_released;
  s.gc_no = st.num_gc;
  s.markers_m1 = 0;
  s.allocd_bytes_before_gc = GC_get_total_bytes();
  s.obtained_from_os_bytes = st.heap_sys;
  if (sz > sizeof s) sz = sizeof s;
  memcpy(ps, &s, sz);
  return sz;
}
GH_SHIM_FN size_t GC_get_prof_stats_unsafe(struct GC_prof_stats_s *ps, size_t sz) {
  return GC_get_prof_stats(ps, sz);
}
GH_SHIM_FN size_t GC_get_size_map_at(int i) { return ghshim_size_map_at(i); }

/* ---- finalization ------------------------------------------------------ */
typedef void (*GC_finalization_proc)(void *obj, void *client_data);
GH_SHIM_FN void GC_register_finalizer(void *obj, GC_finalization_proc fn, void *cd,
                                      GC_finalization_proc *ofn, void **ocd) {
  ghshim_register_finalizer(obj, fn, cd, ofn, ocd);
}
GH_SHIM_FN void GC_register_finalizer_no_order(void *obj, GC_finalization_proc fn, void *cd,
                                               GC_finalization_proc *ofn, void **ocd) {
  ghshim_register_finalizer(obj, fn, cd, ofn, ocd);
}
GH_SHIM_FN void GC_register_finalizer_ignore_self(void *obj, GC_finalization_proc fn, void *cd,
                                                  GC_finalization_proc *ofn, void **ocd) {
  ghshim_register_finalizer(obj, fn, cd, ofn, ocd);
}
GH_SHIM_FN void GC_register_finalizer_unreachable(void *obj, GC_finalization_proc fn, void *cd,
                                                  GC_finalization_proc *ofn, void **ocd) {
  ghshim_register_finalizer(obj, fn, cd, ofn, ocd);
}
#define GC_REGISTER_FINALIZER(p, f, d, of, od) GC_register_finalizer(p, f, d, of, od)
#define GC_REGISTER_FINALIZER_IGNORE_SELF(p, f, d, of, od) \
  GC_register_finalizer_ignore_self(p, f, d, of, od)
#define GC_REGISTER_FINALIZER_NO_ORDER(p, f, d, of, od) GC_register_finalizer_no_order(p, f, d, of, od)
#define GC_REGISTER_FINALIZER_UNREACHABLE(p, f, d, of, od) \
  GC_register_finalizer_unreachable(p, f, d, of, od)
GH_SHIM_FN int GC_invoke_finalizers(void) { return ghshim_invoke_finalizers(); }
GH_SHIM_FN int GC_should_invoke_finalizers(void) { return 0; }

GH_SHIM_FN int GC_general_register_disappearing_link(void **link, const void *obj) {
  return ghshim_register_link(link, obj, 0);
}
GH_SHIM_FN int GC_register_disappearing_link(void **link) {
  return ghshim_register_link(link, gh_base(*link), 0);
}
GH_SHIM_FN int GC_move_disappearing_link(void **link, void **new_link) {
  return ghshim_move_link(link, new_link, 0);
}
GH_SHIM_FN int GC_unregister_disappearing_link(void **link) { return ghshim_unregister_link(link, 0); }
GH_SHIM_FN int GC_register_long_link(void **link, const void *obj) {
  return ghshim_register_link(link, obj, 1);
}
GH_SHIM_FN int GC_move_long_link(void **link, void **new_link) { return ghshim_move_link(link, new_link, 1); }
GH_SHIM_FN int GC_unregister_long_link(void **link) { return ghshim_unregister_link(link, 1); }
#define GC_GENERAL_REGISTER_DISAPPEARING_LINK(link, obj) GC_general_register_disappearing_link(link, obj)
#define GC_REGISTER_LONG_LINK(link, obj) GC_register_long_link(link, obj)

/* ---- roots ------------------------------------------------------------- */
GH_SHIM_FN void GC_add_roots(void *lo, void *hi) { gh_add_roots(lo, hi); }
GH_SHIM_FN void GC_remove_roots(void *lo, void *hi) { gh_remove_roots(lo, hi); }

/* ---- threads and stacks ------------------------------------------------ */
struct GC_stack_base {
  void *mem_base;
};
typedef void *(*GC_stack_base_func)(struct GC_stack_base *sb, void *arg);
typedef void *(*GC_fn_type)(void *client_data);
GH_SHIM_FN int GC_get_stack_base(struct GC_stack_base *sb) {
  ghshim_stack_base(&sb->mem_base);
  return sb->mem_base ? GC_SUCCESS : GC_UNIMPLEMENTED;
}
GH_SHIM_FN void *GC_call_with_stack_base(GC_stack_base_func fn, void *arg) {
  struct GC_stack_base sb;
  sb.mem_base = (void *)&sb;
  return fn(&sb, arg);
}
GH_SHIM_FN int GC_register_my_thread(const struct GC_stack_base *sb) {
  (void)sb;
  return gh_register_thread() == 0 ? GC_SUCCESS : GC_NO_MEMORY;
}
GH_SHIM_FN int GC_unregister_my_thread(void) {
  gh_unregister_thread();
  return GC_SUCCESS;
}
GH_SHIM_FN int GC_thread_is_registered(void) { return gh_register_thread() == 0; }
GH_SHIM_FN void GC_allow_register_threads(void) {}
GH_SHIM_FN void GC_use_threads_discovery(void) {}
/* Returns no handle; GC_set_stackbottom(NULL-or-handle, sb) is accepted and
 * ignored (goheap reads each thread's stack bounds from the thread library;
 * gctest only sets back the value it got). */
GH_SHIM_FN void *GC_get_my_stackbottom(struct GC_stack_base *sb) {
  ghshim_stack_base(&sb->mem_base);
  return NULL;
}
GH_SHIM_FN void GC_set_stackbottom(void *handle, const struct GC_stack_base *sb) {
  (void)handle;
  (void)sb;
}
GH_SHIM_FN void *GC_do_blocking(GC_fn_type fn, void *cd) { return fn(cd); }
GH_SHIM_FN void *GC_call_with_gc_active(GC_fn_type fn, void *cd) { return fn(cd); }
GH_SHIM_FN void *GC_call_with_alloc_lock(GC_fn_type fn, void *cd) {
  void *r;
  ghshim_alloc_lock();
  r = fn(cd);
  ghshim_alloc_unlock();
  return r;
}
GH_SHIM_FN void GC_alloc_lock(void) { ghshim_alloc_lock(); }
GH_SHIM_FN void GC_alloc_unlock(void) { ghshim_alloc_unlock(); }
/* goheap handles fork itself; these only keep the shim's own locks
 * consistent across a fork (the client brackets fork() with them). */
GH_SHIM_FN void GC_set_handle_fork(int v) { (void)v; }
GH_SHIM_FN void GC_atfork_prepare(void) { ghshim_atfork_prepare(); }
GH_SHIM_FN void GC_atfork_parent(void) { ghshim_atfork_parent(); }
GH_SHIM_FN void GC_atfork_child(void) { ghshim_atfork_child(); }

#ifdef GC_PTHREADS
GH_SHIM_FN int GC_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg) {
  return ghshim_pthread_create(t, attr, fn, arg);
}
GH_SHIM_FN int GC_pthread_join(pthread_t t, void **ret) { return pthread_join(t, ret); }
GH_SHIM_FN int GC_pthread_detach(pthread_t t) { return pthread_detach(t); }
#if !defined(GC_NO_THREAD_REDIRECTS)
/* bdwgc's gc.h (gc_pthread_redirects.h) does the same with GC_THREADS. */
#undef pthread_create
#undef pthread_join
#undef pthread_detach
#define pthread_create GC_pthread_create
#define pthread_join GC_pthread_join
#define pthread_detach GC_pthread_detach
#endif
#endif

/* ---- knobs: remembered, otherwise ignored ------------------------------ */
typedef void (*GC_warn_proc)(char *msg, GC_word arg);
typedef void *(*GC_oom_func)(size_t);
typedef void (*GC_on_heap_resize_proc)(GC_word);
typedef enum {
  GC_EVENT_START, GC_EVENT_MARK_START, GC_EVENT_MARK_END, GC_EVENT_RECLAIM_START,
  GC_EVENT_RECLAIM_END, GC_EVENT_END, GC_EVENT_PRE_STOP_WORLD, GC_EVENT_POST_STOP_WORLD,
  GC_EVENT_PRE_START_WORLD, GC_EVENT_POST_START_WORLD, GC_EVENT_THREAD_SUSPENDED,
  GC_EVENT_THREAD_UNSUSPENDED
} GC_EventType;
typedef void (*GC_on_collection_event_proc)(GC_EventType);
typedef void (*GC_on_thread_event_proc)(GC_EventType, void *);
typedef void (*GC_finalizer_notifier_proc)(void);
typedef void (*GC_abort_func)(const char *);
typedef void (*GC_await_finalize_proc)(void *);
typedef void (*GC_start_callback_proc)(void);
typedef void (*GC_push_other_roots_proc)(void);
struct GC_timeval_s {
  unsigned long tv_ms;
  unsigned long tv_nsec;
};
#define GH_SHIM_KNOB(type, name, init) \
  static type ghshim_knob_##name = init; \
  GH_SHIM_FN void GC_set_##name(type v) { ghshim_knob_##name = v; } \
  GH_SHIM_FN type GC_get_##name(void) { return ghshim_knob_##name; }
GH_SHIM_KNOB(GC_warn_proc, warn_proc, 0)
GH_SHIM_KNOB(GC_word, min_bytes_allocd, 1)
GH_SHIM_KNOB(int, rate, 10)
GH_SHIM_KNOB(int, max_prior_attempts, 1)
GH_SHIM_KNOB(int, manual_vdb_allowed, 0)
GH_SHIM_KNOB(int, pages_executable, 0)
GH_SHIM_KNOB(GC_word, allocd_bytes_per_finalizer, 10000)
GH_SHIM_KNOB(int, disable_automatic_collection, 0)
GH_SHIM_KNOB(int, dont_expand, 0)
GH_SHIM_KNOB(int, dont_precollect, 0)
GH_SHIM_KNOB(int, finalize_on_demand, 0)
GH_SHIM_KNOB(GC_finalizer_notifier_proc, finalizer_notifier, 0)
GH_SHIM_KNOB(int, force_unmap_on_gcollect, 0)
GH_SHIM_KNOB(GC_word, free_space_divisor, 3)
GH_SHIM_KNOB(int, full_freq, 19)
GH_SHIM_KNOB(int, java_finalization, 0)
GH_SHIM_KNOB(GC_word, max_retries, 0)
GH_SHIM_KNOB(int, no_dls, 0)
GH_SHIM_KNOB(GC_word, non_gc_bytes, 0)
GH_SHIM_KNOB(GC_on_collection_event_proc, on_collection_event, 0)
GH_SHIM_KNOB(GC_on_heap_resize_proc, on_heap_resize, 0)
GH_SHIM_KNOB(GC_on_thread_event_proc, on_thread_event, 0)
GH_SHIM_KNOB(GC_oom_func, oom_fn, 0)
GH_SHIM_KNOB(GC_push_other_roots_proc, push_other_roots, 0)
GH_SHIM_KNOB(GC_start_callback_proc, start_callback, 0)
GH_SHIM_KNOB(GC_stop_func, stop_func, 0)
GH_SHIM_KNOB(int, suspend_signal, -1)
GH_SHIM_KNOB(int, thr_restart_signal, -1)
GH_SHIM_KNOB(unsigned long, time_limit, 50)
GH_SHIM_KNOB(GC_abort_func, abort_func, 0)
GH_SHIM_KNOB(GC_await_finalize_proc, await_finalize_proc, 0)
GH_SHIM_KNOB(GC_word, max_heap_size, 0) /* goheap has no hard heap maximum */
static struct GC_timeval_s ghshim_knob_time_limit_tv = {50, 0};
GH_SHIM_FN void GC_set_time_limit_tv(struct GC_timeval_s v) { ghshim_knob_time_limit_tv = v; }
GH_SHIM_FN struct GC_timeval_s GC_get_time_limit_tv(void) { return ghshim_knob_time_limit_tv; }
GH_SHIM_FN void GC_ignore_warn_proc(char *msg, GC_word arg) {
  (void)msg;
  (void)arg;
}
GH_SHIM_FN void GC_incr_bytes_allocd(size_t n) { (void)n; }
GH_SHIM_FN void GC_incr_bytes_freed(size_t n) { (void)n; }

#ifdef __cplusplus
}
#endif
#endif /* GH_BDWGC_GC_H */
