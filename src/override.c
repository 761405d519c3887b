/*
 * override.c -- glibc's malloc introspection calls, answered from goheap's state.
 *
 * The allocation functions themselves (malloc, free, ..., the __libc_* names)
 * are aliases of their gh_ twins, declared at the end of malloc.c because an
 * alias must live in the file that defines its target. Building with
 * -DGH_NO_OVERRIDE and without this file (tests/suites/tsan.sh does) gives a
 * gh_-only library. C++'s operator new and delete are defined here too (every
 * form: plain, array, sized, aligned, nothrow), as mimalloc does, so C++
 * programs reach goheap in one call instead of through libstdc++'s; when
 * goheap has no memory, new hands the request to the next definition of the
 * same operator (libstdc++'s), which calls the new_handler and throws
 * std::bad_alloc as the standard says. pthread_create is interposed too, so
 * that threads are registered with the collector before they run (world.c),
 * and so are pthread_sigmask and sigprocmask, so that the collector's stop
 * signal stays deliverable.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <string.h>

#include "internal.h"

/* glibc's mallopt parameters (malloc.h): accepted and ignored, since goheap's
 * size classes, thread caches and release policy have their own settings. */
__attribute__((visibility("default"))) int mallopt(int param, int value) {
  (void)value;
  switch (param) {
  case M_MXFAST: case M_TRIM_THRESHOLD: case M_TOP_PAD: case M_MMAP_THRESHOLD:
  case M_MMAP_MAX: case M_CHECK_ACTION: case M_PERTURB: case M_ARENA_TEST: case M_ARENA_MAX:
    return 1;
  default:
    return 0;
  }
}

/* glibc's fields, filled from goheap's counters (large objects are the "mmapped" ones). */
__attribute__((visibility("default"))) struct mallinfo2 mallinfo2(void) {
  gh_stats st = {.size = sizeof st};
  gh_read_stats(&st);
  struct mallinfo2 mi;
  memset(&mi, 0, sizeof mi);
  mi.arena = st.heap_sys;
  mi.ordblks = (size_t)(st.heap_idle / GH_PAGE_SIZE);
  mi.hblks = (size_t)(gh_atomic_load_relaxed(&gh_large_nmalloc) - gh_atomic_load_relaxed(&gh_large_nfree));
  mi.hblkhd = gh_atomic_load_relaxed(&gh_large_bytes);
  mi.uordblks = st.heap_alloc;
  mi.fordblks = st.heap_sys > st.heap_alloc ? st.heap_sys - st.heap_alloc : 0;
  mi.keepcost = st.heap_idle - st.heap_released;
  return mi;
}

static size_t clamp_int(size_t v) { return v > (size_t)0x7fffffff ? 0x7fffffff : v; }

__attribute__((visibility("default"))) struct mallinfo mallinfo(void) {
  struct mallinfo2 m2 = mallinfo2();
  struct mallinfo mi = {
    .arena = (int)clamp_int(m2.arena), .ordblks = (int)clamp_int(m2.ordblks),
    .hblks = (int)clamp_int(m2.hblks), .hblkhd = (int)clamp_int(m2.hblkhd),
    .uordblks = (int)clamp_int(m2.uordblks), .fordblks = (int)clamp_int(m2.fordblks),
    .keepcost = (int)clamp_int(m2.keepcost),
  };
  return mi;
}

__attribute__((visibility("default"))) void malloc_stats(void) { gh_print_stats(2); }

/* Every thread the program creates is known to the collector from its first
 * instruction (world.c): it registers before its start routine runs. */
__attribute__((visibility("default"))) int pthread_create(pthread_t *t, const pthread_attr_t *attr,
                                                          void *(*fn)(void *), void *arg) {
  return gh_world_create_thread(t, attr, fn, arg);
}

/* pthread_sigmask and sigprocmask never block the stop signal (bdwgc's
 * GC_pthread_sigmask does the same for the programs its gc.h redirects): a
 * registered thread that blocked it could never be stopped, and every
 * collection would wait out GOHEAP_STOP_TIMEOUT_MS and be cancelled. Server
 * programs often block every signal in their worker threads and leave them
 * to one thread. The rest of the mask is set as asked, and the old mask is
 * reported as it is. (A raw rt_sigprocmask system call still blocks it:
 * world.c reports such a thread by name.) */
