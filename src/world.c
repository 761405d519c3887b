/*
 * world.c -- threads: the registry of mcaches, thread exit, fork, and
 * stopping the world for the collector. (Go: proc.go's allp, mexit,
 * stopTheWorld, and preempt.go's safe points; bdwgc: pthread_stop_world.c.)
 *
 * A thread is registered before its start routine runs: goheap interposes
 * pthread_create (override.c -> gh_world_create_thread), and the new thread
 * registers first thing; until it has, the argument it was given is a root
 * (a start record on the `starting` list). Threads created otherwise (the
 * main thread, clone) register when they first allocate or call
 * gh_register_thread. A pthread key destructor returns the thread's spans when it exits; if the
 * thread allocates again in a later destructor, it gets a new mcache and the
 * key is set again (glibc runs destructors up to 4 rounds).
 *
 * fork(): the prepare handler takes every global goheap lock in rank order
 * (gc, world, each mcentral, heap, the collector's leaf locks, persistent;
 * internal.h) so no lock is held mid-update across the fork; the
 * parent releases them; the child re-initialises them and releases the
 * mcaches of the threads that did not survive the fork, so their spans are
 * usable again.
 *
 * Stopping the world. The collector makes gh_stw_epoch odd and sends the stop
 * signal (GOHEAP_STOP_SIGNAL, default SIGRTMIN+7) to every registered thread.
 * A thread stops only at a safe point, where its mcache and the allocator's
 * shared state are consistent and it holds no goheap lock:
 *   - the signal handler parks the thread unless it interrupted a slow path
 *     (mcache.unsafe > 0: gh_enter/gh_leave bracket every slow path) or a
 *     fast path (its pc inside the gh_fast section, malloc.c);
 *   - a slow path that ends while a stop is pending parks its thread itself
 *     (gh_leave -> gh_world_safepoint), and the collector re-sends the signal
 *     every 200 us to threads it interrupted in a fast path.
 * A parked thread has saved its stack pointer and registers (the signal frame
 * on its stack holds them too) and waits on a futex for the epoch to become
 * even again. Threads that register while the world is stopped wait before
 * they join the registry; threads that exit leave it under world_lock, which
 * the collector takes only briefly while it polls; one that ended without
 * leaving (the signal finds no such thread) is reclaimed then (reap). A
 * thread that has not stopped after GOHEAP_STOP_TIMEOUT_MS (it blocks the
 * signal, or is stuck in a signal handler) is reported by name and the cycle
 * is cancelled: the others restart; nothing is collected.
 *
 * Blocked threads (Go: a P in _Psyscall). goheap's own idle threads (the
 * background sweeper, the finalizer thread) wait in gh_world_blocking_wait,
 * at a safe point with their stack pointer saved and xblocked = 1. The
 * collector claims such a thread (CAS 1 -> 2) and counts it as stopped
 * without a signal; before restarting the world it sets it back to 1. A
 * thread that wakes up takes itself back (CAS 1 -> 0) and, if it was
 * claimed, first waits for the world to restart.
 *
 * Lock: world_lock protects the registry; it ranks above the mcentral locks.
 */
#include <errno.h>

#include "internal.h"

static GH_DATA gh_mutex world_lock = GH_MUTEX_INIT(GH_RANK_WORLD);
static GH_DATA gh_mcache *all_mcaches;
static GH_DATA uint64_t nthreads;
GH_DATA uint32_t gh_stw_epoch;       /* odd: the world is stopping or stopped */
static GH_DATA uint32_t xparked;     /* futex: threads parked in this epoch */
static GH_DATA int stop_signal;

/* A thread being created: its argument is a root until it has registered. */
typedef struct gh_thread_start {
  void *(*fn)(void *);
  void *arg;
  struct gh_thread_start *next, *prev; /* the `starting` list (world_lock) */
} gh_thread_start;
static GH_DATA gh_thread_start *starting;
static GH_DATA gh_fixalloc start_alloc; /* world_lock */

/* Gives back the spans of a thread that is going or gone, then its mcache. */
static void retire(gh_mcache *c) {
  gh_mcache_release_all(c);
  gh_world_unregister(c);
}

