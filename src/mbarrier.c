/*
 * mbarrier.c -- the concurrent mark's write barrier: the kernel's record of
 * written pages. (Go: mbarrier.go, mwbbuf.go; bdwgc: os_dep.c's VDB.)
 *
 * Go marks while the program runs because its compiler puts a write barrier
 * on every pointer store. C has none, so goheap asks the kernel (os.h's write
 * tracking: userfaultfd asynchronous write protection and PAGEMAP_SCAN):
 * every committed range of the heap is registered when it is committed; a
 * concurrent mark protects all of them just before it starts (from the
 * start on, new objects are black and never scanned, so the stores into
 * them must be recorded: protecting after the start lost objects in
 * tests/gc/test_concurrent.c), and mark termination rescans the marked
 * objects (and, for malloc'd memory, the allocated ones) of the pages
 * written since (Boehm-Demers-Shenker's mostly parallel collection). Precleaning passes during the mark take the written
 * pages and protect them again in one call, so termination finds few.
 *
 * Pages the protection does not cover: spans handed out during the mark
 * (their pages may have been committed after the protection, and protecting
 * pages the allocator is about to fill would only add faults) are recorded as
 * fresh ranges, under the heap lock; a precleaning pass protects and then
 * scans them, termination scans what is left. Objects allocated during the
 * mark are allocated black (Go: gcmarknewobject), so nothing but their
 * contents needs the barrier.
 *
 * Mode (GOHEAP_GC_MODE): stw marks with the world stopped, as before;
 * concurrent needs the kernel's support (Linux 6.7+, userfaultfd allowed) and
 * falls back to stw with a warning when it is missing. Decided at start-up;
 * a fork child opens its own descriptors and registers the heap again.
 *
 * Lock: the ranges and the fresh list are protected by the heap lock; the
 * collector reads its snapshot of the ranges with the gc lock held.
 */
#include "internal.h"

#define MAX_RANGES 1024

typedef struct wp_range {
  uintptr_t lo, hi;
} wp_range;

static GH_DATA struct {
  bool on;                    /* concurrent mode: the heap is registered (heap lock to turn off) */
  wp_range ranges[MAX_RANGES]; /* registered committed ranges, merged when adjacent (heap lock) */
  uint32_t nranges;
  wp_range snap[MAX_RANGES];  /* the ranges protected by this mark (gc lock) */
  uint32_t nsnap;
  wp_range *fresh;            /* spans' pages handed out during the mark (heap lock) */
  uint32_t nfresh, fresh_cap, fresh_done;
  bool fresh_lost;            /* a fresh range could not be recorded: rescan everything */
} wb;

GH_DATA uint32_t gh_gc_marking; /* 1 between a concurrent mark's start and its termination */

bool gh_barrier_on(void) { return gh_atomic_load_relaxed(&wb.on); }

static void warn(const char *what) {
  char msg[200];
  gh_buf b = {msg, msg + sizeof msg - 1};
  gh_buf_str(&b, "goheap: GOHEAP_GC_MODE=concurrent: ");
  gh_buf_str(&b, what);
  gh_buf_str(&b, "; collecting with the world stopped (stw)\n");
  gh_os_write_stderr(msg, (size_t)(b.p - msg));
}

/* At initialisation, before the heap has memory. */
void gh_barrier_init(void) {
  if (gh_option_get(GH_OPT_GC_MODE) != GH_GC_MODE_CONCURRENT) return;
  if (gh_os_wp_init() != 0) {
    warn("the kernel has no asynchronous write protection for this process (Linux 6.7+ userfaultfd)");
    gh_option_set(GH_OPT_GC_MODE, GH_GC_MODE_STW);
    return;
  }
  wb.on = true;
}

/* Heap lock held: [lo, hi) was just committed. Registered, or the mode falls
 * back to stw for the next cycles (pages committed during a mark are only
 * reached through fresh spans, so the current one stays correct). */
void gh_barrier_committed_locked(uintptr_t lo, uintptr_t hi) {
  gh_assert_held(&gh_heap.lock);
  if (!wb.on) return;
  bool ok = gh_os_wp_register(lo, hi) == 0;
  if (ok && wb.nranges && wb.ranges[wb.nranges - 1].hi == lo) {
    wb.ranges[wb.nranges - 1].hi = hi;
    return;
  }
  if (ok && wb.nranges < MAX_RANGES) {
    wb.ranges[wb.nranges++] = (wp_range){lo, hi};
    return;
  }
  warn(ok ? "too many separate heap ranges" : "registering heap memory failed");
  gh_option_set(GH_OPT_GC_MODE, GH_GC_MODE_STW);
  gh_atomic_store_relaxed(&wb.on, false);
}

