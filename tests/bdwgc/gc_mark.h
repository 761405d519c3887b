/*
 * tests/bdwgc/gc_mark.h -- the few gc_mark.h entry points bdwgc's tests
 * use, on goheap (see gc.h for the conventions).  goheap has no mark-proc
 * or object-kind interface; only what gctest calls is here.
 */
#ifndef GH_BDWGC_GC_MARK_H
#define GH_BDWGC_GC_MARK_H
#include "gc.h"

#ifndef GC_I_PTRFREE
#define GC_I_PTRFREE 0
#define GC_I_NORMAL 1
#endif
#define GH_SHIM_I_UNCOLLECTABLE 2 /* bdwgc's UNCOLLECTABLE kind number */

/* [approx] goheap cannot tell a scanned collected object from a noscan
 * one: every collected object reports GC_I_NORMAL, a malloc'd
 * (uncollectable) one bdwgc's UNCOLLECTABLE. */
GH_SHIM_FN int GC_get_kind_and_size(const void *p, size_t *psize) {
  if (psize) *psize = GC_size(p);
  return gh_is_collected((void *)p) ? GC_I_NORMAL : GH_SHIM_I_UNCOLLECTABLE;
}
GH_SHIM_FN void *GC_generic_or_special_malloc(size_t lb, int kind) {
  switch (kind) {
  case GC_I_PTRFREE: return GC_malloc_atomic(lb);
  case GC_I_NORMAL: return GC_malloc(lb);
  default: return GC_malloc_uncollectable(lb);
  }
}
GH_SHIM_FN void *GC_generic_malloc(size_t lb, int kind) { return GC_generic_or_special_malloc(lb, kind); }
#define GC_GENERIC_OR_SPECIAL_MALLOC(sz, knd) GC_generic_or_special_malloc(sz, knd)

/* [none] goheap exposes no mark bits and cannot enumerate objects.
 * gctest references GC_is_marked only from a debugging helper it never
 * calls; it calls GC_enumerate_reachable_objects_inner once, only to print
 * the count, which is then 0. */
GH_SHIM_FN int GC_is_marked(const void *p) {
  (void)p;
  ghshim_unsupported("GC_is_marked");
}
typedef void (*GC_reachable_object_proc)(void *obj, size_t bytes, void *client_data);
GH_SHIM_FN void GC_enumerate_reachable_objects_inner(GC_reachable_object_proc proc, void *cd) {
  (void)proc;
  (void)cd;
}
struct GC_ms_entry;
#endif
