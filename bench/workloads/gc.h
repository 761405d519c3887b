/*
 * gc.h -- the one shim the collected-memory (gc-*) workloads are written
 * against, so each algorithm exists once in C and runs on either collector:
 *
 *   cc -O2 -DUSE_GOHEAP -Iinclude gc-x.c build/libgoheap.so -pthread   (goheap)
 *   cc -O2 -DUSE_BDWGC gc-x.c -lgc -pthread                           (bdwgc)
 *
 * (bench/run.py does that into build/bench/gc-x-goheap and gc-x-bdwgc; the
 * Go versions of the same algorithms are in bench/go/.)
 *
 *   GC_ALLOC(n)            zeroed, may hold pointers (scanned)
 *   GC_ALLOC_NOSCAN(n)     zeroed, holds no pointers
 *   GC_COLLECT()           a full collection now
 *   GC_FINALIZER(o, f, a)  run f(o, a) once after o becomes unreachable
 *   GC_RUN_FINALIZERS()    run finalizers that are ready (bdwgc runs them in
 *                          the allocating thread: this makes sure they ran;
 *                          goheap runs them on its finalizer thread: no-op)
 *   GC_FINALIZERS_DONE()   finalizers that have returned, per the collector
 *                          (goheap: stats.finalizers_run; bdwgc: -1, unknown)
 *   gc_init()              first thing in main (bdwgc: GC_INIT)
 *   gc_thread_create(...)  pthread_create (bdwgc: redirected to
 *                          GC_pthread_create by GC_THREADS, so the thread's
 *                          stack is a root; goheap registers a thread on its
 *                          first allocation). Include gc.h before bench.h:
 *                          then bench.h's run_workers gets the redirection too.
 *   gc_pause_poll()        note the pauses of collections since the last poll
 *                          (call it every so often: goheap keeps only the last
 *                          256 pauses)
 *   gc_collections()       collections so far
 *   gc_pause_report()      print "pause: n=<collections> max_ms=... p99_ms=...
 *                          total_ms=..." on stdout (bench/run.py parses it; not
 *                          part of the compared result)
 *
 * What a "pause" is, per collector:
 *   goheap: gh_stats.pause_ns, its stop-the-world time per collection
 *           (as Go's MemStats.PauseNs);
 *   bdwgc:  from GC_EVENT_PRE_STOP_WORLD to GC_EVENT_POST_START_WORLD, i.e.
 *           the time every mutator thread was stopped (bdwgc marks with the
 *           world stopped, so that is the whole mark phase). The collecting
 *           thread itself is also held until GC_EVENT_END (the reclaim set-up
 *           after the world restarts); that longer figure is in
 *           "collection_max_ms" on the same line.
 */
#ifndef BENCH_GC_H
#define BENCH_GC_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(USE_GOHEAP)
#include <pthread.h>

#include "goheap.h"
#define GC_IMPL "goheap"
#define GC_ALLOC(n) gc_checked(gh_alloc(n), (n))
#define GC_ALLOC_NOSCAN(n) gc_checked(gh_alloc_noscan(n), (n))
#define GC_COLLECT() gh_collect()
#define GC_FINALIZER(o, f, a) gh_set_finalizer((o), (f), (a))
#define GC_RUN_FINALIZERS() ((void)0)
static inline long GC_FINALIZERS_DONE(void) {
  gh_stats st;
  st.size = sizeof st;
  gh_read_stats(&st);
  return (long)st.finalizers_run;
}
static inline void gc_init(void) {}
#define gc_thread_create pthread_create

#elif defined(USE_BDWGC)
#define GC_THREADS
#include <gc/gc.h> /* with GC_THREADS: pthread_create is GC_pthread_create */
#include <pthread.h>
#define GC_IMPL "bdwgc"
#define GC_ALLOC(n) gc_checked(GC_MALLOC(n), (n))
#define GC_ALLOC_NOSCAN(n) gc_checked(gc_zeroed_atomic(n), (n))
#define GC_COLLECT() GC_gcollect()
#define GC_FINALIZER(o, f, a) GC_REGISTER_FINALIZER((o), (f), (a), NULL, NULL)
#define GC_RUN_FINALIZERS() ((void)GC_invoke_finalizers())
#define GC_FINALIZERS_DONE() (-1L)
#define gc_thread_create pthread_create
static void gc_pause_event(GC_EventType e);
static inline void gc_init(void) {
  GC_INIT();
  GC_set_on_collection_event(gc_pause_event);
}
/* GC_MALLOC_ATOMIC does not clear the object; the shim's contract (and
 * goheap's gh_alloc_noscan, and Go) gives zeroed memory. */