__attribute__((visibility("default"))) int pthread_sigmask(int how, const sigset_t *set, sigset_t *old) {
  return gh_os_sigmask(false, how, set, old, gh_world_stop_signal());
}

__attribute__((visibility("default"))) int sigprocmask(int how, const sigset_t *set, sigset_t *old) {
  return gh_os_sigmask(true, how, set, old, gh_world_stop_signal());
}

/* ---- C++ operator new and delete (Itanium C++ ABI names) -------------------------------
 * The sized forms need no size: goheap finds the object's class from its
 * address (spanOf), as for free. */
#define GH_CXX __attribute__((visibility("default")))

/* Out of memory: the C++ runtime's own operator does what the standard asks
 * (new_handler, then std::bad_alloc or, for nothrow, NULL). */
static GH_COLD void *cxx_fallback(const char *name, size_t size, size_t align, bool aligned, bool nothrow) {
  void *next = gh_os_next_symbol(name);
  if (!next) {
    if (nothrow) return NULL;
    gh_throw2("operator new: out of memory, and no C++ runtime to throw std::bad_alloc", "size", size);
  }
  if (aligned && nothrow) return ((void *(*)(size_t, size_t, const void *))next)(size, align, NULL);
  if (aligned) return ((void *(*)(size_t, size_t))next)(size, align);
  if (nothrow) return ((void *(*)(size_t, const void *))next)(size, NULL);
  return ((void *(*)(size_t))next)(size);
}

static inline void *cxx_new(const char *name, size_t size, bool nothrow) {
  void *p = gh_malloc(size);
  return gh_likely(p != NULL) ? p : cxx_fallback(name, size, 0, false, nothrow);
}

static inline void *cxx_new_aligned(const char *name, size_t size, size_t align, bool nothrow) {
  void *p = gh_aligned_alloc(align, size);
  return gh_likely(p != NULL) ? p : cxx_fallback(name, size, align, true, nothrow);
}

GH_CXX void *_Znwm(size_t n) { return cxx_new("_Znwm", n, false); }
GH_CXX void *_Znam(size_t n) { return cxx_new("_Znam", n, false); }
GH_CXX void *_ZnwmRKSt9nothrow_t(size_t n, const void *t) { (void)t; return cxx_new("_ZnwmRKSt9nothrow_t", n, true); }
GH_CXX void *_ZnamRKSt9nothrow_t(size_t n, const void *t) { (void)t; return cxx_new("_ZnamRKSt9nothrow_t", n, true); }
GH_CXX void *_ZnwmSt11align_val_t(size_t n, size_t a) { return cxx_new_aligned("_ZnwmSt11align_val_t", n, a, false); }
GH_CXX void *_ZnamSt11align_val_t(size_t n, size_t a) { return cxx_new_aligned("_ZnamSt11align_val_t", n, a, false); }
GH_CXX void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t a, const void *t) {
  (void)t;
  return cxx_new_aligned("_ZnwmSt11align_val_tRKSt9nothrow_t", n, a, true);
}
GH_CXX void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t a, const void *t) {
  (void)t;
  return cxx_new_aligned("_ZnamSt11align_val_tRKSt9nothrow_t", n, a, true);
}

GH_CXX void _ZdlPv(void *p) { gh_free(p); }
GH_CXX void _ZdaPv(void *p) { gh_free(p); }
GH_CXX void _ZdlPvm(void *p, size_t n) { (void)n; gh_free(p); }
GH_CXX void _ZdaPvm(void *p, size_t n) { (void)n; gh_free(p); }
GH_CXX void _ZdlPvRKSt9nothrow_t(void *p, const void *t) { (void)t; gh_free(p); }
GH_CXX void _ZdaPvRKSt9nothrow_t(void *p, const void *t) { (void)t; gh_free(p); }
GH_CXX void _ZdlPvSt11align_val_t(void *p, size_t a) { (void)a; gh_free(p); }
GH_CXX void _ZdaPvSt11align_val_t(void *p, size_t a) { (void)a; gh_free(p); }
GH_CXX void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t a) { (void)n, (void)a; gh_free(p); }
GH_CXX void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t a) { (void)n, (void)a; gh_free(p); }
GH_CXX void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t a, const void *t) { (void)a, (void)t; gh_free(p); }
GH_CXX void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t a, const void *t) { (void)a, (void)t; gh_free(p); }
