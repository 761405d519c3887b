/*
 * goheap.h -- the public interface of goheap, Go's runtime memory manager in C.
 *
 * Two ways in, one heap:
 *   - manual memory: the malloc family below, also exported under the plain
 *     names (malloc, free, ...) by libgoheap.so so LD_PRELOAD works;
 *   - collected memory: gh_alloc and friends, reclaimed by a garbage collector.
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

/* ---- Collected memory (a conservative mark-sweep collector, paced like Go) --
 * gh_alloc'd objects are reclaimed when no pointer to them is found in a root:
 * the writable data of the program and of every shared library, the stack
 * and registers of every registered thread, ranges added with gh_add_roots,
 * and every malloc'd object (unless GOHEAP_SCAN_MANUAL=0). A pointer anywhere
 * inside an object keeps it alive; one just past its end does not. A thread
 * registers itself when it first allocates (malloc or gh_alloc); a thread that
 * holds pointers to collected objects without ever allocating calls
 * gh_register_thread. `__thread` variables of the main thread are not roots.
 * Collections stop every registered thread with a signal (GOHEAP_STOP_SIGNAL,
 * default SIGRTMIN+7); a thread that blocks it is reported and the cycle is
 * cancelled, never deadlocked on. See README.md, "The collector". */
GH_API void *gh_alloc(size_t size);        /* zeroed; may hold pointers (scanned); NULL+ENOMEM */
GH_API void *gh_alloc_noscan(size_t size); /* zeroed; holds no pointers (marked, never scanned) */
GH_API void gh_collect(void);              /* a full collection now; returns when it is done
                                              (sweeping then goes on lazily) */
/* Registers fn to run once, on the finalizer thread, after obj (the start of a
 * collected object) becomes unreachable; obj and what it references stay
 * alive until fn returns, and obj is freed at a later collection unless fn
 * made it reachable again. fn NULL removes the finalizer. A cycle of objects
 * with finalizers is never finalized (as in Go). A pointer that is not the
 * start of a live collected object is reported like a bad free. After fork(),
 * queued finalizers run in both processes; the one running at the fork runs
 * on in the parent only, and its object stays allocated in the child. */
GH_API void gh_set_finalizer(void *obj, void (*fn)(void *obj, void *arg), void *arg);
/* Waits until every finalizer queued so far (by the collections that have
 * ended: call it after gh_collect) has returned: 0; ETIMEDOUT after
 * timeout_ms (negative: no limit) if one is still running or queued;
 * EDEADLK at once when called from a finalizer, which the queue waits for. */
GH_API int gh_await_finalizers(int64_t timeout_ms);
/* Weak links (bdwgc's disappearing links): the word at `link` (aligned; it
 * usually holds obj's address hidden, e.g. ~(uintptr_t)obj, so as not to keep
 * obj alive) is set to NULL by the collection that finds obj unreachable,
 * with the world stopped, so no thread ever reads a link to an object
 * already found dead. A short link (is_long 0) is cleared even if a
 * finalizer keeps obj alive for one more cycle; a long link only when obj is
 * freed. A link in a collected object that dies, or in freed heap memory, is
 * forgotten; unregister a link before freeing the memory it lies in
 * yourself. A link to anything but a collected object is never cleared.
 * Returns 0, EEXIST (link already registered, of that kind), ENOMEM, or
 * EINVAL (link misaligned). */
GH_API int gh_register_weak_link(void **link, void *obj, int is_long);
GH_API int gh_unregister_weak_link(void **link, int is_long); /* 1 if it was registered */
/* Moves a registration to new_link: 0, ENOENT (link not registered, or
 * already cleared), EEXIST (new_link is), EINVAL. */
GH_API int gh_move_weak_link(void **link, void **new_link, int is_long);
GH_API void gh_add_roots(void *lo, void *hi);    /* scan [lo,hi) as a root; lo <= hi */
GH_API void gh_remove_roots(void *lo, void *hi); /* removes exactly a range added before */
/* A procedure the collector calls in every collection, world stopped, on the
 * collecting thread, once everything reachable from the roots is marked:
 * round 0, 1, 2... as long as the previous round marked something new (what
 * it passed to gh_mark_range, and all that reaches); again, with the next
 * round numbers, after the objects found unreachable with a finalizer are
 * marked (kept for their finalizers), if there were any; then once more
 * with round GH_MARK_DONE when the mark is complete. It may call only
 * gh_mark_range, gh_mark_pointer, gh_is_marked, and gh_base and
 * gh_malloc_usable_size of a marked object: no allocation, no lock another thread may hold. For memory the collector does not scan by itself (a language
 * runtime's stacks in mmap'd memory) and for per-object mark procedures
 * (bdwgc's GC_new_proc). NULL removes it. */
#define GH_MARK_DONE (~0u)
typedef void (*gh_mark_callback)(void *arg, unsigned round);
GH_API void gh_set_mark_callback(gh_mark_callback fn, void *arg);
GH_API void gh_mark_range(void *lo, void *hi); /* in the callback: [lo,hi) scanned now, as a root */
/* In the callback: marks the collected object p points into, as gh_mark_range
 * over a word holding p would; returns the object's start if this call marked
 * it (it was not marked), else NULL, and sets *scanned to 1 if the collector
 * scans that object's contents (it will, after the callback returns), else 0.
 * For tracing objects the collector does not scan (a precise layout) depth
 * first. */
GH_API void *gh_mark_pointer(void *p, int *scanned);
GH_API int gh_is_marked(void *p); /* in the callback: 1 if p points into a marked collected object */
GH_API int gh_register_thread(void);   /* 0, or ENOMEM; registering twice is harmless */
GH_API void gh_unregister_thread(void); /* before the thread exits; it must not hold
                                           the only pointer to a collected object */
