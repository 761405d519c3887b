/*
 * mgcmark.c -- the mark phase: roots, mark bits, the mark stack, parallel
 * mark workers. (Go: mgcmark.go, mgcwork.go, mbitmap.go:findObject.)
 *
 * goheap's collector is conservative: any aligned word that points into an
 * allocated slot of an in-use collected span marks that object (interior
 * pointers count; a pointer to just past the end of the last slot or of a
 * large object's requested size does not). The world is stopped for the
 * whole mark (C has no write barrier), so marking needs no allocation colour.
 *
 * Roots, split into jobs that the workers take in turn:
 *   - the writable segments of the program and of every shared library,
 *     gathered with dl_iterate_phdr before the world stops (it takes the
 *     loader's lock, which a stopped thread may hold), less goheap's own
 *     globals (section gh_data: no goheap variable is a root);
 *   - each registered thread's stack, from the stack pointer it saved when
 *     it stopped to its top, and the registers it saved;
 *   - ranges given to gh_add_roots; the finalizer queue; the mcaches' tiny blocks;
 *     the arguments of threads being created (world.c);
 *   - a walk over every span, in 512-page chunks: allocated manual (malloc)
 *     objects are scanned whole (GOHEAP_SCAN_MANUAL=0 turns that off), and
 *     the contents of every object with a finalizer (mfinal.c).
 * Objects found are marked in gcmark_bits with an atomic OR and, unless their
 * span is noscan, pushed on the worker's mark stack as (start, end) ranges;
 * objects larger than 128 KiB are scanned in 128 KiB pieces (Go's oblets).
 *
 * Mark stacks are 4 KiB work buffers (Go: workbuf): a worker fills its own,
 * publishes full ones on a shared list, and takes full ones when it runs
 * dry; a worker with a deep stack splits half of it off whenever another
 * worker waits and the shared list is empty, so work spreads (a single long
 * linked list is still one chain: each node is found only from the last).
 * The mark ends when every worker waits and no full buffer is left.
 *
 * If no buffer can be had (the OS refuses memory, or GOHEAP_MARK_BUFFERS
 * caps them), the object is marked but not pushed and the mark remembers the
 * overflow; after draining, it rescans every marked object of the heap and
 * drains again, until no overflow happened (bdwgc's mark-stack recovery). So
 * an overflow costs time, never correctness.
 */
#include "internal.h"

#define WB_ENTRIES 255
#define OBLET_BYTES ((uintptr_t)128 << 10)
#define SPAN_JOB_PAGES 512
#define MAX_WORKERS 64
#define BUFS_PER_CHUNK 16

typedef struct gh_range {
  uintptr_t lo, hi;
} gh_range;

typedef struct gh_workbuf {
  struct gh_workbuf *next;
  uint64_t n;               /* entries in use */
  gh_range e[WB_ENTRIES];
} gh_workbuf;
_Static_assert(sizeof(gh_workbuf) == 4096, "a work buffer is one page");

/* One mark worker's state; markers[0] is the collecting thread. */
typedef struct gh_marker {
  gh_workbuf *cur;          /* this worker's mark stack (owner only) */
  uint64_t marked_bytes;    /* collected bytes it marked */
  uint64_t manual_bytes;    /* manual bytes it found allocated */
  uint64_t scanned_bytes;   /* bytes of roots and objects it scanned */
  uint64_t cpu_ns;          /* CPU time of its last mark */
  char pad[GH_CACHELINE];
} gh_marker;

typedef struct gh_thread_root {
  uintptr_t lo, hi;         /* stack range */
  uintptr_t *regs;          /* saved registers */
  uintptr_t tiny;           /* its mcache's tiny block */
} gh_thread_root;

static GH_DATA struct {
  gh_mutex lock;            /* full and empty lists, nbufs */
  gh_workbuf *full, *empty;
  uint32_t xnfull;          /* buffers on the full list */
  uint64_t nbufs;           /* buffers ever mapped */
  uint32_t xnwait;          /* workers waiting for work */
  uint32_t xnsleep;         /* of those, asleep on xwake (after a short spin) */
  uint32_t xwake;           /* futex: bumped when sleepers must look again */
  uint32_t nworkers;        /* taking part in this mark */
  uint32_t xoverflow;       /* a push found no buffer */
  uintptr_t heap_lo, heap_hi;
  uint32_t xnext_job, njobs, nsegs, nthreads, nspanjobs;
  gh_range *segs;           /* gathered segments (gc lock) */
  uint32_t segs_cap;
  gh_thread_root *threads;  /* stopped threads (world stopped) */
  uint32_t threads_cap;
  gh_heaparena **arenas;    /* the arenas when the jobs were set up (a concurrent mark's
                               heap may grow; gh_heap.all_arenas may move meanwhile) */
  uint32_t narenas, arenas_cap;
  bool scan_manual;
  bool leak;                /* the leak check's mark: manual objects are marked, not roots */
  bool concurrent;          /* a concurrent mark is under way (gc lock): span jobs skip
                               specials, which mark termination scans with the world stopped */
  uint32_t nroot_jobs;      /* jobs before the span jobs: segments, threads, the rest */
  bool all_dirty;           /* the kernel did not track writes: termination rescans everything */
  uint64_t rescanned_pages; /* pages a concurrent mark rescanned for writes (precleaning's measure) */
  uint64_t stack_bytes, global_bytes;
} work = {.lock = GH_MUTEX_INIT(GH_RANK_MARKWORK)};

static GH_DATA gh_marker markers[MAX_WORKERS];

/* ---- gh_add_roots ------------------------------------------------------------------ */

