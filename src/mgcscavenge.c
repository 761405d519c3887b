/*
 * mgcscavenge.c -- returning free pages to the OS: the background scavenger.
 * (Go: mgcscavenge.go: bgscavenge, (*pageAlloc).scavenge; mheap.go:grow's
 * scavenging of as much as the heap grows.)
 *
 * Free pages stay committed ("dirty") up to the retain limit, keep =
 * max(GOHEAP_RETAIN, GOHEAP_RETAIN_PERCENT % of the pages in use); what is
 * above it goes back to the OS, highest addresses first (the page allocator
 * hands out the lowest first, so the highest are the ones least likely to be
 * wanted again).
 *
 * Who releases: a background thread, so that free() never pays for madvise
 * and a block freed and allocated again soon after does not pay a page fault
 * per page for it (Go's bgscavenge does this work off the mutator's path).
 * It works in ticks of 100 ms and releases, at each tick, only what was free
 * during the whole tick: the lowest dirty count seen since the last tick,
 * less keep. Memory that a program frees and takes back within a tick is
 * never released; an idle program is down to keep within two ticks. Between
 * bursts it sleeps on a futex without a timeout; the free that takes the
 * dirty count above keep wakes it (one system call, only then).
 *
 * Departure from Go, measured: Go paces its scavenger at 1% of a CPU toward
 * a goal; paced release of memory that is still churning cost malloc-large
 * (bench/) a page fault per page reused, where a count that stayed high for a
 * tick is memory nobody wanted.
 *
 * The thread is started at a point where the caller holds no lock and is not
 * inside the heap (gh_scavenger_poll: large allocations and frees, the
 * small-allocation slow path), because thread creation itself allocates. Until it
 * runs, and in a fork child until it runs again, the freeing thread releases
 * synchronously what is above keep, with the old hysteresis (up to twice
 * keep for 100 ms). The thread is not registered with the world: it touches
 * no object, only the page allocator under the heap lock, and calls madvise
 * with the pages taken out of the allocator, the lock released.
 *
 * GOHEAP_SCAVENGER=0 keeps the process free of that thread (a program that
 * must stay single-threaded, for unshare(CLONE_NEWUSER) say): the freeing
 * thread then always releases, as before the thread existed.
 *
 * malloc_trim / gh_free_os_memory and the memory limit release synchronously
 * (gh_mheap_scavenge), as Go's debug.FreeOSMemory does.
 */
#include "internal.h"

#define TICK_NS 100000000u /* 100 ms */

static GH_DATA struct {
  uint32_t xseq;       /* futex word: bumped to wake the scavenger */
  uint32_t xup;        /* 1 once its thread was started (0 again in a fork child) */
  uint32_t xwant;      /* 1: a free found pages above keep: start the thread */
  /* heap lock */
  bool sleeping;       /* it waits without a timeout: a free above keep must wake it */
  uint64_t low_pages;  /* the lowest dirty page count since its last tick */
  uint64_t last_sync_ns; /* without the thread: when a free last released pages */
} scav = {.low_pages = UINT64_MAX};

static uint64_t dirty_pages_locked(void) {
  gh_assert_held(&gh_heap.lock);
  return gh_heap.pages_free - gh_heap.pages_released;
}

/* The free pages to keep committed (the retain limit), in pages. */
static uint64_t keep_pages_locked(void) {
  gh_assert_held(&gh_heap.lock);
  uint64_t keep = (gh_heap.pages_inuse << GH_PAGE_SHIFT) / 100 * (uint64_t)gh_option_get(GH_OPT_RETAIN_PERCENT);
  if (keep < (uint64_t)gh_option_get(GH_OPT_RETAIN)) keep = (uint64_t)gh_option_get(GH_OPT_RETAIN);
  return keep >> GH_PAGE_SHIFT;
}

/* Free pages were taken (heap lock held): the tick's low-water mark. */
void gh_scavenge_taken_locked(void) {
  gh_assert_held(&gh_heap.lock);
  uint64_t dirty = dirty_pages_locked();
  if (dirty < scav.low_pages) scav.low_pages = dirty;
}

/* Pages went free (heap lock held). Returns the bytes the caller must release
 * now, after unlocking (no thread yet), or 0; *wake: wake the scavenger. */
