/*
 * mbarrier.c -- the concurrent mark's write barrier: the kernel's record of
 * written pages, or in manual mode the program's own (gh_write_barrier).
 * (Go: mbarrier.go, mwbbuf.go; bdwgc: os_dep.c's VDB, MANUAL_VDB.)
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
 * manual (bdwgc's MANUAL_VDB): the same concurrent mark, but the program
 * records its writes itself, with gh_write_barrier(slot) after every store of
 * a pointer into heap memory (collected or malloc'd; not needed for globals,
 * stacks and registers, which termination rescans whole). The record is one
 * byte per heap page in the page's arena (gh_heaparena.xdirty): the barrier
 * stores 1 there (after the program's store: a collector that takes the byte
 * with an exchange and then rescans sees the pointer), "protecting" a range
 * clears its bytes, and "written" lists the runs of set bytes, clearing them
 * first when asked to re-protect. No kernel support, no faults; a store the
 * program does not record can lose a live object, as in bdwgc.
 *
 * Why taking bytes while the program runs needs membarrier(2): the barrier
 * skips the byte store when the byte is already 1 (a store per pointer write
 * would bounce the byte's cache line between threads), and on x86 that load
 * may complete before the program's own pointer store leaves the store
 * buffer. A precleaning pass that cleared the byte in between and rescanned
 * would miss the pointer, and the page would stay clean. So a pass clears a
 * batch of bytes, then runs membarrier (every thread's earlier stores become
 * visible), then rescans. Without membarrier, precleaning only reads the
 * bytes and termination rescans every page written since the start.
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
  bool on;                    /* concurrent or manual mode: ranges are recorded (heap lock to turn off) */
  bool manual;                /* manual mode: gh_write_barrier's bytes, not the kernel (set at init) */
  bool fence;                 /* manual mode: membarrier(2) works, so precleaning may take bytes */
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

bool gh_barrier_manual(void) { return gh_atomic_load_relaxed(&wb.manual); }

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
  if (gh_option_get(GH_OPT_GC_MODE) == GH_GC_MODE_MANUAL) {
    wb.on = wb.manual = true;
    wb.fence = gh_os_membarrier_init() == 0;
    return;
  }
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
  bool ok = wb.manual || gh_os_wp_register(lo, hi) == 0;
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

/* ---- the program's record in manual mode ------------------------------------------- */

/* The dirty byte of the page holding p, or NULL outside the heap. */
static uint8_t *dirty_byte(uintptr_t p) {
  gh_heaparena *a = gh_arena_of(p);
  return a ? &a->xdirty[(p >> GH_PAGE_SHIFT) & (GH_PAGES_PER_ARENA - 1)] : NULL;
}

/* Records a write to the page holding p (manual mode). */
static void record(uintptr_t p) {
  uint8_t *d = dirty_byte(p);
  if (d && !gh_atomic_load_relaxed(d)) gh_atomic_store_release(d, 1);
}

void gh_write_barrier(const void *slot) {
  if (gh_atomic_load_relaxed(&wb.manual)) record((uintptr_t)slot);
}

void gh_write_barrier_range(const void *p, size_t n) {
  if (!gh_atomic_load_relaxed(&wb.manual) || n == 0) return;
  uintptr_t lo = (uintptr_t)p & ~(uintptr_t)(GH_PAGE_SIZE - 1), hi = (uintptr_t)p + n;
  for (uintptr_t q = lo; q < hi; q += GH_PAGE_SIZE) record(q);
}

/* After taking dirty bytes while the program runs: every thread's earlier
 * stores are visible (see the top comment). */
static void fence(void) {
  if (gh_os_membarrier() != 0) gh_throw("membarrier failed after it was registered");
}

/* Manual mode's "protect": forget the writes recorded in [lo, hi). */
static void clear_dirty(uintptr_t lo, uintptr_t hi) {
  for (uintptr_t p = lo; p < hi; p += GH_PAGE_SIZE) {
    uint8_t *d = dirty_byte(p);
    if (d && gh_atomic_load_relaxed(d)) gh_atomic_store_relaxed(d, 0);
  }
}

#define DIRTY_BATCH 4096 /* pages taken per membarrier: 32 MiB of heap */

/* Manual mode's "written": calls fn for the runs of dirty pages of [lo, hi)
 * (lo page aligned, at most DIRTY_BATCH pages), taking them first when
 * `take` (see the top comment for the membarrier). */
