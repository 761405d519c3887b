/*
 * tests/bdwgc/gc_backptr.h -- bdwgc's back-pointer debugging interface
 * (needs GC_DEBUG object headers): goheap has none [none].  Included, and
 * not used, by staticrootstest.c; trace_test.c, which uses it, is not run.
 */
#ifndef GH_BDWGC_GC_BACKPTR_H
#define GH_BDWGC_GC_BACKPTR_H
#include "gc.h"
GH_SHIM_FN void GC_generate_random_backtrace(void) { ghshim_unsupported("GC_generate_random_backtrace"); }
#endif
