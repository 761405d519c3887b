/*
 * mgc.c -- one collection, start to end; pacing; gctrace; the background
 * sweeper. (Go: mgc.go, mgcpacer.go, mgcsweep.go:bgsweep.)
 *
 * A collection (gc_cycle), on the thread whose collected allocation crossed
 * the trigger or that called gh_collect:
 *   1. gather the data segments and start the mark workers (world running);
 *   2. stop the world (world.c): every registered thread parks in a signal
 *      handler or at the end of the allocator's slow path it was in;
 *   3. flush every mcache (Go: prepareForSweep at mark termination), so no
 *      span is cached across the cycle, and finish the previous cycle's
 *      sweep (Go: finishsweep_m): every span is swept and on its list;
 *   4. mark (mgcmark.c), queue finalizers of unreachable objects;
 *   5. heap_live = bytes marked + manual bytes; the next goal; sweepgen += 2,
 *      which makes every collected span unswept at once;
 *   6. restart the world, wake the background sweeper and finalizer thread,
 *      print the gctrace line.
 * Sweeping is then lazy: cacheSpan sweeps the spans it takes, large
 * allocations reclaim before the heap grows, the background sweeper takes
 * the rest, and the next cycle finishes whatever is left.
 *
 * GOHEAP_GC_MODE=concurrent (concurrent_cycle; mbarrier.c, mgcmark.c): a
 * background collector thread runs the cycle, and the mark of step 4 runs
 * with the world started between two short stops: the start (caches flushed,
 * black allocation on, roots pushed) and termination (caches flushed again,
 * the written pages and new spans rescanned, finalizers and weak links).
 *
 * Pacing (Go: gcControllerState): goal = marked * (1 + GOGC/100), at least
 * 4 MiB * GOGC/100, lowered to keep the heap under the memory limit (the
 * smaller of GOHEAP_MEMLIMIT / gh_set_memory_limit and the cgroup's limit)
 * but never below marked + marked/16 + 1 MiB, so a heap that cannot fit does
 * not collect back to back (Go bounds that case with its CPU limiter). With
 * the world stopped for the whole mark, the trigger is the goal itself; a
 * concurrent mark starts earlier (concurrent_trigger).
 * Manual memory counts toward the heap, as all memory does in Go.
 *
 * Lock: gc_lock serialises collections; it ranks above every other lock.
 */
#include <errno.h>
#include <stdio.h>

#include "internal.h"

#define HEAP_MINIMUM ((uint64_t)4 << 20) /* Go: heapMinimum at GOGC=100 */

static GH_DATA gh_mutex gc_lock = GH_MUTEX_INIT(GH_RANK_GC);

static GH_DATA struct {
  uint64_t xtrigger;       /* heap_live at which an allocation starts a cycle */
  uint64_t heap_marked;    /* live after the last mark (manual included) */
  uint64_t next_gc;        /* the goal */
  int64_t xgc_percent;     /* GOGC; negative: off */
  int64_t xmem_limit;      /* user's soft limit; INT64_MAX: none */
  int64_t cgroup_limit;    /* -1: none */
  uint64_t num_gc, num_forced;
  uint64_t pause_total_ns, pause_ns[GH_STATS_NPAUSE];
  uint64_t last_gc_ns, cpu_ns, start_ns;
  uint64_t xgoal;          /* next_gc, for allocating threads during a concurrent mark */
  struct {                 /* the concurrent trigger's measurements (gc lock) */
    uint64_t alloc_rate;   /* bytes/s the program allocated between the last two cycles */
    uint64_t mark_ns;      /* the last concurrent mark's duration ... */
    uint64_t marked;       /* ... for this live heap */
    uint64_t end_ns;       /* when the last cycle ended */
  } pace;
  uint32_t xsweep_seq;     /* futex: bumped when a cycle leaves spans to sweep */
  uint32_t sweeper_up;
  /* The background collector (concurrent mode): allocating threads set
   * xrequested and bump xrequest_seq to wake it; every gc_cycle bumps
   * xcycle_seq when it is over, for the threads that wait at the goal. */
  uint32_t xcollector_up, xrequested, xrequest_seq, xcycle_seq;
  bool signal_installed;
} gc = {.xtrigger = HEAP_MINIMUM, .next_gc = HEAP_MINIMUM, .xgc_percent = 100, .xmem_limit = INT64_MAX};