static void thread_exit(void *arg) {
  gh_mcache *c = arg;
  if (gh_tls_mcache == c) gh_tls_mcache = NULL;
  c->unsafe++; /* from here on not a safe point; it leaves the registry below */
  retire(c);
}

void gh_unregister_thread(void) {
  gh_mcache *c = gh_tls_mcache;
  if (!c) return;
  gh_os_thread_key_set(NULL);
  thread_exit(c);
}

void gh_world_init(void) {
  if (gh_os_thread_key_create(thread_exit) != 0) gh_throw("cannot create the thread-exit key");
}

void gh_world_register(gh_mcache *c) {
  gh_mutex_lock(&world_lock);
  uint32_t e;
  while ((e = gh_atomic_load_acquire(&gh_stw_epoch)) & 1) { /* join after the collection */
    gh_mutex_unlock(&world_lock);
    gh_os_futex_wait(&gh_stw_epoch, e);
    gh_mutex_lock(&world_lock);
  }
  c->xstop_epoch = e;
  c->all_prev = NULL;
  c->all_next = all_mcaches;
  if (all_mcaches) all_mcaches->all_prev = c;
  all_mcaches = c;
  nthreads++;
  gh_mutex_unlock(&world_lock);
}

static void unlink_locked(gh_mcache *c) {
  gh_assert_held(&world_lock);
  if (c->all_prev) c->all_prev->all_next = c->all_next;
  else all_mcaches = c->all_next;
  if (c->all_next) c->all_next->all_prev = c->all_prev;
  nthreads--;
}

void gh_world_unregister(gh_mcache *c) {
  gh_mutex_lock(&world_lock);
  unlink_locked(c);
  gh_stats_flush_local(c->local_stats); /* under the lock: no sum sees it twice or never */
  gh_mutex_unlock(&world_lock);
  gh_mheap_free_mcache(c);
}

uint64_t gh_world_num_threads(void) { return gh_atomic_load_relaxed(&nthreads); }

void gh_world_sum_local_stats(gh_class_stats *sum) {
  gh_mutex_lock(&world_lock);
  for (gh_mcache *c = all_mcaches; c; c = c->all_next) gh_stats_add_local(sum, c->local_stats);
  gh_mutex_unlock(&world_lock);
}

/* ---- threads the program creates -------------------------------------------- */

static gh_thread_start *start_new(void *(*fn)(void *), void *arg) {
  gh_mutex_lock(&world_lock);
  if (!start_alloc.size) gh_fixalloc_init(&start_alloc, sizeof(gh_thread_start));
  gh_thread_start *st = gh_fixalloc_alloc(&start_alloc);
  if (st) {
    *st = (gh_thread_start){.fn = fn, .arg = arg, .next = starting};
    if (starting) starting->prev = st;
    starting = st;
  }
  gh_mutex_unlock(&world_lock);
  return st;
}

static void start_free(gh_thread_start *st) {
  gh_mutex_lock(&world_lock);
  if (st->prev) st->prev->next = st->next;
  else starting = st->next;
  if (st->next) st->next->prev = st->prev;
  gh_fixalloc_free(&start_alloc, st);
  gh_mutex_unlock(&world_lock);
}

/* The new thread: registered before the program's code runs, then the start
 * record goes (fn and arg are in this frame and registers by then). */
static void *thread_main(void *p) {
  gh_thread_start *st = p;
  gh_register_thread(); /* ENOMEM: the thread runs unregistered, as before */
  void *(*fn)(void *) = st->fn, *arg = st->arg;
  gh_mcache *c = gh_enter();
  start_free(st);
  gh_leave(c);
  return fn(arg);
}

int gh_world_create_thread(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg) {
  gh_mcache *c = gh_enter_mcache(); /* the creator is registered too: it edits `starting` */
  gh_thread_start *st = start_new(fn, arg);
  gh_leave(c);
  if (!st) return EAGAIN;
  int rc = gh_os_thread_create(t, attr, thread_main, st);
  if (rc != 0) {
    c = gh_enter();
    start_free(st);
    gh_leave(c);
  }
  return rc;
}

