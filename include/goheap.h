/*
 * goheap.h -- the public interface of goheap, Go's runtime memory manager in C.
 *
 * Two ways in, one heap:
 *   - manual memory: the malloc family below, also exported under the plain
 *     names (malloc, free, ...) by libgoheap.so so LD_PRELOAD works;
 *   - collected memory (the collector issue): gh_alloc and friends.
 *
 * Every function here is thread-safe and async-fork-safe in the usual malloc
 * sense (fork() from any thread leaves the child with a working heap).
 *
 * Bad input (a double free, a free of a pointer goheap does not own or of a
 * pointer into the middle of an object, a sized free with the wrong size) is
 * detected on every call and reported on stderr, one line, starting
 * "goheap: ". By default the process then aborts (SIGABRT, exit status 134);
 * with GOHEAP_ON_ERROR=report, or gh_set_error_mode(GH_ERROR_REPORT), the
 * bad call is ignored and the program continues. See README.md, "Errors".
 */
#ifndef GOHEAP_H
#define GOHEAP_H

#include <stddef.h>
#include <stdint.h>

#define GOHEAP_VERSION_MAJOR 0
#define GOHEAP_VERSION_MINOR 1
#define GOHEAP_VERSION_PATCH 0
/* One number for #if tests: major*10000 + minor*100 + patch. */
#define GOHEAP_VERSION (GOHEAP_VERSION_MAJOR * 10000 + GOHEAP_VERSION_MINOR * 100 + GOHEAP_VERSION_PATCH)

#if defined(__GNUC__)
#define GH_API __attribute__((visibility("default")))
#else
#define GH_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- The malloc family (glibc-compatible semantics) ---------------------- */
GH_API void *gh_malloc(size_t size);
GH_API void gh_free(void *p);
GH_API void *gh_calloc(size_t n, size_t size);
GH_API void *gh_realloc(void *p, size_t size);
GH_API void *gh_reallocarray(void *p, size_t n, size_t size);
GH_API int gh_posix_memalign(void **out, size_t alignment, size_t size);
GH_API void *gh_aligned_alloc(size_t alignment, size_t size);
GH_API void *gh_memalign(size_t alignment, size_t size);
GH_API void *gh_valloc(size_t size);
GH_API void *gh_pvalloc(size_t size);
GH_API size_t gh_malloc_usable_size(void *p);
GH_API void gh_free_sized(void *p, size_t size);
GH_API void gh_free_aligned_sized(void *p, size_t alignment, size_t size);
/* Returns every free page to the OS (and sweeps pending frees first).
 * Returns 1 if some memory was released, 0 otherwise (malloc_trim's contract). */
GH_API int gh_malloc_trim(size_t pad);
/* Same as gh_malloc_trim(0), without the return value (Go: debug.FreeOSMemory). */
GH_API void gh_free_os_memory(void);

/* ---- Errors --------------------------------------------------------------- */
typedef enum gh_error_mode {
  GH_ERROR_ABORT = 0,  /* report on stderr, then abort() (default) */
  GH_ERROR_REPORT = 1, /* report on stderr, ignore the bad call, continue */
} gh_error_mode;
/* Returns the previous mode. */
GH_API gh_error_mode gh_set_error_mode(gh_error_mode mode);
/* Number of bad calls reported so far (useful in report mode). */
GH_API uint64_t gh_error_count(void);

/* ---- Statistics ----------------------------------------------------------- */
#define GH_STATS_VERSION 1
#define GH_STATS_NPAUSE 256
typedef struct gh_stats {
  uint32_t size;            /* set by the caller: sizeof(gh_stats) */
  uint32_t version;         /* filled in: GH_STATS_VERSION */
  uint64_t heap_alloc;      /* bytes in allocated objects (freed-but-unswept count as allocated) */
  uint64_t heap_objects;    /* number of allocated objects, same rule */
  uint64_t heap_inuse;      /* bytes in spans that hold objects */
  uint64_t heap_idle;       /* bytes in free pages, released or not */
  uint64_t heap_released;   /* bytes of free pages returned to the OS */
  uint64_t heap_sys;        /* bytes of heap address space committed (inuse + idle) */
  uint64_t metadata_sys;    /* bytes mapped for goheap's own metadata */
  uint64_t mallocs;         /* cumulative objects allocated */
  uint64_t frees;           /* cumulative objects freed */
  uint64_t large_allocs;    /* cumulative objects > 32 KiB allocated */
  uint64_t num_arenas;      /* 64 MiB arenas reserved */
  uint64_t num_threads;     /* threads with a live mcache */
  uint64_t heap_live;       /* Go's heapLive: live bytes, counting cached spans' free slots as live */
  /* Collector (zero while no collection has run). */
  uint64_t num_gc;
  uint64_t next_gc;
  uint64_t pause_total_ns;
  uint64_t pause_ns[GH_STATS_NPAUSE]; /* circular: the latest is pause_ns[(num_gc+255)%256] */
} gh_stats;
/* Fills *out. Set out->size = sizeof(gh_stats) first; fields beyond the
 * size the caller knows are not written. Cheap: objects freed but not yet
 * swept still count as allocated (as in Go); gh_malloc_trim settles them. */
GH_API void gh_read_stats(gh_stats *out);
/* Writes a one-screen human-readable heap summary to the file descriptor.
 * It first sweeps the spans that frees have queued, so its counts are exact
 * for every thread's frees except those to spans other threads hold cached. */
GH_API void gh_print_stats(int fd);

#ifdef __cplusplus
}
#endif
#endif /* GOHEAP_H */