void gh_gc_init(void) {
  gh_barrier_init(); /* GOHEAP_GC_MODE: before the heap commits memory */
  gc.xgc_percent = gh_option_get(GH_OPT_GOGC);
  gc.xmem_limit = gh_option_get(GH_OPT_MEMLIMIT);
  gc.cgroup_limit = gh_os_cgroup_memory_limit();
  gc.start_ns = gh_os_nanotime();
  gc.heap_marked = 0;
  gc.next_gc = UINT64_MAX;
  gh_gc_set_goal();
}

/* ---- pacing -------------------------------------------------------------------------- */

static int64_t effective_limit(void) {
  int64_t l = gh_atomic_load_relaxed(&gc.xmem_limit);
  if (gc.cgroup_limit > 0 && gc.cgroup_limit < l) l = gc.cgroup_limit;
  return l;
}

/* A concurrent mark must end before the goal while the program goes on
 * allocating (Go: gcControllerState.trigger, from the runway): it starts
 * when what is left to the goal is what the program allocated, at its rate
 * between the last two cycles, in the time the last mark took scaled to the
 * new live heap, plus a quarter. Bounded to 50-95% of the way from the live
 * heap to the goal (Go's lower bound is 70%, but Go's allocating goroutines
 * then assist the mark; here they wait at the goal, so it starts earlier;
 * not much earlier, since what is allocated during a mark counts as live
 * and raises the next goal); 70% before the first measurements. */
static uint64_t concurrent_trigger(uint64_t marked, uint64_t goal) {
  if (goal == UINT64_MAX || goal <= marked) return goal;
  uint64_t span = goal - marked, lo = marked + span / 2, hi = marked + span / 20 * 19;
  if (!gc.pace.mark_ns || !gc.pace.alloc_rate || !gc.pace.marked) return marked + span / 10 * 7;
  double mark_s = (double)gc.pace.mark_ns / 1e9 * ((double)marked / (double)gc.pace.marked);
  double runway = (double)gc.pace.alloc_rate * mark_s * 1.25;
  uint64_t trigger = runway >= (double)span ? lo : goal - (uint64_t)runway;
  return trigger < lo ? lo : trigger > hi ? hi : trigger;
}

/* Go: gcControllerState.heapGoal and memoryLimitHeapGoal. */
void gh_gc_set_goal(void) {
  int64_t pct = gh_atomic_load_relaxed(&gc.xgc_percent);
  uint64_t marked = gc.heap_marked, goal = UINT64_MAX;
  if (pct >= 0) {
    goal = marked + marked / 100 * (uint64_t)pct;
    uint64_t min = HEAP_MINIMUM / 100 * (uint64_t)pct;
    if (goal < min) goal = min;
  }
  int64_t limit = effective_limit();
  if (limit != INT64_MAX) {
    gh_mutex_lock(&gh_heap.lock);
    uint64_t inuse = gh_heap.pages_inuse << GH_PAGE_SHIFT;
    gh_mutex_unlock(&gh_heap.lock);
    uint64_t overhead = gh_atomic_load_relaxed(&gh_metadata_bytes) + (inuse > marked ? inuse - marked : 0);
    uint64_t lgoal = (uint64_t)limit > overhead ? (uint64_t)limit - overhead : 0;
    uint64_t floor = marked + marked / 16 + (1 << 20);
    if (lgoal < floor) lgoal = floor;
    if (lgoal < goal) goal = lgoal;
  }
  gc.next_gc = goal;
  gh_atomic_store_relaxed(&gc.xgoal, goal);
  gh_atomic_store_relaxed(&gc.xtrigger, gh_barrier_on() ? concurrent_trigger(marked, goal) : goal);
}