static GH_DATA gh_mutex roots_lock = GH_MUTEX_INIT(GH_RANK_ROOTS);
static GH_DATA gh_range *roots;
static GH_DATA uint32_t nroots, roots_cap;

void gh_add_roots(void *lo, void *hi) {
  if ((uintptr_t)hi <= (uintptr_t)lo) return;
  gh_ensure_init();
  gh_mcache *c = gh_enter();
  gh_mutex_lock(&roots_lock);
  if (nroots == roots_cap && !gh_metadata_grow((void **)&roots, &roots_cap, nroots, sizeof *roots, 64))
    gh_throw("gh_add_roots: out of memory");
  roots[nroots++] = (gh_range){(uintptr_t)lo, (uintptr_t)hi};
  gh_mutex_unlock(&roots_lock);
  gh_leave(c);
}

void gh_remove_roots(void *lo, void *hi) {
  gh_mcache *c = gh_enter();
  gh_mutex_lock(&roots_lock);
  for (uint32_t i = 0; i < nroots; i++) {
    if (roots[i].lo == (uintptr_t)lo && roots[i].hi == (uintptr_t)hi) {
      roots[i] = roots[--nroots];
      break;
    }
  }
  gh_mutex_unlock(&roots_lock);
  gh_leave(c);
}

/* ---- work buffers ------------------------------------------------------------------ */

static gh_workbuf *get_empty(void) {
  gh_mutex_lock(&work.lock);
  if (!work.empty) {
    uint64_t limit = (uint64_t)gh_option_get(GH_OPT_MARK_BUFFERS);
    uint32_t n = limit && work.nbufs + BUFS_PER_CHUNK > limit ? (uint32_t)(limit - work.nbufs) : BUFS_PER_CHUNK;
    gh_workbuf *chunk = limit && work.nbufs >= limit ? NULL : gh_os_alloc_metadata(n * sizeof(gh_workbuf));
    for (uint32_t i = 0; chunk && i < n; i++) {
      chunk[i].next = work.empty;
      work.empty = &chunk[i];
    }
    if (chunk) work.nbufs += n;
  }
  gh_workbuf *b = work.empty;
  if (b) work.empty = b->next;
  gh_mutex_unlock(&work.lock);
  if (b) b->n = 0;
  return b;
}

static void put_empty(gh_workbuf *b) {
  gh_mutex_lock(&work.lock);
  b->next = work.empty;
  work.empty = b;
  gh_mutex_unlock(&work.lock);
}

/* Sleeping workers look again (new work, or the mark is over). */
static void wake_sleepers(void) {
  gh_atomic_add_seq(&work.xwake, 1);
  gh_os_futex_wake_all(&work.xwake);
}

static void put_full(gh_workbuf *b) {
  gh_mutex_lock(&work.lock);
  b->next = work.full;
  work.full = b;
  gh_atomic_store_seq(&work.xnfull, work.xnfull + 1); /* before the xnsleep load (get_full_or_done) */
  gh_mutex_unlock(&work.lock);
  if (gh_atomic_load_seq(&work.xnsleep)) wake_sleepers();
}

static gh_workbuf *take_full(void) {
  gh_mutex_lock(&work.lock);
  gh_workbuf *b = work.full;
  if (b) {
    work.full = b->next;
    gh_atomic_store_release(&work.xnfull, work.xnfull - 1);
  }
  gh_mutex_unlock(&work.lock);
  return b;
}

/* Publishes the full buffer and takes an empty one; false on none. */
static GH_NOINLINE bool push_slow(gh_marker *m) {
  if (m->cur) put_full(m->cur);
  m->cur = get_empty();
  if (m->cur) return true;
  gh_atomic_store_relaxed(&work.xoverflow, 1);
  return false;
}

/* Pushes a range to scan; on no buffer, records the overflow (the range's
 * object is marked, so the rescan finds it). */
static inline void push(gh_marker *m, uintptr_t lo, uintptr_t hi) {
  if (gh_unlikely(!m->cur || m->cur->n == WB_ENTRIES) && !push_slow(m)) return;
  __builtin_prefetch((const void *)lo); /* it is scanned soon: start the miss now */
  m->cur->e[m->cur->n++] = (gh_range){lo, hi};
}

/* Another worker waits and nothing is shared: give it half of our stack. */
static void maybe_share(gh_marker *m) {
  if (!gh_atomic_load_relaxed(&work.xnwait) || gh_atomic_load_relaxed(&work.xnfull) || !m->cur || m->cur->n < 8)
    return;
  gh_workbuf *b = get_empty();
  if (!b) return;
  uint64_t half = m->cur->n / 2;
  m->cur->n -= half;
  __builtin_memcpy(b->e, m->cur->e + m->cur->n, half * sizeof(gh_range));
  b->n = half;
  put_full(b);
}

/* Spins a little, then sleeps until put_full or the last worker to run out
 * of work wakes it (no unbounded spinning: a worker descheduled under load
 * costs the others nothing). Sleepers count themselves in xnsleep before
 * their last look, and wakers publish before they read xnsleep (both seq_cst),
 * so one of the two sees the other. */
static void wait_for_work(uint32_t spins) {
  if (spins < 64) return; /* the caller looks again at once */
  if (spins < 80) {
    gh_os_yield();
    return;
  }
  uint32_t seq = gh_atomic_load_seq(&work.xwake);
  gh_atomic_add_seq(&work.xnsleep, 1);
  if (!gh_atomic_load_seq(&work.xnfull) && gh_atomic_load_seq(&work.xnwait) != work.nworkers)
    gh_os_futex_wait(&work.xwake, seq);
  gh_atomic_sub_seq(&work.xnsleep, 1);
}

/* A full buffer from another worker, or NULL when every worker waits with
 * nothing left: the mark is over (Go: getfull). */
