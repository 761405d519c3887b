/*
 * override.c -- glibc's malloc introspection calls, answered from goheap's state.
 *
 * The allocation functions themselves (malloc, free, ..., the __libc_* names)
 * are aliases of their gh_ twins, declared at the end of malloc.c because an
 * alias must live in the file that defines its target. Building with
 * -DGH_NO_OVERRIDE and without this file (tests/suites/tsan.sh does) gives a
 * gh_-only library. C++'s operator new/delete are left to libstdc++, which
 * calls malloc and free. pthread_create is interposed too, so that threads
 * are registered with the collector before they run (world.c).
 */
#include <errno.h>
#include <malloc.h>
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