#include <string.h>
static inline void *gc_zeroed_atomic(size_t n) {
  void *p = GC_MALLOC_ATOMIC(n);
  if (p) memset(p, 0, n);
  return p;
}

#else
#error "build with -DUSE_GOHEAP or -DUSE_BDWGC"
#endif

static inline void *gc_checked(void *p, size_t n) {
  if (!p && n) {
    fprintf(stderr, "FAILED: %s allocation of %zu bytes returned NULL\n", GC_IMPL, n);
    exit(4);
  }
  return p;
}

/* ------------------------------------------------------------ pauses */
static uint64_t *gc_pauses;      /* every pause seen, ns */
static size_t gc_npauses, gc_cap_pauses;
static uint64_t gc_lost_pauses;  /* goheap: pauses that left the ring unseen */

static inline void gc_note_pause(uint64_t ns) {
  if (gc_npauses == gc_cap_pauses) {
    gc_cap_pauses = gc_cap_pauses ? 2 * gc_cap_pauses : 1024;
    gc_pauses = realloc(gc_pauses, gc_cap_pauses * sizeof *gc_pauses);
    if (!gc_pauses) {
      fprintf(stderr, "FAILED: out of memory for pause records\n");
      exit(4);
    }
  }
  gc_pauses[gc_npauses++] = ns;
}

static inline uint64_t gc_now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

#if defined(USE_GOHEAP)
static uint64_t gc_seen; /* collections whose pause has been noted */
static inline void gc_pause_poll(void) {
  gh_stats st;
  st.size = sizeof st;
  gh_read_stats(&st);
  if (st.num_gc - gc_seen > GH_STATS_NPAUSE) {
    gc_lost_pauses += st.num_gc - gc_seen - GH_STATS_NPAUSE;
    gc_seen = st.num_gc - GH_STATS_NPAUSE;
  }
  for (; gc_seen < st.num_gc; gc_seen++) gc_note_pause(st.pause_ns[gc_seen % GH_STATS_NPAUSE]);
}
static inline double gc_collection_max_ms(void) { return -1; }
static inline long gc_collections(void) {
  gh_stats st;
  st.size = sizeof st;
  gh_read_stats(&st);
  return (long)st.num_gc;
}
#else
/* The callback runs with the allocation lock held, one collection at a time. */
static uint64_t gc_t_stop, gc_t_start, gc_coll_max;
static void gc_pause_event(GC_EventType e) {
  switch (e) {
  case GC_EVENT_START: gc_t_start = gc_now_ns(); break;
  case GC_EVENT_PRE_STOP_WORLD: gc_t_stop = gc_now_ns(); break;
  case GC_EVENT_POST_START_WORLD:
    if (gc_t_stop) gc_note_pause(gc_now_ns() - gc_t_stop);
    gc_t_stop = 0;
    break;
  case GC_EVENT_END:
    if (gc_t_start && gc_now_ns() - gc_t_start > gc_coll_max) gc_coll_max = gc_now_ns() - gc_t_start;
    gc_t_start = 0;
    break;
  default: break;
  }
}
static inline void gc_pause_poll(void) {}
static inline double gc_collection_max_ms(void) { return gc_coll_max / 1e6; }
static inline long gc_collections(void) { return (long)GC_get_gc_no(); }
#endif

static int gc_cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* p99: the smallest pause that at least 99% of the pauses do not exceed. */
static inline void gc_pause_report(void) {
  uint64_t total = 0, mx = 0, p99 = 0;
  size_t i, n;
  gc_pause_poll();
  n = gc_npauses;
  if (n) {
    qsort(gc_pauses, n, sizeof *gc_pauses, gc_cmp_u64);
    for (i = 0; i < n; i++) total += gc_pauses[i];
    mx = gc_pauses[n - 1];
    p99 = gc_pauses[(size_t)((double)n * 0.99 + 0.999999) - 1];
  }
  printf("pause: n=%zu max_ms=%.3f p99_ms=%.3f total_ms=%.1f lost=%llu", n, mx / 1e6, p99 / 1e6,
         total / 1e6, (unsigned long long)gc_lost_pauses);
  if (gc_collection_max_ms() >= 0) printf(" collection_max_ms=%.3f", gc_collection_max_ms());
  printf("\n");
}

#endif