/* ---- the background sweeper (Go: mgcsweep.go:bgsweep) --------------------------------- */

/* Sweeps every collected span left unswept (and, with `manual`, every manual
 * span explicit frees queued); with `yield`, politely. */
static void sweep_all(bool yield, bool manual) {
  for (uint32_t sc = 0; sc < GH_NUM_SPAN_CLASSES; sc++) {
    if (!manual && !gh_spanclass_collected((gh_spanclass)sc)) continue;
    for (uint32_t n = 1;; n++) {
      gh_mcache *c = gh_enter();
      bool any = gh_mcentral_sweep_one(&gh_central[sc]);
      gh_leave(c);
      if (!any) break;
      if (yield && n % 16 == 0) gh_os_yield();
    }
  }
}

static void *sweeper_main(void *arg) {
  (void)arg;
  gh_os_thread_unblock_signals();
  if (gh_register_thread() != 0) return NULL;
  for (;;) {
    uint32_t seq = gh_atomic_load_acquire(&gc.xsweep_seq);
    sweep_all(true, false);
    gh_world_blocking_wait(&gc.xsweep_seq, seq);
  }
  return NULL;
}

void gh_gc_finish_sweep(void) {
  if (gh_atomic_load_relaxed(&gc.num_gc)) sweep_all(false, false);
}

/* ---- gctrace (Go: mgc.go:gcMarkTermination's printout) -------------------------------- */

/* A stopped cycle: start, stopped, marked, end. A concurrent one also has
 * restarted (the world runs again after the start) and stopped2 (stopped
 * again for termination); for a stopped one both are `end`. */
typedef struct cycle_times {
  uint64_t start, stopped, restarted, stopped2, marked, end;
  uint64_t heap_before;
} cycle_times;

/* Go's three clock phases: the stop and sweep termination; the mark (with
 * the world running, for a concurrent cycle); mark termination. The lines
 * keep Go 1.19's format exactly (tools parse it); the mode is said once,
 * before the first. */
