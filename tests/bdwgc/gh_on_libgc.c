/*
 * tests/bdwgc/gh_on_libgc.c -- goheap's API (include/goheap.h) implemented
 * on the real bdwgc (Debian's libgc.so.1), for bdwgc.sh's sanity mode
 * GH_BDWGC_BACKEND=libgc: the bdwgc tests are then built exactly as for
 * goheap (through tests/bdwgc/gc.h and gc_shim.c) but run on bdwgc, which
 * checks the shim and the harness, not goheap.  Compiled against the
 * fetched source tree's include/gc.h, linked with -l:libgc.so.1.
 *
 * goheap's behaviours imitated: threads are registered on their first
 * allocation and unregistered when they exit; malloc'd blocks are
 * uncollectable and scanned; finalizers run on a finalizer thread.
 */
#define GC_THREADS 1
#define GC_NO_THREAD_REDIRECTS 1
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include <gc.h>      /* bdwgc's own (<>: not tests/bdwgc/gc.h next to this file) */
#include <gc_mark.h> /* GC_get_kind_and_size */
#include "goheap.h"

static __thread int registered;
static pthread_key_t exit_key;
static pthread_t main_thread;
static pthread_mutex_t fin_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fin_cv = PTHREAD_COND_INITIALIZER;
static int fin_pending;
static uint64_t fin_run;
static int gc_percent = 100;

static void on_thread_exit(void *v) {
  (void)v;
  if (registered && !pthread_equal(pthread_self(), main_thread)) {
    registered = 0;
    GC_unregister_my_thread();
  }
}

static void ensure_registered(void) {
  struct GC_stack_base sb;
  if (registered) return;
  if (GC_get_stack_base(&sb) != GC_SUCCESS) abort();
  (void)GC_register_my_thread(&sb); /* GC_DUPLICATE is fine */
  registered = 1;
  pthread_setspecific(exit_key, (void *)1);
}

static void notify(void) {
  pthread_mutex_lock(&fin_mu);
  fin_pending = 1;
  pthread_cond_signal(&fin_cv);
  pthread_mutex_unlock(&fin_mu);
}

static void *finalizer_thread(void *arg) {
  (void)arg;
  ensure_registered();
  for (;;) {
    int n;
    pthread_mutex_lock(&fin_mu);
    while (!fin_pending) pthread_cond_wait(&fin_cv, &fin_mu);
    fin_pending = 0;
    pthread_mutex_unlock(&fin_mu);
    n = GC_invoke_finalizers();
    __atomic_fetch_add(&fin_run, (uint64_t)n, __ATOMIC_RELAXED);
  }
  return NULL;
}

__attribute__((constructor)) static void init(void) {
  pthread_t t;
  main_thread = pthread_self();
  pthread_key_create(&exit_key, on_thread_exit);
  GC_set_handle_fork(1);
  GC_set_finalize_on_demand(1);
  GC_set_finalizer_notifier(notify);
  GC_INIT();
  GC_allow_register_threads();
  registered = 1;
  pthread_create(&t, NULL, finalizer_thread, NULL);
  pthread_detach(t);
}

void *gh_alloc(size_t n) {
  ensure_registered();
  return GC_malloc(n);
}
void *gh_alloc_noscan(size_t n) {
  void *p;
  ensure_registered();
  p = GC_malloc_atomic(n);
  if (p) memset(p, 0, n);
  return p;
}
void *gh_malloc(size_t n) {
  ensure_registered();
  return GC_malloc_uncollectable(n);
}
void *gh_calloc(size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) {
    errno = ENOMEM;
    return NULL;
  }
  return gh_malloc(n * size);
}
void gh_free(void *p) { GC_free(p); }
void *gh_realloc(void *p, size_t n) {
  ensure_registered();
  return GC_realloc(p, n);
}
size_t gh_malloc_usable_size(void *p) { return p ? GC_size(p) : 0; }
void *gh_base(void *p) { return GC_base(p); }
int gh_is_collected(void *p) {
  int k;
  if (p == NULL || GC_base(p) != p) return 0;
  k = GC_get_kind_and_size(p, NULL);
  return k == 0 || k == 1; /* bdwgc kinds PTRFREE, NORMAL (not UNCOLLECTABLE) */
}
void gh_collect(void) {
  ensure_registered();
  GC_gcollect();
  if (GC_should_invoke_finalizers()) notify();
}
void gh_free_os_memory(void) {}
void gh_set_finalizer(void *obj, void (*fn)(void *, void *), void *arg) {
  GC_register_finalizer(obj, fn, arg, NULL, NULL);
}
void gh_add_roots(void *lo, void *hi) { GC_add_roots(lo, hi); }
void gh_remove_roots(void *lo, void *hi) { GC_remove_roots(lo, hi); }
int gh_register_thread(void) {
  ensure_registered();
  return 0;
}
void gh_unregister_thread(void) {
  if (registered && !pthread_equal(pthread_self(), main_thread)) {
    registered = 0;
    GC_unregister_my_thread();
  }
}
int gh_set_gc_percent(int p) {
  int old = gc_percent;
  if (p < 0 && old >= 0) GC_disable();
  if (p >= 0 && old < 0) GC_enable();
  gc_percent = p;
  return old;
}
int64_t gh_set_memory_limit(int64_t b) {
  (void)b;
  return INT64_MAX;
}
void gh_read_stats(gh_stats *st) {
  size_t heap = GC_get_heap_size(), unmapped = GC_get_unmapped_bytes(), fr = GC_get_free_bytes();
  st->version = GH_STATS_VERSION;
  st->heap_sys = heap + unmapped;
  st->heap_released = unmapped;
  st->heap_idle = fr + unmapped;
  st->heap_inuse = heap - fr;
  st->heap_alloc = heap - fr;
  st->num_gc = GC_get_gc_no();
  st->pause_total_ns = (uint64_t)GC_get_full_gc_total_time() * 1000000u;
  st->finalizers_run = __atomic_load_n(&fin_run, __ATOMIC_RELAXED);
  st->gc_percent = gc_percent;
  st->memory_limit = INT64_MAX;
}