void gh_world_scan_starting(void (*scan)(uintptr_t lo, uintptr_t hi, void *ctx), void *ctx) {
  gh_mutex_lock(&world_lock);
  for (gh_thread_start *st = starting; st; st = st->next) scan((uintptr_t)&st->arg, (uintptr_t)(&st->arg + 1), ctx);
  gh_mutex_unlock(&world_lock);
}

/* ---- stopping the world ---------------------------------------------------- */

/* The fast paths (malloc.c), bounds made by the linker; not exported. */
extern char __start_gh_fast[] __attribute__((visibility("hidden")));
extern char __stop_gh_fast[] __attribute__((visibility("hidden")));

static bool in_fast_path(uintptr_t pc) {
  return pc >= (uintptr_t)__start_gh_fast && pc < (uintptr_t)__stop_gh_fast;
}

static GH_NOINLINE void park_here(gh_mcache *c, uint32_t epoch) {
  gh_assert_no_locks();
  volatile uintptr_t anchor = 0; /* below every frame of this thread worth scanning */
  c->stop_sp = (uintptr_t)&anchor;
  if (!c->stack_hi || c->stop_sp >= c->stack_hi) c->stack_hi = gh_os_stack_top(c->stop_sp);
  gh_atomic_store_release(&c->xstop_epoch, epoch);
  gh_atomic_add_seq(&xparked, 1);
  gh_os_futex_wake_all(&xparked);
  while (gh_atomic_load_acquire(&gh_stw_epoch) == epoch) gh_os_futex_wait(&gh_stw_epoch, epoch);
}

/* Saves what the collector scans, then waits for the world to restart. */
static GH_NOINLINE void park(gh_mcache *c, uint32_t epoch, const void *ucontext) {
  __builtin_unwind_init(); /* callee-saved registers onto this frame: park_here is below it */
  if (ucontext) gh_os_context_regs(ucontext, c->stop_regs, 32);
  else __builtin_memset(c->stop_regs, 0, sizeof c->stop_regs); /* in this frame: stale ones would be roots */
  park_here(c, epoch);
  __asm__ __volatile__("" ::: "memory"); /* not a tail call: this frame, with the registers, stays */
}

static bool should_park(gh_mcache *c, uint32_t epoch) {
  return c && (epoch & 1) && gh_atomic_load_relaxed(&c->xstop_epoch) != epoch && c->unsafe == 0;
}

static void stop_handler(int sig, void *ucontext) {
  (void)sig;
  int saved = gh_os_get_errno();
  gh_mcache *c = gh_tls_mcache;
  uint32_t epoch = gh_atomic_load_acquire(&gh_stw_epoch);
  if (should_park(c, epoch) && !in_fast_path(gh_os_context_pc(ucontext))) park(c, epoch, ucontext);
  gh_os_set_errno(saved);
}

void gh_world_safepoint(gh_mcache *c) {
  uint32_t epoch = gh_atomic_load_acquire(&gh_stw_epoch);
  if (should_park(c, epoch)) park(c, epoch, NULL);
}

/* Takes a blocked thread back; if a collection counted it as stopped, first
 * waits for the world to restart. */
static void unblock(gh_mcache *c) {
  for (;;) {
    uint32_t epoch = gh_atomic_load_acquire(&gh_stw_epoch);
    if (gh_atomic_cas(&c->xblocked, 1, 0)) return;
    gh_os_futex_wait(&gh_stw_epoch, epoch);
  }
}

static GH_NOINLINE void block_and_wait(gh_mcache *c, uint32_t *addr, uint32_t val) {
  gh_assert_no_locks();
  volatile uintptr_t anchor = 0; /* below the caller's frame, which holds its registers */
  c->stop_sp = (uintptr_t)&anchor;
  if (!c->stack_hi || c->stop_sp >= c->stack_hi) c->stack_hi = gh_os_stack_top(c->stop_sp);
  for (int i = 0; i < 32; i++) c->stop_regs[i] = 0; /* the registers are in the caller's frame */
  gh_atomic_store_seq(&c->xblocked, 1);
  gh_os_futex_wait(addr, val);
  unblock(c);
}