static void dirty_batch(uintptr_t lo, uintptr_t hi, bool take, void (*fn)(uintptr_t lo, uintptr_t hi, void *ctx), void *ctx) {
  uint64_t seen[DIRTY_BATCH / 64] = {0};
  uint32_t n = (uint32_t)((hi - lo + GH_PAGE_SIZE - 1) >> GH_PAGE_SHIFT), any = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint8_t *d = dirty_byte(lo + ((uintptr_t)i << GH_PAGE_SHIFT));
    bool dirty = d && gh_atomic_load_relaxed(d) && (!take || gh_atomic_exchange(d, 0));
    if (dirty) seen[i / 64] |= 1ull << (i % 64), any = 1;
  }
  if (any && take) fence();
  for (uint32_t i = 0, run = 0; i <= n; i++) {
    bool dirty = i < n && (seen[i / 64] >> (i % 64) & 1);
    if (dirty && !run) run = i + 1;
    if (!dirty && run) {
      uintptr_t end = lo + ((uintptr_t)i << GH_PAGE_SHIFT);
      fn(lo + ((uintptr_t)(run - 1) << GH_PAGE_SHIFT), end < hi ? end : hi, ctx);
      run = 0;
    }
  }
}

static void each_dirty(uintptr_t lo, uintptr_t hi, bool take, void (*fn)(uintptr_t lo, uintptr_t hi, void *ctx), void *ctx) {
  take &= wb.fence;
  for (uintptr_t b = lo; b < hi; b += (uintptr_t)DIRTY_BATCH << GH_PAGE_SHIFT) {
    uintptr_t e = b + ((uintptr_t)DIRTY_BATCH << GH_PAGE_SHIFT);
    dirty_batch(b, e < hi ? e : hi, take, fn, ctx);
  }
}

/* Protects [lo, hi): from now on its writes are recorded. `marking`: while
 * a mark runs beside the program, and the caller rescans the range next (in
 * manual mode that needs the membarrier of the top comment; without it the
 * range counts as unprotected). */
static int protect(uintptr_t lo, uintptr_t hi, bool marking) {
  if (!wb.manual) return gh_os_wp_protect(lo, hi);
  clear_dirty(lo, hi);
  if (!marking) return 0;
  if (!wb.fence) return -1;
  fence();
  return 0;
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
  for (uint32_t i = 0; i < wb.nsnap; i++) ok &= protect(wb.snap[i].lo, wb.snap[i].hi, false) == 0;
  return ok;
}

/* World stopped, at the start of the mark: protects what was committed since
 * gh_barrier_protect (ranges only grow at their end, or are added), and
 * empties the fresh list. false if the kernel refused. */
bool gh_barrier_start(void) {
  bool ok = true;
  for (uint32_t i = 0; i < wb.nranges; i++) {
    uintptr_t lo = i < wb.nsnap ? wb.snap[i].hi : wb.ranges[i].lo;
    if (lo < wb.ranges[i].hi) ok &= protect(lo, wb.ranges[i].hi, false) == 0;
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
  for (uint32_t i = 0; i < wb.nsnap; i++) {
    if (wb.manual) each_dirty(wb.snap[i].lo, wb.snap[i].hi, reprotect, fn, ctx);
    else if (gh_os_wp_written(wb.snap[i].lo, wb.snap[i].hi, reprotect, fn, ctx) != 0) fn(wb.snap[i].lo, wb.snap[i].hi, ctx);
  }
}

/* Takes the fresh ranges recorded before this call and calls fn for each;
 * with `reprotect`, protects each first (one the kernel would not protect is
 * recorded again, for termination). Returns false if a range was lost (out
 * of memory): then every object must be rescanned. */
bool gh_barrier_take_fresh(bool reprotect, void (*fn)(uintptr_t lo, uintptr_t hi, void *ctx), void *ctx) {
  gh_mutex_lock(&gh_heap.lock);
  uint32_t end = wb.nfresh;
  gh_mutex_unlock(&gh_heap.lock);
  for (;;) {
    gh_mutex_lock(&gh_heap.lock);
    bool any = wb.fresh_done < end;
    wp_range r = any ? wb.fresh[wb.fresh_done++] : (wp_range){0, 0};
    gh_mutex_unlock(&gh_heap.lock);
    if (!any) break;
    bool unprotected = reprotect && protect(r.lo, r.hi, true) != 0;
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
  if (wb.manual) return;
  for (uint32_t i = 0; i < wb.nsnap; i++) gh_os_wp_unprotect(wb.snap[i].lo, wb.snap[i].hi);
}

/* A fork child: the parent's descriptors and registrations are not its own. */
void gh_barrier_fork_child(void) {
  if (wb.manual) wb.fence = gh_os_membarrier_init() == 0; /* the dirty bytes are memory: the child has them */
  if (!wb.on || wb.manual) return;
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