static void gctrace(const cycle_times *t, const gh_mark_result *r) {
  if (gc.num_gc == 1) {
    char line[160];
    gh_buf b = {line, line + sizeof line - 1};
    gh_buf_str(&b, "goheap: gctrace: GOHEAP_GC_MODE=");
    gh_buf_str(&b, gh_gc_mode_names[gh_gc_mode()]);
    gh_buf_str(&b, gh_barrier_on() ? ", clock = start stop + concurrent mark + termination stop\n"
                                   : ", the whole mark with the world stopped\n");
    gh_os_write_stderr(line, (size_t)(b.p - line));
  }
  bool conc = t->restarted != t->end;
  uint64_t a = (conc ? t->restarted : t->stopped) - t->start, b = (conc ? t->stopped2 - t->restarted : t->marked - t->stopped);
  uint64_t c = conc ? t->end - t->stopped2 : t->end - t->marked;
  double ms = 1e6;
  uint64_t since = t->start - gc.start_ns;
  uint64_t wall = gh_os_nanotime() - gc.start_ns;
  int ncpu = gh_os_ncpu();
  unsigned pct = wall ? (unsigned)(gc.cpu_ns * 100 / (wall * (uint64_t)ncpu)) : 0;
  char line[400];
  int n = snprintf(line, sizeof line,
                   "gc %llu @%.3fs %u%%: %.3f+%.3f+%.3f ms clock, %.3f+0/%.3f/0+%.3f ms cpu, "
                   "%llu->%llu->%llu MB, %llu MB goal, %llu MB stacks, %llu MB globals, %u P%s\n",
                   (unsigned long long)gc.num_gc, (double)since / 1e9, pct, (double)a / ms, (double)b / ms,
                   (double)c / ms, (double)a / ms, (double)r->cpu_ns / ms, (double)c / ms,
                   (unsigned long long)(t->heap_before >> 20), (unsigned long long)(t->heap_before >> 20),
                   (unsigned long long)(gc.heap_marked >> 20),
                   (unsigned long long)(gc.next_gc == UINT64_MAX ? 0 : gc.next_gc >> 20),
                   (unsigned long long)(r->stack_bytes >> 20), (unsigned long long)(r->global_bytes >> 20),
                   r->workers, r->forced ? " (forced)" : "");
  if (n > 0) gh_os_write_stderr(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* ---- one collection ------------------------------------------------------------------------ */

static void flush_cache(gh_mcache *c, void *arg) {
  (void)arg;
  gh_mcache_release_all(c);
}

static void record(const cycle_times *t, gh_mark_result *r) {
  uint64_t pause = (t->restarted - t->start) + (t->end - t->stopped2);
  gc.pause_ns[gc.num_gc % GH_STATS_NPAUSE] = pause;
  gc.pause_total_ns += pause;
  gc.last_gc_ns = t->end - gc.start_ns;
  gc.cpu_ns += r->cpu_ns + (t->stopped - t->start) + (t->end - t->marked);
  gh_atomic_store_relaxed(&gc.num_gc, gc.num_gc + 1);
  if (r->forced) gc.num_forced++;
}

/* Every checker, at the one moment the whole heap holds still (debug builds). */
static void check_heap(void) {
  gh_mheap_check();
  for (uint32_t i = 0; i < GH_NUM_SPAN_CLASSES; i++) gh_mcentral_check(&gh_central[i]);
}

static void end_cycle(cycle_times *t, gh_mark_result *r, uint64_t allocated);

/* Steps 2-5 of the header comment; false if the world could not be stopped. */
static bool stopped_cycle(cycle_times *t, gh_mark_result *r) {
  if (!gh_world_stop()) return false;
  t->stopped = gh_os_nanotime();
  gh_world_each_thread(flush_cache, NULL);
  sweep_all(false, true); /* freed malloc'd blocks must not be scanned as roots */
  if (GH_DEBUG) check_heap(); /* the world is stopped: nothing is mid-update */
  gh_gc_mark(r);
  t->marked = gh_os_nanotime();
  end_cycle(t, r, 0);
  return true;
}

/* World stopped, the mark over: the heap's new size, the sweep, the goal;
 * `allocated`: bytes allocated (black) during a concurrent mark. */
static void end_cycle(cycle_times *t, gh_mark_result *r, uint64_t allocated) {
  gc.heap_marked = r->marked_bytes + r->manual_bytes + allocated;
  if (t->restarted) gc.pace.mark_ns = t->stopped2 - t->restarted, gc.pace.marked = gc.heap_marked;
  gh_atomic_store_relaxed(&gh_heap_live, gc.heap_marked);
  gh_atomic_store_release(&gh_heap.xsweepgen, gh_heap.xsweepgen + 2);
  gh_gc_set_goal();
  t->end = gh_os_nanotime();
  if (!t->restarted) t->restarted = t->stopped2 = t->end;
  gc.pace.end_ns = t->end;
  record(t, r);
  gh_world_start();
}

/* The same with the mark between two short stops (GOHEAP_GC_MODE=concurrent,
 * mgcmark.c's concurrent mark). Termination must happen once the mark has
 * begun (objects are allocated black), so its stop is retried until it works. */
static bool concurrent_cycle(cycle_times *t, gh_mark_result *r) {
  sweep_all(false, true); /* the last cycle's sweep, world running: the start stop finds little left */
  gh_gc_mark_protect();
  t->start = gh_os_nanotime(); /* the pause starts here: the work above ran beside the program */
  if (!gh_world_stop()) return false;
  t->stopped = gh_os_nanotime();
  gh_world_each_thread(flush_cache, NULL);
  sweep_all(false, true);
  if (GH_DEBUG) check_heap();
  gh_gc_mark_start();
  uint64_t live_start = gh_atomic_load_relaxed(&gh_heap_live);
  t->restarted = gh_os_nanotime();
  gh_world_start();
  gh_gc_mark_concurrent();
  while (!gh_world_stop()) { /* reported by world.c */
  }
  t->stopped2 = gh_os_nanotime();
  gh_world_each_thread(flush_cache, NULL);
  /* Frees during the mark queued spans on the unswept lists, which the
   * sweepgen flip is about to make the swept ones: sweep them first. */
  sweep_all(false, true);
  gh_gc_mark_terminate(r);
  t->marked = gh_os_nanotime();
  uint64_t live_end = gh_atomic_load_relaxed(&gh_heap_live);
  end_cycle(t, r, live_end > live_start ? live_end - live_start : 0);
  gh_barrier_unprotect();
  return true;
}

/* Keeps the memory mapped under the limit after a cycle (Go: the scavenger's
 * memory-limit goal). */
static void scavenge_to_limit(void) {
  int64_t limit = effective_limit();
  if (limit == INT64_MAX) return;
  gh_mutex_lock(&gh_heap.lock);
  uint64_t mapped = (gh_heap.pages_committed - gh_heap.pages_released) << GH_PAGE_SHIFT;
  gh_mutex_unlock(&gh_heap.lock);
  mapped += gh_atomic_load_relaxed(&gh_metadata_bytes);
  if (mapped > (uint64_t)limit) gh_mheap_scavenge(mapped - (uint64_t)limit);
}

static void start_sweeper(void) {
  if (gc.sweeper_up) return;
  if (gh_os_thread_start(sweeper_main, NULL) == 0) gc.sweeper_up = 1;
}

/* Below the caller's frame, so below the registers its prologue saved. */
static GH_NOINLINE uintptr_t frame_below(void) { return (uintptr_t)__builtin_frame_address(0); }

static void install_signal(void) {
  if (gc.signal_installed) return;
  gh_world_install_signal();
  gc.signal_installed = true;
}

/*
 * For the tools that read the whole heap (the leak check, the heap dump):
 * runs fn with the world stopped between two collections. The previous
 * cycle's sweep is finished first, so every mark bit is zero (I7) and fn may
 * use them if it zeroes them again; no collection starts meanwhile (gc_lock).
 * prepare, if any, runs before the stop (gathering roots). The calling
 * thread's registers and stack are roots, as in gc_cycle. false if the world
 * could not be stopped (reported by world.c).
 */
GH_NOINLINE bool gh_gc_stop_and_run(void (*prepare)(void), void (*fn)(void *ctx), void *ctx) {
  __builtin_unwind_init();
  if (gh_register_thread() != 0) return false;
  gh_mutex_lock(&gc_lock);
  gh_tls_mcache->stop_sp = frame_below();
  install_signal();
  gh_gc_finish_sweep();
  if (prepare) prepare();
  bool stopped = gh_world_stop();
  if (stopped) {
    fn(ctx);
    gh_world_start();
  }
  gh_mutex_unlock(&gc_lock);
  return stopped;
}

/* The program's allocation rate since the last cycle ended (for the trigger). */
static void measure_alloc_rate(const cycle_times *t) {
  if (gc.pace.end_ns && t->start > gc.pace.end_ns && t->heap_before > gc.heap_marked)
    gc.pace.alloc_rate = (uint64_t)((double)(t->heap_before - gc.heap_marked) * 1e9 / (double)(t->start - gc.pace.end_ns));
}

/* Threads waiting at the goal for a cycle to end (background_cycle) look again. */
static void wake_goal_waiters(void) {
  gh_atomic_add_seq(&gc.xcycle_seq, 1);
  gh_os_futex_wake_all(&gc.xcycle_seq);
}

/* The collecting thread is a root like the others: its callee-saved
 * registers are spilled into this frame, which lives until the mark is
 * over, and its stack is scanned from below it (mgcmark.c:setup_jobs). */
static GH_NOINLINE void gc_cycle(bool forced) {
  __builtin_unwind_init();
  if (gh_register_thread() != 0) return;
  gh_mutex_lock(&gc_lock);
  gh_tls_mcache->stop_sp = frame_below(); /* after any park while waiting for the lock */
  if (!forced && gh_atomic_load_relaxed(&gh_heap_live) < gh_atomic_load_relaxed(&gc.xtrigger)) {
    gh_mutex_unlock(&gc_lock); /* another thread collected meanwhile */
    wake_goal_waiters();
    return;
  }
  install_signal();
  start_sweeper();
  gh_gc_prepare_mark();
  cycle_times t = {.start = gh_os_nanotime(), .heap_before = gh_atomic_load_relaxed(&gh_heap_live)};
  measure_alloc_rate(&t);
  gh_mark_result r = {.forced = forced};
  bool done = gh_barrier_on() ? concurrent_cycle(&t, &r) : stopped_cycle(&t, &r);
  if (!done) /* reported by world.c; try again when the heap has grown by half */
    gh_atomic_store_relaxed(&gc.xtrigger, t.heap_before + t.heap_before / 2 + HEAP_MINIMUM);
  if (done && gh_option_get(GH_OPT_GCTRACE)) gctrace(&t, &r); /* under the lock: lines in cycle order */
  gh_mutex_unlock(&gc_lock);
  wake_goal_waiters();
  if (!done) return;
  gh_atomic_add_seq(&gc.xsweep_seq, 1);
  gh_os_futex_wake_all(&gc.xsweep_seq);
  gh_finq_wake();
  scavenge_to_limit();
}

/* ---- the background collector (concurrent mode) ----------------------------------------
 * Go starts a cycle from the allocating goroutine and marks on background
 * workers; here a collector thread runs the whole cycle, so the thread whose
 * allocation crossed the trigger goes on allocating (a single-threaded
 * program keeps running during the mark). A thread that reaches the goal
 * before the cycle ends waits for it (Go would make it assist). */

static void *collector_main(void *arg) {
  (void)arg;
  gh_os_thread_unblock_signals();
  if (gh_register_thread() != 0) {
    gh_atomic_store_seq(&gc.xcollector_up, 0);
    return NULL;
  }
  for (;;) {
    uint32_t seq = gh_atomic_load_seq(&gc.xrequest_seq);
    if (gh_atomic_exchange_seq(&gc.xrequested, 0)) {
      gc_cycle(false);
      continue;
    }
    gh_world_blocking_wait(&gc.xrequest_seq, seq);
  }
  return NULL;
}

/* Asks the collector for a cycle; false if it cannot run (no thread). */
static bool request_cycle(void) {
  if (!gh_atomic_load_seq(&gc.xcollector_up) && !gh_atomic_exchange_seq(&gc.xcollector_up, 1) &&
      gh_os_thread_start(collector_main, NULL) != 0) {
    gh_atomic_store_seq(&gc.xcollector_up, 0);
    return false;
  }
  if (!gh_atomic_exchange_seq(&gc.xrequested, 1)) {
    gh_atomic_add_seq(&gc.xrequest_seq, 1);
    gh_os_futex_wake_all(&gc.xrequest_seq);
  }
  return true;
}

/* The precleaning asked allocating threads to wait (mgcmark.c:gh_gc_alloc_wait). */
static void wait_for_cycle(void) {
  gh_mcache *c = gh_tls_mcache;
  if (c && c->unsafe) return;
  uint32_t seq = gh_atomic_load_seq(&gc.xcycle_seq);
  if (gh_atomic_load_seq(&gh_gc_alloc_wait)) gh_world_blocking_wait(&gc.xcycle_seq, seq);
}

/* Concurrent mode, past the trigger: wake the collector; past the goal,
 * also wait for the cycle under way to end. */
static void background_cycle(uint64_t live) {
  uint32_t seq = gh_atomic_load_seq(&gc.xcycle_seq);
  if (!gh_atomic_load_relaxed(&gh_gc_marking) && !request_cycle()) {
    gc_cycle(false);
    return;
  }
  if (live >= gh_atomic_load_relaxed(&gc.xgoal)) gh_world_blocking_wait(&gc.xcycle_seq, seq);
}

/* Go: mallocgc's "if shouldhelpgc { gcStart }". From allocation slow paths. */
void gh_gc_maybe_start(void) {
  uint64_t live = gh_atomic_load_relaxed(&gh_heap_live);
  if (gh_unlikely(gh_atomic_load_relaxed(&gh_gc_alloc_wait))) {
    wait_for_cycle();
    return;
  }
  if (gh_likely(live < gh_atomic_load_relaxed(&gc.xtrigger))) return;
  gh_mcache *c = gh_tls_mcache;
  if (c && c->unsafe) return; /* inside another slow path: the next allocation will */
  if (gh_barrier_on()) background_cycle(live);
  else gc_cycle(false);
}

/* ---- the API ----------------------------------------------------------------------------- */

void gh_collect(void) {
  gh_ensure_init();
  gc_cycle(true);
  sweep_all(false, false); /* Go: runtime.GC sweeps everything before returning */
}

/* gc_lock first, then gh_enter: a thread waiting for a collection to end
 * must be stoppable, and no collection starts while the lock is held. */
int gh_set_gc_percent(int percent) {
  gh_ensure_init();
  gh_mutex_lock(&gc_lock);
  gh_mcache *c = gh_enter();
  int old = (int)gc.xgc_percent;
  gh_atomic_store_relaxed(&gc.xgc_percent, percent < 0 ? -1 : percent);
  gh_gc_set_goal();
  gh_leave(c);
  gh_mutex_unlock(&gc_lock);
  return old;
}

int64_t gh_set_memory_limit(int64_t bytes) {
  gh_ensure_init();
  gh_mutex_lock(&gc_lock);
  gh_mcache *c = gh_enter();
  int64_t old = gc.xmem_limit;
  if (bytes >= 0) {
    gh_atomic_store_relaxed(&gc.xmem_limit, bytes);
    gh_gc_set_goal();
  }
  gh_leave(c);
  gh_mutex_unlock(&gc_lock);
  return old;
}

int gh_gc_mode(void) {
  gh_ensure_init();
  return gh_barrier_manual() ? GH_GC_MANUAL : gh_barrier_on() ? GH_GC_CONCURRENT : GH_GC_STW;
}

int gh_register_thread(void) {
  return gh_mcache_get_slow() ? 0 : ENOMEM;
}

void gh_gc_fill_stats(gh_stats *st) {
  st->num_gc = gh_atomic_load_relaxed(&gc.num_gc);
  st->next_gc = gc.next_gc == UINT64_MAX ? 0 : gc.next_gc;
  st->pause_total_ns = gc.pause_total_ns;
  __builtin_memcpy(st->pause_ns, gc.pause_ns, sizeof st->pause_ns);
  st->heap_marked = gc.heap_marked;
  st->num_forced_gc = gc.num_forced;
  st->last_gc_ns = gc.last_gc_ns;
  st->memory_limit = effective_limit();
  st->gc_percent = gh_atomic_load_relaxed(&gc.xgc_percent);
  st->finalizers_run = gh_atomic_load_relaxed(&gh_finalizers_run);
  st->gc_cpu_ns = gc.cpu_ns;
}

/* ---- fork: no collection runs across it --------------------------------------------------- */

void gh_gc_fork_prepare(void) { gh_mutex_lock(&gc_lock); }
void gh_gc_fork_prepare_leaves(void) {
  gh_finq_fork_prepare();
  gh_gc_mark_fork_prepare();
  gh_weak_fork_prepare();
}
void gh_gc_fork_parent_leaves(void) {
  gh_weak_fork_parent();
  gh_gc_mark_fork_parent();
  gh_finq_fork_parent();
}
void gh_gc_fork_parent(void) { gh_mutex_unlock(&gc_lock); }
void gh_gc_fork_child(void) {
  gh_mutex_reinit(&gc_lock);
  gc.sweeper_up = 0; /* threads do not survive fork: started again when needed */
  gc.xcollector_up = gc.xrequested = 0;
  gh_gc_mark_fork_child();
  gh_weak_fork_child();
  gh_finq_fork_child();
}
