/*
 * bdwgc/malloc.c -- the malloc family of libgc.so.1: forwards to goheap's
 * (include/goheap.h), so that a program that has libgc.so.1 among its own
 * DT_NEEDED libraries before the C library (w3m and most direct clients:
 * the linker puts -lc last) gets goheap as its malloc, with every malloc'd
 * block scanned as a root as goheap does for its own malloc.  Where
 * libgc.so.1 comes after the C library in the lookup order (a dependency of
 * a dependency, as for Guile and ECL, whose libguile/libecl pull it in),
 * the C library's malloc stays the process's malloc, which is what bdwgc
 * users have too: bdwgc never scans malloc'd memory.  LD_PRELOAD of
 * libgoheap.so.0 makes goheap the malloc there as well, with one goheap in
 * the process (libgc.so.1 uses the same libgoheap.so.0).
 */
#define _GNU_SOURCE 1
#include <stddef.h>
#include "goheap.h"

#define EXPORT __attribute__((__visibility__("default")))

EXPORT void *malloc(size_t n) { return gh_malloc(n); }
EXPORT void free(void *p) { gh_free(p); }
EXPORT void cfree(void *p) { gh_free(p); }
EXPORT void *calloc(size_t n, size_t s) { return gh_calloc(n, s); }
EXPORT void *realloc(void *p, size_t n) { return gh_realloc(p, n); }
EXPORT void *reallocarray(void *p, size_t n, size_t s) { return gh_reallocarray(p, n, s); }
EXPORT int posix_memalign(void **out, size_t a, size_t n) { return gh_posix_memalign(out, a, n); }
EXPORT void *aligned_alloc(size_t a, size_t n) { return gh_aligned_alloc(a, n); }
EXPORT void *memalign(size_t a, size_t n) { return gh_memalign(a, n); }
EXPORT void *valloc(size_t n) { return gh_valloc(n); }
EXPORT void *pvalloc(size_t n) { return gh_pvalloc(n); }
EXPORT size_t malloc_usable_size(void *p) { return gh_malloc_usable_size(p); }
EXPORT void free_sized(void *p, size_t n) { gh_free_sized(p, n); }
EXPORT void free_aligned_sized(void *p, size_t a, size_t n) { gh_free_aligned_sized(p, a, n); }
EXPORT int malloc_trim(size_t pad) { return gh_malloc_trim(pad); }