static gh_workbuf *get_full_or_done(void) {
  if (gh_atomic_add_seq(&work.xnwait, 1) + 1 == work.nworkers && gh_atomic_load_seq(&work.xnsleep))
    wake_sleepers(); /* the last one: the mark is over unless work appears */
  for (uint32_t spins = 0;; spins++) {
    if (gh_atomic_load_seq(&work.xnfull)) {
      gh_atomic_sub_seq(&work.xnwait, 1);
      gh_workbuf *b = take_full();
      if (b) return b;
      if (gh_atomic_add_seq(&work.xnwait, 1) + 1 == work.nworkers && gh_atomic_load_seq(&work.xnsleep))
        wake_sleepers();
      continue;
    }
    if (gh_atomic_load_seq(&work.xnwait) == work.nworkers) return NULL;
    wait_for_work(spins);
    if (spins >= 80) spins = 0; /* woken: spin briefly again before the next sleep */
  }
}

/* ---- marking ------------------------------------------------------------------------- */

/* The span of v: the last one found if v is in it, else a lookup. */
static inline gh_mspan *span_of_cached(uintptr_t v, gh_mspan **last) {
  gh_mspan *s = *last;
  if (s && v - s->start_addr < ((uintptr_t)s->npages << GH_PAGE_SHIFT)) return s;
  s = gh_span_of(v);
  if (s) *last = s;
  return s;
}

/* Go: mbitmap.go:findObject + greyobject. Marks the object v points into, if
 * any, and queues it for scanning. */
/* Marks the object v points into, if any; returns its start if this call
 * marked it, else 0. */
static inline uintptr_t mark_word(gh_marker *m, uintptr_t v, gh_mspan **last) {
  gh_mspan *s = span_of_cached(v, last);
  if (!s || v >= s->limit || (!gh_spanclass_collected(s->spanclass) && !work.leak)) return 0;
  if (gh_atomic_load_acquire(&s->xstate) != GH_SPAN_IN_USE) return 0; /* being set up or freed (concurrent mark) */
  bool large = gh_spanclass_is_large(s->spanclass);
  uint32_t i = large ? 0 : gh_mspan_obj_index(s, v);
  uint64_t bit = 1ull << (i % 64);
  /* freeindex first: an owner's sweep publishes alloc_bits, then freeindex (mgcsweep.c) */
  if (i >= gh_atomic_load_acquire(&s->freeindex) && !(gh_atomic_load_relaxed(&s->alloc_bits[i / 64]) & bit)) return 0;
  if (gh_unlikely(work.leak) && !large && !gh_mspan_is_live(s, i)) return 0; /* freed, not yet swept */
  uint64_t *w = &s->gcmark_bits[i / 64];
  if ((gh_atomic_load_relaxed(w) & bit) || (gh_atomic_or(w, bit) & bit)) return 0;
  m->marked_bytes += s->elemsize;
  uintptr_t start = s->start_addr + (uintptr_t)i * s->elemsize;
  if (!gh_spanclass_noscan(s->spanclass)) push(m, start, large ? s->limit : start + s->elemsize);
  return start;
}