uint64_t gh_scavenge_freed_locked(bool *wake) {
  gh_assert_held(&gh_heap.lock);
  uint64_t dirty = dirty_pages_locked(), keep = keep_pages_locked();
  *wake = false;
  if (dirty <= keep) return 0;
  if (gh_atomic_load_acquire(&scav.xup)) {
    if (scav.sleeping) {
      scav.sleeping = false;
      scav.low_pages = dirty; /* a new tick starts now */
      gh_atomic_add_seq(&scav.xseq, 1);
      *wake = true;
    }
    return 0;
  }
  if (gh_option_get(GH_OPT_SCAVENGER)) gh_atomic_store_relaxed(&scav.xwant, 1);
  uint64_t now = gh_os_nanotime();
  if (dirty <= 2 * keep && now - scav.last_sync_ns < TICK_NS) return 0;
  scav.last_sync_ns = now;
  return (dirty - keep) << GH_PAGE_SHIFT;
}

void gh_scavenge_wake(void) { gh_os_futex_wake_all(&scav.xseq); }

/* Releases up to `bytes` of free pages, highest addresses first. The pages are
 * taken from the allocator while madvise runs, so the lock is not held then. */
void gh_mheap_scavenge(uint64_t bytes) {
  uint64_t want = (bytes >> GH_PAGE_SHIFT) + ((bytes & (GH_PAGE_SIZE - 1)) != 0);
  while (want > 0) {
    uintptr_t addr, n, scavenged;
    gh_mutex_lock(&gh_heap.lock);
    bool found = gh_pagealloc_find_unscavenged_locked(want, &addr, &n);
    if (found) gh_pagealloc_alloc_at_locked(addr, n, &scavenged);
    if (found) gh_heap.pages_scavenging += n;
    gh_mutex_unlock(&gh_heap.lock);
    if (!found) break;
    gh_os_decommit((void *)addr, n << GH_PAGE_SHIFT);
    gh_mutex_lock(&gh_heap.lock);
    gh_pagealloc_free_locked(addr, n);
    gh_pagealloc_mark_scavenged_locked(addr, n);
    gh_heap.pages_released += n;
    gh_heap.pages_scavenging -= n;
    gh_mutex_unlock(&gh_heap.lock);
    want -= n;
  }
}

/* One tick: what stayed above keep for the whole tick goes. Returns whether
 * the dirty count is above keep (another tick is due). *seq: the futex value
 * to wait on, read under the lock that sets `sleeping`. */
static bool tick(uint32_t *seq) {
  gh_mutex_lock(&gh_heap.lock);
  uint64_t keep = keep_pages_locked(), low = scav.low_pages, dirty = dirty_pages_locked();
  if (dirty < low) low = dirty; /* a synchronous release (malloc_trim) took some */
  uint64_t excess = low > keep ? low - keep : 0;
  gh_mutex_unlock(&gh_heap.lock);
  if (excess) gh_mheap_scavenge(excess << GH_PAGE_SHIFT);
  gh_mutex_lock(&gh_heap.lock);
  dirty = dirty_pages_locked();
  scav.low_pages = dirty;
  bool busy = dirty > keep_pages_locked();
  scav.sleeping = !busy;
  *seq = gh_atomic_load_acquire(&scav.xseq);
  gh_mutex_unlock(&gh_heap.lock);
  return busy;
}

static void *scavenger_main(void *arg) {
  (void)arg;
  uint32_t seq = gh_atomic_load_acquire(&scav.xseq);
  for (;;) {
    gh_os_futex_wait_ns(&scav.xseq, seq, TICK_NS); /* a tick: nothing wakes it earlier */
    if (!tick(&seq)) {
      gh_os_futex_wait(&scav.xseq, seq); /* until a free above keep, which starts a tick */
      seq = gh_atomic_load_acquire(&scav.xseq);
    }
  }
  return NULL;
}

/* Starts the scavenger if a free asked for it. The caller holds no lock and
 * is not inside the heap (thread creation allocates). */
void gh_scavenger_poll(void) {
  if (gh_likely(!gh_atomic_load_relaxed(&scav.xwant))) return;
  if (!gh_atomic_cas(&scav.xwant, 1, 0)) return;
  if (gh_atomic_load_acquire(&scav.xup)) return;
  gh_mutex_lock(&gh_heap.lock);
  scav.sleeping = false;
  scav.low_pages = dirty_pages_locked();
  gh_mutex_unlock(&gh_heap.lock);
  if (gh_os_thread_start(scavenger_main, NULL) == 0) gh_atomic_store_release(&scav.xup, 1);
}

/* A fork child: the thread did not survive; the next poll starts another. */
void gh_scavenge_fork_child(void) {
  gh_atomic_store_relaxed(&scav.xup, 0);
  gh_atomic_store_relaxed(&scav.xwant, 0);
  scav.sleeping = false;
  scav.low_pages = UINT64_MAX;
}