GH_API int gh_set_gc_percent(int percent);         /* returns the old value; negative: off */
GH_API int64_t gh_set_memory_limit(int64_t bytes); /* returns the old value; negative: only query */
/* How the collector marks (GOHEAP_GC_MODE, decided at start-up): GH_GC_STW, the
 * whole mark with the world stopped; GH_GC_CONCURRENT, the mark runs beside the
 * program between two short stops, with the kernel tracking written pages
 * (Linux 6.7+; asked for and unavailable, the mode falls back to stw with a
 * warning); GH_GC_MANUAL, the same concurrent mark, with the program reporting
 * its writes through gh_write_barrier (bdwgc's MANUAL_VDB). */
#define GH_GC_STW 0
#define GH_GC_CONCURRENT 1
#define GH_GC_MANUAL 2
GH_API int gh_gc_mode(void);
/* The write barrier of GOHEAP_GC_MODE=manual (bdwgc: GC_end_stubborn_change,
 * GC_ptr_store_and_dirty): after storing a pointer into heap memory (a
 * collected object or a malloc'd block), call gh_write_barrier with the
 * address written, or gh_write_barrier_range with the bytes written (a new
 * object filled in, a memcpy). Stores into globals, stacks and registers need
 * none: the mark's final stop rescans them whole. A store not reported while
 * a mark runs can lose the object it points to. In the other modes both calls
 * return at once (a load and a branch), so a runtime may call them always. */
GH_API void gh_write_barrier(const void *slot);
GH_API void gh_write_barrier_range(const void *p, size_t n);
/* The start of the object p points into (collected or malloc'd), or NULL if p
 * is not inside a live object of goheap's heap (bdwgc: GC_base). Noscan
 * collected objects of 16 bytes or less live in the spans of Go's tiny
 * allocator, where those under 16 bytes share 16-byte blocks: for them this
 * is the block's start, gh_malloc_usable_size is the room left in the block,
 * and gh_free is ignored (the collector frees the block when nothing points
 * into it). */
GH_API void *gh_base(void *p);
/* 1 if p is the start of a collected object, 0 otherwise. */
GH_API int gh_is_collected(void *p);

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
#define GH_STATS_VERSION 2
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
  uint64_t heap_marked;     /* bytes found live by the last collection (manual objects included) */
  uint64_t num_forced_gc;   /* collections started by gh_collect */
  uint64_t last_gc_ns;      /* end of the last collection, ns since the first goheap call */
  int64_t memory_limit;     /* the soft limit in effect (INT64_MAX: none) */
  int64_t gc_percent;       /* GOGC in effect (negative: off) */
  uint64_t finalizers_run;  /* finalizers that have returned */
  uint64_t gc_cpu_ns;       /* CPU time spent by collections (all mark workers) */
} gh_stats;
/* Fills *out. Set out->size = sizeof(gh_stats) first; fields beyond the
 * size the caller knows are not written. Cheap: objects freed but not yet
 * swept still count as allocated (as in Go); gh_malloc_trim settles them. */
GH_API void gh_read_stats(gh_stats *out);
/* The address range of the heap's arenas: every object goheap hands out lies
 * in [*lo, *hi) (NULL, NULL before the first allocation). It only widens,
 * when the heap reserves an arena outside it; neither bound is ever inside
 * an object. */
GH_API void gh_heap_range(void **lo, void **hi);
/* Writes a one-screen human-readable heap summary to the file descriptor.
 * It first sweeps the spans that frees have queued, so its counts are exact
 * for every thread's frees except those to spans other threads hold cached. */
GH_API void gh_print_stats(int fd);

/* ---- Seeing the heap: statistics as JSON, heap profiles, leaks, heap dumps --
 * Each is also available without recompiling, at exit, through an
 * environment variable (or the `goheap run` command): GOHEAP_STATS=json,
 * GOHEAP_PROFILE=FILE, GOHEAP_LEAKCHECK=1, GOHEAP_DUMP=FILE. See README.md,
 * "Seeing the heap". */
/* Writes gh_read_stats's numbers as one JSON object, with Go's runtime/metrics
 * names where the meaning matches, and a table per size class. Sweeps the
 * frees queued so far first, as gh_print_stats does. */
GH_API void gh_print_stats_json(int fd);
/* Sets the heap profile's mean sampling interval in bytes (Go's
 * MemProfileRate; default 2 MiB, GOHEAP_PROFILE_RATE): 1 records every
 * allocation, 0 stops sampling. Returns the old rate; a negative argument
 * only queries it. Threads pick up a new rate at their next sample. */
GH_API int64_t gh_set_profile_rate(int64_t bytes);
/* Writes the sampled heap profile in pprof's protobuf format (profile.proto,
 * as `go tool pprof` reads it): sample types alloc_objects, alloc_space,
 * inuse_objects, inuse_space, scaled to estimate every allocation, and one
 * mapping per loaded file so pprof can symbolize. Returns 0, or -1 with errno. */
GH_API int gh_write_heap_profile(int fd);
/* Marks from the roots with malloc'd objects treated as collectable, and
 * reports on fd (LeakSanitizer-style, grouped by allocation stack, largest
 * first; fd < 0: no report) every malloc'd block nothing reaches. Returns
 * the number of bytes leaked, directly or indirectly. Stacks are known for
 * the allocations that were sampled: all of them with GOHEAP_LEAKCHECK=1. */
GH_API uint64_t gh_check_leaks(int fd);
/* Writes a text dump of the heap (arenas, spans with their state, class and
 * occupancy, the page allocator's free and released runs): the input of
 * `goheap map`. Stops the world while it reads. Returns 0, or -1 with errno. */
GH_API int gh_dump_heap(int fd);

#ifdef __cplusplus
}
#endif
#endif /* GOHEAP_H */