/* Scans [lo, hi) word by word (Go: scanblock, conservatively). */
static void scan_block(gh_marker *m, uintptr_t lo, uintptr_t hi) {
  uintptr_t hlo = work.heap_lo, hspan = work.heap_hi - work.heap_lo;
  gh_mspan *last = NULL;
  lo = (lo + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
  m->scanned_bytes += hi > lo ? hi - lo : 0;
  for (uintptr_t p = lo; p + sizeof(uintptr_t) <= hi; p += sizeof(uintptr_t)) {
    uintptr_t v = *(const uintptr_t *)p;
    if (v - hlo < hspan) mark_word(m, v, &last);
  }
}

static void scan_cb(uintptr_t lo, uintptr_t hi, void *ctx) { scan_block(ctx, lo, hi); }

/* An object (or piece of one) from the mark stack. */
static void scan_object(gh_marker *m, gh_range r) {
  if (r.hi - r.lo > OBLET_BYTES) { /* the rest goes back on the stack for anyone */
    push(m, r.lo + OBLET_BYTES, r.hi);
    r.hi = r.lo + OBLET_BYTES;
  }
  scan_block(m, r.lo, r.hi);
}

/*
 * Drains the mark stack, then takes full buffers until the mark is over.
 * Objects popped go through a small FIFO before they are scanned: each is
 * prefetched when popped and scanned PREFETCH_DEPTH pops later, so the
 * cache misses of several objects overlap (scanning a freshly pushed object
 * at once stalled on its first word: 84% of scan_block's samples on
 * binary-trees). Entries in the FIFO are still to be scanned: it is
 * emptied before this worker waits for work.
 */
#define PREFETCH_DEPTH 16
static void drain(gh_marker *m) {
  gh_range fifo[PREFETCH_DEPTH];
  uint32_t head = 0, queued = 0;
  for (uint32_t k = 0;;) {
    while ((m->cur && m->cur->n) || queued) {
      if (m->cur && m->cur->n) {
        gh_range r = m->cur->e[--m->cur->n];
        __builtin_prefetch((const void *)r.lo);
        if (queued < PREFETCH_DEPTH) {
          fifo[(head + queued++) % PREFETCH_DEPTH] = r;
          continue;
        }
        gh_range oldest = fifo[head];
        fifo[head] = r;
        head = (head + 1) % PREFETCH_DEPTH;
        scan_object(m, oldest);
      } else {
        queued--;
        scan_object(m, fifo[head]);
        head = (head + 1) % PREFETCH_DEPTH;
      }
      if (k++ % 32 == 0) maybe_share(m);
    }
    gh_workbuf *b = get_full_or_done();
    if (!b) return;
    if (m->cur) put_empty(m->cur);
    m->cur = b;
  }
}

/* ---- root jobs ------------------------------------------------------------------------ */

static bool slot_allocated(const gh_mspan *s, uint32_t i) {
  return i < gh_atomic_load_acquire(&s->freeindex) || (gh_atomic_load_relaxed(&s->alloc_bits[i / 64]) >> (i % 64) & 1);
}

/* A manual span's objects are roots: scan each allocated one. */
static void scan_manual_span(gh_marker *m, gh_mspan *s) {
  if (gh_spanclass_is_large(s->spanclass)) {
    m->manual_bytes += s->elemsize;
    if (work.scan_manual) scan_block(m, s->start_addr, s->limit);
    return;
  }
  m->manual_bytes += (uint64_t)s->alloc_count * s->elemsize;
  if (!work.scan_manual) return;
  for (uint32_t i = 0; i < s->nelems; i++) {
    if (!slot_allocated(s, i)) continue;
    uintptr_t start = s->start_addr + (uintptr_t)i * s->elemsize;
    scan_block(m, start, start + s->elemsize);
  }
}

static void specials_root(gh_mspan *s, void *ctx) {
  if (s->specials) gh_special_scan_roots(s, scan_cb, ctx);
}

/* A span job's work on one span. During a concurrent mark the span may be
 * set up or freed meanwhile (its state is published last), and its specials
 * are left to mark termination (their list changes under their lock). */
static void span_root(gh_mspan *s, void *ctx) {
  gh_marker *m = ctx;
  if (gh_atomic_load_acquire(&s->xstate) != GH_SPAN_IN_USE) return;
  if (!gh_spanclass_collected(s->spanclass) && !work.leak) scan_manual_span(m, s);
  if (!work.concurrent) specials_root(s, m);
}

/* Jobs, in order: the data segments, the threads, the rest of the roots,
 * then the span jobs (nroot_jobs counts those before them). */
static void run_job(gh_marker *m, uint32_t j) {
  if (j < work.nsegs) {
    scan_block(m, work.segs[j].lo, work.segs[j].hi);
    return;
  }
  j -= work.nsegs;
  if (j < work.nthreads) {
    gh_thread_root *t = &work.threads[j];
    scan_block(m, t->lo, t->hi);
    if (t->regs) scan_block(m, (uintptr_t)t->regs, (uintptr_t)(t->regs + 32));
    gh_mspan *last = NULL;
    if (t->tiny) mark_word(m, t->tiny, &last);
    return;
  }
  j -= work.nthreads;
  if (j == 0) {
    for (uint32_t i = 0; i < nroots; i++) scan_block(m, roots[i].lo, roots[i].hi);
    gh_finq_scan_roots(scan_cb, m);
    gh_world_scan_starting(scan_cb, m);
    return;
  }
  j -= 1;
  uint32_t per = GH_PAGES_PER_ARENA / SPAN_JOB_PAGES;
  gh_mheap_each_span_in(work.arenas[j / per], (j % per) * SPAN_JOB_PAGES, SPAN_JOB_PAGES, span_root, m);
}

/* ---- workers ---------------------------------------------------------------------------- */

static GH_DATA uint32_t xphase;          /* futex: bumped to start a mark */
static GH_DATA uint32_t xworkers_done;   /* futex: workers that finished this mark */
static GH_DATA uint32_t workers_running; /* threads started (gc lock) */

/* Counts add up over a concurrent mark's phases; setup_jobs zeroes them. */
static void mark_as_worker(gh_marker *m) {
  uint64_t t0 = gh_os_thread_cputime_ns();
  for (;;) {
    uint32_t j = gh_atomic_add(&work.xnext_job, 1);
    if (j >= work.njobs) break;
    run_job(m, j);
  }
  drain(m);
  m->cpu_ns += gh_os_thread_cputime_ns() - t0;
}

static void *worker_main(void *arg) {
  uint32_t idx = (uint32_t)(uintptr_t)arg, seen = 0;
  for (;;) {
    uint32_t ph;
    while ((ph = gh_atomic_load_acquire(&xphase)) == seen) gh_os_futex_wait(&xphase, ph);
    seen = ph;
    if (idx >= work.nworkers) continue;
    mark_as_worker(&markers[idx]);
    gh_os_clear_dead_stack(); /* the leak check reads this stack as anonymous memory */
    gh_atomic_add_seq(&xworkers_done, 1);
    gh_os_futex_wake_all(&xworkers_done);
  }
  return NULL;
}

static uint32_t wanted_workers(void) {
  int64_t n = gh_option_get(GH_OPT_GC_WORKERS);
  if (n <= 0) n = gh_os_ncpu();
  return n > MAX_WORKERS ? MAX_WORKERS : (uint32_t)n;
}

/* Before the world stops (thread creation may take locks a stopped thread holds). */
static void start_workers(void) {
  uint32_t want = wanted_workers();
  while (workers_running + 1 < want) {
    if (gh_os_thread_start(worker_main, (void *)(uintptr_t)(workers_running + 1)) != 0) break;
    workers_running++;
  }
}

void gh_gc_mark_fork_prepare(void) { gh_mutex_lock(&roots_lock); }
void gh_gc_mark_fork_parent(void) { gh_mutex_unlock(&roots_lock); }

void gh_gc_mark_fork_child(void) {
  workers_running = 0;
  gh_atomic_store_relaxed(&xphase, 0);
  gh_mutex_reset(&work.lock); /* not taken by fork: a worker may have held it */
  gh_mutex_reinit(&roots_lock);
}

/* ---- preparing the roots (gc lock held) ------------------------------------------------------ */

static void push_segment(uintptr_t lo, uintptr_t hi) {
  if (lo >= hi) return;
  if (work.nsegs == work.segs_cap &&
      !gh_metadata_grow((void **)&work.segs, &work.segs_cap, work.nsegs, sizeof *work.segs, 256))
    gh_throw("collector: out of memory for the table of data segments");
  work.segs[work.nsegs++] = (gh_range){lo, hi};
}

/* goheap's own globals (section gh_data, os.h) are not roots: whatever heap
 * address they hold (a hint, the heap's bounds) must not keep an object alive. */
extern char __start_gh_data[] __attribute__((visibility("hidden")));
extern char __stop_gh_data[] __attribute__((visibility("hidden")));

static void add_segment(uintptr_t lo, uintptr_t hi, void *arg) {
  (void)arg;
  uintptr_t own_lo = (uintptr_t)__start_gh_data, own_hi = (uintptr_t)__stop_gh_data;
  if (hi <= own_lo || lo >= own_hi) {
    push_segment(lo, hi);
    return;
  }
  push_segment(lo, own_lo);
  push_segment(own_hi, hi);
}

/* World running, gc lock held: the data segments of everything loaded now,
 * and the mark workers. */
void gh_gc_prepare_mark(void) {
  work.nsegs = 0;
  gh_os_each_data_segment(add_segment, NULL);
  start_workers();
}

static void add_thread(gh_mcache *c, void *self_sp) {
  if (work.nthreads == work.threads_cap &&
      !gh_metadata_grow((void **)&work.threads, &work.threads_cap, work.nthreads, sizeof *work.threads, 64))
    gh_throw("collector: out of memory for the thread table");
  uintptr_t sp = c == gh_tls_mcache ? (uintptr_t)self_sp : c->stop_sp;
  if (!c->stack_hi || sp >= c->stack_hi) c->stack_hi = gh_os_stack_top(sp);
  gh_thread_root *t = &work.threads[work.nthreads++];
  t->lo = sp;
  t->hi = c->stack_hi > sp ? c->stack_hi : sp;
  t->regs = c == gh_tls_mcache ? NULL : c->stop_regs; /* the collector's are in its frame (mgc.c:gc_cycle); these are stale */
  t->tiny = c->tiny;
  work.stack_bytes += t->hi - t->lo;
}

static void add_thread_cb(gh_mcache *c, void *arg) { add_thread(c, arg); }

/* World stopped: the threads, the heap's bounds and arenas, and the jobs. */
static void setup_roots(void) {
  uintptr_t sp = gh_tls_mcache->stop_sp; /* the collector's own: set by mgc.c:gc_cycle */
  work.nthreads = 0;
  work.stack_bytes = 0;
  gh_world_each_thread(add_thread_cb, (void *)sp);
  work.global_bytes = 0;
  for (uint32_t i = 0; i < work.nsegs; i++) work.global_bytes += work.segs[i].hi - work.segs[i].lo;
  while (gh_heap.narenas > work.arenas_cap)
    if (!gh_metadata_grow((void **)&work.arenas, &work.arenas_cap, 0, sizeof *work.arenas, gh_heap.narenas))
      gh_throw("collector: out of memory for the arena table");
  work.narenas = gh_heap.narenas;
  __builtin_memcpy(work.arenas, gh_heap.all_arenas, work.narenas * sizeof *work.arenas);
  work.nspanjobs = work.narenas * (GH_PAGES_PER_ARENA / SPAN_JOB_PAGES);
  work.nroot_jobs = work.nsegs + work.nthreads + 1;
  work.njobs = work.nroot_jobs + work.nspanjobs;
  work.xnext_job = 0;
  work.heap_lo = gh_heap.narenas ? gh_heap.all_arenas[0]->base : 0;
  work.heap_hi = gh_heap.narenas ? gh_heap.all_arenas[gh_heap.narenas - 1]->base + GH_ARENA_SIZE : 0;
  work.scan_manual = gh_option_get(GH_OPT_SCAN_MANUAL) != 0;
}

/* ... and the workers' counts start from zero: a new mark. */
static void setup_jobs(void) {
  setup_roots();
  work.rescanned_pages = 0;
  for (uint32_t i = 0; i < MAX_WORKERS; i++)
    markers[i].marked_bytes = markers[i].manual_bytes = markers[i].scanned_bytes = markers[i].cpu_ns = 0;
}


/* ---- the mark, start to end (world stopped) --------------------------------------------------- */

static void run_workers(uint32_t n) {
  work.nworkers = n;
  work.xnwait = 0;
  gh_atomic_store_release(&xworkers_done, 0);
  gh_atomic_add_seq(&xphase, 1);
  if (n > 1) gh_os_futex_wake_all(&xphase);
  mark_as_worker(&markers[0]);
  uint32_t done;
  while ((done = gh_atomic_load_seq(&xworkers_done)) < n - 1) gh_os_futex_wait(&xworkers_done, done);
}

static void rescan_span(gh_mspan *s, void *ctx) {
  if (!gh_spanclass_collected(s->spanclass) || gh_spanclass_noscan(s->spanclass)) return;
  for (uint32_t i = 0; i < s->nelems; i++) {
    if (!(s->gcmark_bits[i / 64] >> (i % 64) & 1)) continue;
    uintptr_t start = s->start_addr + (uintptr_t)i * s->elemsize;
    scan_block(ctx, start, gh_spanclass_is_large(s->spanclass) ? s->limit : start + s->elemsize);
  }
}

/* After an overflow: rescan every marked object until nothing overflows. */
static void recover_overflow(void) {
  while (gh_atomic_load_relaxed(&work.xoverflow)) {
    gh_atomic_store_relaxed(&work.xoverflow, 0);
    work.nworkers = 1;
    work.xnwait = 0;
    gh_mheap_each_span(rescan_span, &markers[0]);
    drain(&markers[0]);
  }
}

static bool is_marked(gh_mspan *s, uintptr_t p) {
  uint32_t i = gh_spanclass_is_large(s->spanclass) ? 0 : gh_mspan_obj_index(s, p);
  return s->gcmark_bits[i / 64] >> (i % 64) & 1;
}

static uint64_t mark_object(gh_mspan *s, uintptr_t p) {
  uint32_t i = gh_spanclass_is_large(s->spanclass) ? 0 : gh_mspan_obj_index(s, p);
  if (s->gcmark_bits[i / 64] >> (i % 64) & 1) return 0;
  s->gcmark_bits[i / 64] |= 1ull << (i % 64);
  return s->elemsize;
}

static void queue_finalizers(gh_mspan *s, void *ctx) {
  if (s->specials) *(uint64_t *)ctx += gh_special_queue_unreachable(s, is_marked, mark_object);
}

static void mark_all(uint32_t n) {
  work.xoverflow = 0;
  run_workers(n);
  recover_overflow();
}

/* ---- the client's mark callback (gh_set_mark_callback) ---------------------------------------- */

static GH_DATA struct {
  gh_mark_callback xfn; /* written with roots_lock held, read with the world stopped */
  void *xarg;
  gh_marker *active;    /* the marker while the callback runs (collecting thread, world stopped) */
} callback;

void gh_set_mark_callback(gh_mark_callback fn, void *arg) {
  gh_ensure_init();
  gh_mutex_lock(&roots_lock);
  gh_atomic_store_release(&callback.xarg, arg);
  gh_atomic_store_release(&callback.xfn, fn);
  gh_mutex_unlock(&roots_lock);
}

static bool in_callback(void) {
  if (gh_likely(callback.active != NULL)) return true;
  static const char msg[] = "goheap: gh_mark_range/gh_is_marked called outside a mark callback: ignored\n";
  gh_os_write_stderr(msg, sizeof msg - 1);
  return false;
}

void gh_mark_range(void *lo, void *hi) {
  if (in_callback()) scan_block(callback.active, (uintptr_t)lo, (uintptr_t)hi);
}

void *gh_mark_pointer(void *p, int *scanned) {
  *scanned = 0;
  if (!in_callback() || (uintptr_t)p - work.heap_lo >= work.heap_hi - work.heap_lo) return NULL;
  gh_mspan *last = NULL;
  uintptr_t start = mark_word(callback.active, (uintptr_t)p, &last);
  if (start) *scanned = !gh_spanclass_noscan(last->spanclass);
  return (void *)start;
}

int gh_is_marked(void *p) {
  if (!in_callback()) return 0;
  gh_mspan *s = gh_span_of((uintptr_t)p);
  return s && (uintptr_t)p < s->limit && gh_spanclass_collected(s->spanclass) && is_marked(s, (uintptr_t)p);
}

/* Rounds of the callback, each followed by a single-worker drain, until a
 * round marks nothing new; *round counts on across calls. */
static void callback_rounds(gh_mark_callback fn, void *arg, unsigned *round) {
  gh_marker *m = &markers[0];
  for (;; ++*round) {
    uint64_t before = m->marked_bytes;
    callback.active = m;
    fn(arg, *round);
    callback.active = NULL;
    work.nworkers = 1;
    work.xnwait = 0;
    drain(m);
    recover_overflow();
    if (m->marked_bytes == before) break;
  }
  ++*round;
}

static void callback_done(gh_mark_callback fn, void *arg) {
  callback.active = &markers[0];
  fn(arg, GH_MARK_DONE);
  callback.active = NULL;
}

static uint32_t available_workers(void) {
  uint32_t n = wanted_workers();
  return n > workers_running + 1 ? workers_running + 1 : n;
}

/* After the last drain (world stopped): the client's callback, weak links,
 * finalizers, and the result. */
static void finish_mark(gh_mark_result *out, uint32_t n) {
  gh_mark_callback fn = gh_atomic_load_acquire(&callback.xfn);
  void *arg = gh_atomic_load_acquire(&callback.xarg);
  unsigned round = 0;
  if (fn) callback_rounds(fn, arg, &round); /* before the finalizers: what it reaches is not finalized */
  gh_weak_clear_dead(true); /* short weak links: before finalization keeps objects alive */
  uint64_t kept = 0;
  gh_mheap_each_span(queue_finalizers, &kept);
  if (fn && kept) callback_rounds(fn, arg, &round); /* what the objects kept for their finalizers reach through it */
  if (fn) callback_done(fn, arg);
  gh_weak_clear_dead(false);
  *out = (gh_mark_result){.workers = n, .marked_bytes = kept, .stack_bytes = work.stack_bytes,
                          .global_bytes = work.global_bytes, .forced = out->forced};
  for (uint32_t i = 0; i < MAX_WORKERS; i++) {
    out->marked_bytes += markers[i].marked_bytes;
    out->manual_bytes += markers[i].manual_bytes;
    out->cpu_ns += markers[i].cpu_ns;
  }
}

void gh_gc_mark(gh_mark_result *out) {
  setup_jobs();
  uint32_t n = available_workers();
  mark_all(n);
  finish_mark(out, n);
}

/* ---- the concurrent mark (GOHEAP_GC_MODE=concurrent; mbarrier.c) -----------------------------
 * Before the start (world running): the kernel's write protection goes on
 * over the whole heap. Start (world stopped): what was committed since is
 * protected too; objects are allocated black from now on; the roots are
 * scanned, which only marks and pushes what they reach. Then, with the world
 * running: the span jobs and the drain; a few
 * precleaning rounds that rescan what was written meanwhile and the spans
 * handed out meanwhile. Termination (world stopped): the roots again, the
 * pages written since their last scan, the remaining fresh spans, the
 * specials; the drain; finalizers and weak links as a stopped mark. A pointer
 * the program stores anywhere in the heap is on a written page, and one it
 * keeps in a root is found by the second root scan: nothing live is missed
 * (Boehm-Demers-Shenker). During the concurrent part spans may be set up or
 * freed under the workers: they test the span's state before its fields,
 * and freed spans are recycled only after termination (mheap.c). */
#define PRECLEAN_ROUNDS 8
#define PRECLEAN_ENOUGH_PAGES 64 /* a round that rescanned fewer ends the precleaning */

/* Set when precleaning rounds stop shrinking: the program allocates as fast
 * as they rescan what it allocated. Allocating threads then wait at their
 * next slow path until the cycle ends (mgc.c), so the last rounds catch up
 * and termination stays short: the threads that allocate pay, as Go's
 * assists make them (a second round that still does not shrink ends the
 * precleaning anyway). Cleared at termination, with the world stopped. */
GH_DATA uint32_t gh_gc_alloc_wait;

/* The objects of span s in [lo, hi) that may hold pointers stored since they
 * were scanned: marked collected ones (black allocations among them) and
 * allocated malloc'd ones (roots). */
static void rescan_objects(gh_marker *m, gh_mspan *s, uintptr_t lo, uintptr_t hi) {
  if (gh_atomic_load_acquire(&s->xstate) != GH_SPAN_IN_USE) return;
  bool collected = gh_spanclass_collected(s->spanclass);
  if (collected ? gh_spanclass_noscan(s->spanclass) : !work.scan_manual) return;
  uintptr_t start = s->start_addr;
  if (lo < start) lo = start;
  if (hi > s->limit) hi = s->limit;
  if (lo >= hi) return;
  if (gh_spanclass_is_large(s->spanclass)) {
    if (!collected || (gh_atomic_load_relaxed(&s->gcmark_bits[0]) & 1)) scan_block(m, lo, hi);
    return;
  }
  uint32_t last = gh_mspan_obj_index(s, hi - 1);
  for (uint32_t i = gh_mspan_obj_index(s, lo); i <= last && i < s->nelems; i++) {
    uintptr_t o = start + (uintptr_t)i * s->elemsize;
    if (slot_allocated(s, i) && (!collected || gh_atomic_load_relaxed(&s->gcmark_bits[i / 64]) >> (i % 64) & 1))
      scan_block(m, o, o + s->elemsize); /* free slots may be marked ahead (gh_mspan_allocate_black) */
  }
}

/* Rescans the objects on the pages [lo, hi) (written, or fresh). */
static void rescan_range(uintptr_t lo, uintptr_t hi, void *ctx) {
  work.rescanned_pages += (hi - lo) >> GH_PAGE_SHIFT;
  while (lo < hi) {
    gh_mspan *s = gh_span_of(lo);
    uintptr_t end = s ? s->start_addr + ((uintptr_t)s->npages << GH_PAGE_SHIFT) : 0;
    if (end <= lo) { /* no span here (or one changing under us) */
      lo = (lo & ~(uintptr_t)(GH_PAGE_SIZE - 1)) + GH_PAGE_SIZE;
      continue;
    }
    if (end > hi) end = hi;
    rescan_objects(ctx, s, lo, end);
    lo = end;
  }
}

static void rescan_whole_span(gh_mspan *s, void *ctx) {
  rescan_objects(ctx, s, s->start_addr, s->start_addr + ((uintptr_t)s->npages << GH_PAGE_SHIFT));
}

/* Runs n workers over jobs [from, to), then the drain. */
static void run_phase(uint32_t n, uint32_t from, uint32_t to) {
  work.xnext_job = from;
  work.njobs = to;
  run_workers(n);
}

/* Go's background workers take 25% of the CPUs; at least one. */
static uint32_t concurrent_workers(void) {
  uint32_t n = (wanted_workers() + 3) / 4, avail = available_workers();
  return n > avail ? avail : n;
}

/* World running, gc lock held: the write protection goes on before the start. */
void gh_gc_mark_protect(void) { work.all_dirty = !gh_barrier_protect(); }

/* World stopped (gc lock held). */
void gh_gc_mark_start(void) {
  setup_jobs();
  work.concurrent = true;
  work.xoverflow = 0;
  work.all_dirty |= !gh_barrier_start();
  gh_atomic_store_relaxed(&gh_gc_marking, 1);
  for (uint32_t j = 0; j < work.nroot_jobs; j++) run_job(&markers[0], j);
}

/* World running, gc lock held: the marking, and precleaning. */
void gh_gc_mark_concurrent(void) {
  uint32_t n = concurrent_workers();
  run_phase(n, work.nroot_jobs, work.nroot_jobs + work.nspanjobs);
  uint64_t last = UINT64_MAX;
  for (int round = 0; round < PRECLEAN_ROUNDS && !work.all_dirty; round++) {
    uint64_t before = work.rescanned_pages;
    gh_barrier_written(true, rescan_range, &markers[0]);
    if (!gh_barrier_take_fresh(true, rescan_range, &markers[0])) work.all_dirty = true;
    run_phase(n, 0, 0);
    uint64_t pages = work.rescanned_pages - before;
    if (pages < PRECLEAN_ENOUGH_PAGES) break;
    if (pages > last / 2) { /* the program allocates as fast as the rounds rescan */
      if (gh_atomic_load_relaxed(&gh_gc_alloc_wait)) break;
      gh_atomic_store_relaxed(&gh_gc_alloc_wait, 1);
    }
    last = pages;
  }
  work.nsegs = 0;
  gh_os_each_data_segment(add_segment, NULL); /* and the libraries loaded meanwhile */
}

/* World stopped, caches flushed (gc lock held). */
void gh_gc_mark_terminate(gh_mark_result *out) {
  setup_roots();
  gh_marker *m = &markers[0];
  if (!work.all_dirty) {
    gh_barrier_written(false, rescan_range, m);
    if (!gh_barrier_take_fresh(false, rescan_range, m)) work.all_dirty = true;
  }
  if (work.all_dirty) gh_mheap_each_span(rescan_whole_span, m);
  gh_mheap_each_span(specials_root, m);
  uint32_t n = available_workers();
  run_phase(n, 0, work.nroot_jobs);
  recover_overflow();
  finish_mark(out, n);
  gh_atomic_store_relaxed(&gh_gc_marking, 0);
  gh_atomic_store_relaxed(&gh_gc_alloc_wait, 0);
  work.concurrent = false;
  for (uint32_t i = 0; i < GH_NUM_SPAN_CLASSES; i++) gh_mcentral_clear_empty_marks(&gh_central[i]);
  gh_mheap_end_mark();
}

/* ---- the leak check's mark (leakcheck.c) ------------------------------------------------
 * Roots as a collection's, plus every private writable anonymous mapping
 * (where programs keep their own allocators' memory: Python's object arenas,
 * GCC's collected pages), less goheap's heap and metadata and the main
 * thread's stack (scanned from its stack pointer as a thread root, so that
 * dead frames below it keep nothing alive). Manual objects are marked and
 * scanned like collected ones instead of being roots. */

typedef struct exclusions {
  gh_range *r;
  uint32_t n, cap;
} exclusions;

static void exclude(uintptr_t lo, uintptr_t hi, void *arg) {
  exclusions *e = arg;
  if (e->n == e->cap && !gh_metadata_grow((void **)&e->r, &e->cap, e->n, sizeof *e->r, 256)) return;
  uint32_t i = e->n++;
  for (; i > 0 && e->r[i - 1].lo > lo; i--) e->r[i] = e->r[i - 1]; /* sorted by lo */
  e->r[i] = (gh_range){lo, hi};
}

static bool anonymous(const gh_os_mapping *m) {
  return m->path[0] == 0 || __builtin_strcmp(m->path, "[heap]") == 0 ||
         __builtin_strncmp(m->path, "[anon:", 6) == 0;
}

/* Adds [lo, hi) less the excluded ranges. */
static void add_minus(uintptr_t lo, uintptr_t hi, const exclusions *e) {
  for (uint32_t i = 0; i < e->n && lo < hi; i++) {
    if (e->r[i].hi <= lo) continue;
    if (e->r[i].lo >= hi) break;
    add_segment(lo, e->r[i].lo > lo ? e->r[i].lo : lo, NULL);
    lo = e->r[i].hi;
  }
  if (lo < hi) add_segment(lo, hi, NULL);
}

static bool add_anonymous(const gh_os_mapping *m, void *arg) {
  if (m->readable && m->writable && !m->shared && anonymous(m)) add_minus(m->lo, m->hi, arg);
  return true;
}

static GH_DATA bool metadata_complete;

/* World running, gc lock held. */
void gh_gc_prepare_leak_mark(void) {
  gh_gc_prepare_mark();
  exclusions e = {0};
  metadata_complete = gh_os_each_metadata(exclude, &e);
  gh_mutex_lock(&gh_heap.lock);
  for (uint32_t i = 0; i < gh_heap.narenas; i++)
    exclude(gh_heap.all_arenas[i]->base, gh_heap.all_arenas[i]->base + GH_ARENA_SIZE, &e);
  gh_mutex_unlock(&gh_heap.lock);
  uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
  uintptr_t top = gh_os_stack_top(sp);
  if (top) exclude(sp & ~(uintptr_t)4095, top, &e); /* this thread's stack: a thread root */
  gh_os_each_mapping(add_anonymous, &e);
  if (e.r) gh_os_release(e.r, e.cap * sizeof *e.r);
}

/* World stopped: marks what the roots reach, manual objects included; false
 * if goheap's metadata could not all be left out (then some leaks may be
 * missed, never invented). */
bool gh_gc_mark_leaks(void) {
  setup_jobs();
  work.leak = true;
  uint32_t n = wanted_workers();
  if (n > workers_running + 1) n = workers_running + 1;
  mark_all(n);
  return metadata_complete;
}

/* World stopped, after gh_gc_mark_leaks: marks what the object at [lo, hi),
 * not marked itself, reaches, not counting its pointers to itself (as
 * LeakSanitizer): it is marked while its contents are scanned, then not. */
void gh_gc_mark_from_object(gh_mspan *s, uintptr_t lo, uintptr_t hi) {
  mark_object(s, lo);
  work.nworkers = 1;
  work.xnwait = 0;
  scan_block(&markers[0], lo, hi);
  drain(&markers[0]);
  recover_overflow();
  uint32_t i = gh_spanclass_is_large(s->spanclass) ? 0 : gh_mspan_obj_index(s, lo);
  s->gcmark_bits[i / 64] &= ~(1ull << (i % 64));
}

bool gh_gc_is_marked(gh_mspan *s, uintptr_t p) { return is_marked(s, p); }

static void clear_marks(gh_mspan *s, void *arg) {
  (void)arg;
  gh_mspan_clear_marks(s);
}

/* World stopped: back to I7 (no mark bit set between collections). */
void gh_gc_end_leak_mark(void) {
  work.leak = false;
  gh_mheap_each_span(clear_marks, NULL);
}