GH_NOINLINE void gh_world_blocking_wait(uint32_t *addr, uint32_t val) {
  gh_mcache *c = gh_tls_mcache;
  if (!c || c->unsafe) {
    gh_os_futex_wait(addr, val);
    return;
  }
  __builtin_unwind_init(); /* callee-saved registers onto this frame: block_and_wait is below it */
  block_and_wait(c, addr, val);
  __asm__ __volatile__("" ::: "memory"); /* not a tail call: this frame stays */
}

/* The stop signal, installed or not (options read first if need be). */
int gh_world_stop_signal(void) {
  if (stop_signal > 0) return stop_signal;
  gh_options_init();
  int sig = (int)gh_option_get(GH_OPT_STOP_SIGNAL);
  return sig > 0 ? sig : gh_os_default_stop_signal();
}

void gh_world_install_signal(void) {
  stop_signal = gh_world_stop_signal();
  if (gh_os_signal_install(stop_signal, stop_handler) != 0) gh_throw2("cannot install the stop signal", "signal", (uint64_t)stop_signal);
}

/* The mcaches of registered threads that have exited. A thread can end
 * registered: glibc frees other threads' cached stacks after the key
 * destructors have run, with every signal blocked, and that free registers
 * it again (threadkey_test); threads made with a raw clone(2) never run the
 * key destructor. At a safe point (unsafe == 0) such a thread left its mcache
 * consistent and holds no lock, so the collector gives its spans back as the
 * thread would have. (Its thread id could be reused by a new thread before
 * the signal finds it gone: that thread ignores the signal or stops for its
 * own mcache, and this one is reported as not stopping, as before.) */
#define GH_REAP_MAX 16
typedef struct reaped {
  uint32_t n;
  gh_mcache *c[GH_REAP_MAX];
} reaped;

static void reap(reaped *r) {
  for (uint32_t i = 0; i < r->n; i++) retire(r->c[i]);
}

/* One poll: signals the threads not parked yet (if `resend`); returns how
 * many; gathers the exited ones into `r` (still registered: see reap). */
static uint32_t poll_threads(uint32_t epoch, bool resend, reaped *r) {
  uint32_t pending = 0;
  gh_mutex_lock(&world_lock);
  for (gh_mcache *c = all_mcaches; c; c = c->all_next) {
    if (gh_atomic_load_acquire(&c->xstop_epoch) == epoch) continue;
    if (gh_atomic_cas(&c->xblocked, 1, 2)) { /* blocked at a safe point: stopped as it is */
      gh_atomic_store_release(&c->xstop_epoch, epoch);
      continue;
    }
    pending++;
    if (resend && gh_os_signal_thread(c->thread_id, stop_signal) != 0 && c->unsafe == 0 && r->n < GH_REAP_MAX)
      r->c[r->n++] = c;
  }
  gh_mutex_unlock(&world_lock);
  return pending;
}

static void report_stuck(uint32_t epoch) {
  gh_mutex_lock(&world_lock);
  for (gh_mcache *c = all_mcaches; c; c = c->all_next) {
    if (gh_atomic_load_acquire(&c->xstop_epoch) == epoch) continue;
    char name[64], msg[300];
    gh_os_thread_name(c->thread_id, name, sizeof name);
    int blocked = gh_os_thread_blocks_signal(c->thread_id, stop_signal);
    gh_buf b = {msg, msg + sizeof msg - 1};
    gh_buf_str(&b, "goheap: collection cancelled: thread ");
    gh_buf_u64(&b, c->thread_id);
    gh_buf_str(&b, " (\"");
    gh_buf_str(&b, name);
    gh_buf_str(&b, "\") did not stop within ");
    gh_buf_u64(&b, (uint64_t)gh_option_get(GH_OPT_STOP_TIMEOUT_MS));
    gh_buf_str(&b, " ms");
    gh_buf_str(&b, blocked == 1 ? ": it blocks the stop signal " : "; stop signal ");
    gh_buf_u64(&b, (uint64_t)stop_signal);
    gh_buf_str(&b, " (GOHEAP_STOP_SIGNAL)\n");
    gh_os_write_stderr(msg, (size_t)(b.p - msg));
  }
  gh_mutex_unlock(&world_lock);
}