/* Heap lock held, during a mark: the pages of a span just handed out. */
void gh_barrier_fresh_locked(uintptr_t base, uintptr_t npages) {
  gh_assert_held(&gh_heap.lock);
  uintptr_t end = base + (npages << GH_PAGE_SHIFT);
  if (wb.nfresh > wb.fresh_done && wb.fresh[wb.nfresh - 1].hi == base) {
    wb.fresh[wb.nfresh - 1].hi = end;
    return;
  }
  if (wb.nfresh == wb.fresh_cap &&
      !gh_metadata_grow((void **)&wb.fresh, &wb.fresh_cap, wb.nfresh, sizeof *wb.fresh, 256)) {
    wb.fresh_lost = true;
    return;
  }
  wb.fresh[wb.nfresh++] = (wp_range){base, end};
}

/* ---- the collector's side (gc lock held) ----------------------------------------- */

/* World running, gc lock held, before a mark starts: protects every range.
 * It must come before the start: from the start on, new objects are black
 * (never scanned), so what the program stores in them must already be
 * recorded. false if the kernel refused (then every object must be rescanned
 * at termination). */
bool gh_barrier_protect(void) {
  gh_mutex_lock(&gh_heap.lock);
  wb.nsnap = wb.nranges;
  __builtin_memcpy(wb.snap, wb.ranges, wb.nsnap * sizeof *wb.snap);
  gh_mutex_unlock(&gh_heap.lock);
  bool ok = true;
  for (uint32_t i = 0; i < wb.nsnap; i++) ok &= gh_os_wp_protect(wb.snap[i].lo, wb.snap[i].hi) == 0;
  return ok;
}

/* World stopped, at the start of the mark: protects what was committed since
 * gh_barrier_protect (ranges only grow at their end, or are added), and
 * empties the fresh list. false if the kernel refused. */
bool gh_barrier_start(void) {
  bool ok = true;
  for (uint32_t i = 0; i < wb.nranges; i++) {
    uintptr_t lo = i < wb.nsnap ? wb.snap[i].hi : wb.ranges[i].lo;
    if (lo < wb.ranges[i].hi) ok &= gh_os_wp_protect(lo, wb.ranges[i].hi) == 0;
  }
  wb.nsnap = wb.nranges;
  __builtin_memcpy(wb.snap, wb.ranges, wb.nsnap * sizeof *wb.snap);
  wb.nfresh = wb.fresh_done = 0;
  wb.fresh_lost = false;
  return ok;
}

/* Calls fn for every run of pages written since the protection (or the last
 * call with reprotect). A range the kernel could not report is passed whole. */
void gh_barrier_written(bool reprotect, void (*fn)(uintptr_t lo, uintptr_t hi, void *ctx), void *ctx) {
  for (uint32_t i = 0; i < wb.nsnap; i++)
    if (gh_os_wp_written(wb.snap[i].lo, wb.snap[i].hi, reprotect, fn, ctx) != 0) fn(wb.snap[i].lo, wb.snap[i].hi, ctx);
}

/* Takes the fresh ranges recorded before this call and calls fn for each;
 * with `protect`, protects each first (one the kernel would not protect is
 * recorded again, for termination). Returns false if a range was lost (out
 * of memory): then every object must be rescanned. */
bool gh_barrier_take_fresh(bool protect, void (*fn)(uintptr_t lo, uintptr_t hi, void *ctx), void *ctx) {
  gh_mutex_lock(&gh_heap.lock);
  uint32_t end = wb.nfresh;
  gh_mutex_unlock(&gh_heap.lock);
  for (;;) {
    gh_mutex_lock(&gh_heap.lock);
    bool any = wb.fresh_done < end;
    wp_range r = any ? wb.fresh[wb.fresh_done++] : (wp_range){0, 0};
    gh_mutex_unlock(&gh_heap.lock);
    if (!any) break;
    bool unprotected = protect && gh_os_wp_protect(r.lo, r.hi) != 0;
    fn(r.lo, r.hi, ctx);
    if (!unprotected) continue;
    gh_mutex_lock(&gh_heap.lock);
    gh_barrier_fresh_locked(r.lo, (r.hi - r.lo) >> GH_PAGE_SHIFT);
    gh_mutex_unlock(&gh_heap.lock);
  }
  gh_mutex_lock(&gh_heap.lock);
  bool lost = wb.fresh_lost;
  gh_mutex_unlock(&gh_heap.lock);
  return !lost;
}

/* World running, after termination: writes no longer need to fault. */
void gh_barrier_unprotect(void) {
  for (uint32_t i = 0; i < wb.nsnap; i++) gh_os_wp_unprotect(wb.snap[i].lo, wb.snap[i].hi);
}

/* A fork child: the parent's descriptors and registrations are not its own. */
void gh_barrier_fork_child(void) {
  if (!wb.on) return;
  gh_os_wp_close();
  wb.on = false;
  if (gh_os_wp_init() != 0) {
    gh_option_set(GH_OPT_GC_MODE, GH_GC_MODE_STW);
    return;
  }
  wb.on = true;
  uint32_t n = wb.nranges;
  wb.nranges = 0;
  gh_mutex_lock(&gh_heap.lock);
  for (uint32_t i = 0; i < n && wb.on; i++) gh_barrier_committed_locked(wb.ranges[i].lo, wb.ranges[i].hi);
  gh_mutex_unlock(&gh_heap.lock);
}