/* Stops every registered thread but the caller (which must be registered). */
bool gh_world_stop(void) {
  gh_mcache *self = gh_tls_mcache;
  gh_mutex_lock(&world_lock);
  uint32_t epoch = gh_stw_epoch + 1;
  self->xstop_epoch = epoch; /* the collector counts as stopped */
  gh_atomic_store_release(&xparked, 0);
  gh_atomic_store_release(&gh_stw_epoch, epoch);
  gh_mutex_unlock(&world_lock);
  uint64_t start = gh_os_nanotime(), last_send = start;
  uint64_t timeout = (uint64_t)gh_option_get(GH_OPT_STOP_TIMEOUT_MS) * 1000000u;
  bool resend = true;
  for (uint32_t round = 0;; round++) {
    uint32_t seen = gh_atomic_load_acquire(&xparked);
    reaped r = {0};
    uint32_t pending = poll_threads(epoch, resend, &r);
    reap(&r);
    if (pending == r.n) return true;
    if (r.n) continue; /* look again at once */
    uint64_t now = gh_os_nanotime();
    if (resend) last_send = now;
    if (now - start > timeout) break;
    if (round < 16) gh_os_yield();
    else gh_os_futex_wait_ns(&xparked, seen, 50000);
    resend = gh_os_nanotime() - last_send > 200000;
  }
  report_stuck(epoch);
  gh_world_start();
  return false;
}

void gh_world_start(void) {
  gh_mutex_lock(&world_lock);
  for (gh_mcache *c = all_mcaches; c; c = c->all_next) /* claimed blocked threads: blocked again */
    if (gh_atomic_load_relaxed(&c->xblocked) == 2) gh_atomic_store_release(&c->xblocked, 1);
  gh_mutex_unlock(&world_lock);
  gh_atomic_store_release(&gh_stw_epoch, gh_stw_epoch + 1);
  gh_os_futex_wake_all(&gh_stw_epoch);
}

void gh_world_each_thread(void (*fn)(gh_mcache *c, void *arg), void *arg) {
  for (gh_mcache *c = all_mcaches; c; c = c->all_next) fn(c, arg);
}

/* ---- fork ------------------------------------------------------------------ */

static void fork_prepare(void) {
  gh_gc_fork_prepare(); /* no collection runs across the fork */
  gh_mutex_lock(&world_lock);
  for (uint32_t i = 0; i < GH_NUM_SPAN_CLASSES; i++) gh_mutex_lock(&gh_central[i].lock);
  gh_mutex_lock(&gh_heap.lock);
  gh_gc_fork_prepare_leaves();
  gh_persistent_fork_prepare();
}

static void fork_parent(void) {
  gh_persistent_fork_parent();
  gh_gc_fork_parent_leaves();
  gh_mutex_unlock(&gh_heap.lock);
  for (uint32_t i = GH_NUM_SPAN_CLASSES; i-- > 0;) gh_mutex_unlock(&gh_central[i].lock);
  gh_mutex_unlock(&world_lock);
  gh_gc_fork_parent();
}

static void fork_child(void) {
  gh_mheap_fork_child_repair();
  gh_persistent_fork_child();
  gh_gc_fork_child();
  gh_mutex_reinit(&gh_heap.lock);
  for (uint32_t i = 0; i < GH_NUM_SPAN_CLASSES; i++) gh_mutex_reinit(&gh_central[i].lock);
  gh_mutex_reinit(&world_lock);
  gh_mcache *c = all_mcaches, *next;
  for (; c; c = next) { /* only the forking thread survives */
    next = c->all_next;
    if (c == gh_tls_mcache) continue;
    gh_mcache_recount_all(c); /* its thread may have died mid-update */
    retire(c);
  }
  gh_mcentral_adopt_limbo();
  gh_mheap_fork_child_recount();
  gh_scavenge_fork_child();
  gh_barrier_fork_child();
  while (starting) start_free(starting); /* threads that were being created are not in the child */
  if (gh_tls_mcache) gh_tls_mcache->thread_id = gh_os_thread_id();
}

void gh_world_init_fork(void) {
  gh_os_sigmask_init(); /* override.c's pthread_sigmask: never dlsym in a signal handler */
  if (gh_os_atfork(fork_prepare, fork_parent, fork_child) != 0) gh_throw("cannot register fork handlers");
}
