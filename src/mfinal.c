/*
 * mfinal.c -- specials: finalizers and heap-profile records attached to
 * objects, the finalizer queue and the finalizer thread. (Go: mheap.go's
 * specials, mfinal.go.)
 *
 * A special is a record on the span of its object, in a list sorted by
 * offset, then kind (Go: mspan.specials). Two kinds:
 *   - a finalizer (collected objects). A collection treats each one as a
 *     root for what its object references (not for the object itself:
 *     mgcmark.c), so everything a finalizable object points to stays alive.
 *     At the end of the mark, an object with a finalizer that was not marked
 *     is marked after all (kept one more cycle), its special is removed, and
 *     (fn, obj, arg) goes on the finalizer queue, itself a root. The
 *     finalizer thread runs each queued finalizer once; the object is freed
 *     by a later collection unless the finalizer made it reachable again. Two
 *     finalizable objects that reference each other keep each other alive
 *     forever (as in Go: documented).
 *   - a profile record (any object the heap profile sampled: mprof.c), which
 *     tells mprof.c when its object is freed (Go: specialprofile).
 * A sweep that frees an object drops its specials (gh_special_sweep), as
 * does the death of a large object (gh_special_drop_all).
 *
 * fork(): the queue is copied into the child, whose own finalizer thread runs
 * it. The entry the finalizer thread was running (finq_running, a root) may
 * be half done in the child, where that thread does not exist: its object and
 * argument stay allocated there for good (fork_kept, a root), because
 * running it again or freeing the object could act on half-updated state (a
 * client's table entry for the object, as in bdwgc/gc.c). Go has no fork;
 * bdwgc loses the finalizer the same way.
 *
 * Insertion: objects are mostly given specials in allocation order, which
 * rises within a span between two sweeps, so the search for the place of a
 * new special starts from the last one inserted (the cursor) when that lies
 * before it: filling a span costs O(n), not O(n^2) (Go walks from the head).
 *
 * gh_await_finalizers waits for the queue as it stood at the call to drain
 * (Java's System.runFinalization; bdwgc's GC_gcollect needs it: its
 * finalizers must be queued when it returns); it counts entries queued and
 * entries retired rather than waiting for a sentinel object, which a stale
 * pointer on the stack could keep alive.
 *
 * Locks: a span's speciallock protects its list; specials_lock protects the
 * fixalloc of records; finq_lock the queue. None is held across a call out.
 */
#include <errno.h>

#include "internal.h"

typedef enum { SPECIAL_FINALIZER, SPECIAL_PROFILE } special_kind;

typedef struct gh_special {
  struct gh_special *next; /* sorted by (offset, kind) */
  uint32_t offset;         /* byte offset of the object in the span */
  uint8_t kind;            /* special_kind */
  union {
    struct {               /* SPECIAL_FINALIZER */
      void (*fn)(void *obj, void *arg);
      void *arg;
    };
    struct {               /* SPECIAL_PROFILE */
      struct gh_bucket *bucket;
      uint64_t size;       /* the bytes requested */
    };
  };
} gh_special;

typedef struct gh_finalizer {
  void (*fn)(void *obj, void *arg);
  void *obj, *arg;
} gh_finalizer;

static GH_DATA gh_mutex specials_lock = GH_MUTEX_INIT(GH_RANK_SPECIALS);
static GH_DATA gh_fixalloc special_alloc;
static GH_DATA bool special_alloc_ready;

/* The finalizer queue: entries [head, tail) of a ring of cap slots. */
static GH_DATA gh_mutex finq_lock = GH_MUTEX_INIT(GH_RANK_FINQ);
static GH_DATA gh_finalizer *finq;
static GH_DATA size_t finq_head, finq_tail, finq_cap;
static GH_DATA uint32_t finq_seq;       /* futex word: bumped when entries are added */
static GH_DATA uint32_t finq_thread_up; /* 1 once the finalizer thread was started (0 again in a fork child) */
static GH_DATA gh_finalizer finq_running; /* popped, its fn not returned yet (finq_lock); fn NULL: none */
static GH_DATA gh_finalizer *fork_kept;   /* running entries of threads lost in a fork (finq_lock) */
static GH_DATA uint32_t nfork_kept, fork_kept_cap;
GH_DATA uint64_t gh_finalizers_run;
/* gh_await_finalizers: entries ever queued (finq_lock), and entries retired:
 * returned from, or lost with the thread that ran them in a fork. A waiter
 * counts itself in xretire_waiters before it reads xretired, and the
 * finalizer thread adds to xretired before it reads xretire_waiters (both
 * seq_cst), so one of the two sees the other: no lost wakeup. */
static GH_DATA uint64_t finq_pushed;
static GH_DATA uint64_t xretired;
static GH_DATA uint32_t xretire_seq, xretire_waiters; /* futex; waiters in gh_await_finalizers */
static __thread bool on_finalizer_thread __attribute__((tls_model("initial-exec")));

static gh_special *special_new(void) {
  gh_mutex_lock(&specials_lock);
  if (!special_alloc_ready) {
    gh_fixalloc_init(&special_alloc, sizeof(gh_special));
    special_alloc_ready = true;
  }
  gh_special *sp = gh_fixalloc_alloc(&special_alloc);
  gh_mutex_unlock(&specials_lock);
  return sp;
}

static void special_free(gh_special *sp) {
  gh_mutex_lock(&specials_lock);
  gh_fixalloc_free(&special_alloc, sp);
  gh_mutex_unlock(&specials_lock);
}

static bool before(const gh_special *sp, uint32_t offset, uint8_t kind) {
  return sp->offset < offset || (sp->offset == offset && sp->kind < kind);
}

/* The link where a special (offset, kind) is or would go (speciallock held). */
static gh_special **find_link(gh_mspan *s, uint32_t offset, uint8_t kind) {
  gh_special **link = &s->specials;
  if (s->specials_cursor && before(s->specials_cursor, offset, kind)) link = &s->specials_cursor->next;
  while (*link && before(*link, offset, kind)) link = &(*link)->next;
  return link;
}

/* Every link (s->specials or a record's next) is written with a release
 * store: gh_span_has_specials reads the head without the lock. */
static void set_link(gh_special **link, gh_special *v) { gh_atomic_store_release(link, v); }

/* Unlinks *link (speciallock held). */
static gh_special *unlink_special(gh_mspan *s, gh_special **link) {
  gh_special *sp = *link;
  set_link(link, sp->next);
  s->specials_cursor = NULL; /* it may have been sp */
  return sp;
}

/* Adds, replaces (fn != NULL) or removes (fn == NULL) the finalizer at offset.
 * false if out of memory. */
static bool set_finalizer(gh_mspan *s, uint32_t offset, void (*fn)(void *, void *), void *arg) {
  gh_special *fresh = fn ? special_new() : NULL, *old = NULL;
  if (fn && !fresh) return false;
  gh_mutex_lock(&s->speciallock);
  gh_special **link = find_link(s, offset, SPECIAL_FINALIZER);
  bool found = *link && (*link)->offset == offset && (*link)->kind == SPECIAL_FINALIZER;
  if (found && fn) { /* replace: bdwgc's behaviour (Go panics instead) */
    (*link)->fn = fn;
    (*link)->arg = arg;
  } else if (found) {
    old = unlink_special(s, link);
  } else if (fn) {
    *fresh = (gh_special){.next = *link, .offset = offset, .kind = SPECIAL_FINALIZER, .fn = fn, .arg = arg};
    set_link(link, s->specials_cursor = fresh);
    fresh = NULL;
  }
  gh_mutex_unlock(&s->speciallock);
  if (fresh) special_free(fresh);
  if (old) special_free(old);
  return true;
}

/* Records that the object at p in s was sampled by the heap profile
 * (mprof.c); false if out of memory. */
bool gh_special_add_profile(gh_mspan *s, uintptr_t p, struct gh_bucket *b, uint64_t size) {
  gh_special *sp = special_new();
  if (!sp) return false;
  uint32_t offset = (uint32_t)(p - s->start_addr);
  gh_mutex_lock(&s->speciallock);
  gh_special **link = find_link(s, offset, SPECIAL_PROFILE);
  *sp = (gh_special){.next = *link, .offset = offset, .kind = SPECIAL_PROFILE, .bucket = b, .size = size};
  set_link(link, s->specials_cursor = sp);
  gh_mutex_unlock(&s->speciallock);
  return true;
}

/* Removes the profile record of the object at p, if any, returning its
 * bucket and size; false if it has none. */
bool gh_special_take_profile(gh_mspan *s, uintptr_t p, struct gh_bucket **b, uint64_t *size) {
  uint32_t offset = (uint32_t)(p - s->start_addr);
  gh_special *sp = NULL;
  gh_mutex_lock(&s->speciallock);
  gh_special **link = find_link(s, offset, SPECIAL_PROFILE);
  if (*link && (*link)->offset == offset && (*link)->kind == SPECIAL_PROFILE) sp = unlink_special(s, link);
  gh_mutex_unlock(&s->speciallock);
  if (!sp) return false;
  *b = sp->bucket;
  *size = sp->size;
  special_free(sp);
  return true;
}

/* The object at p was resized in place: its profile record, if any, takes
 * the new size; returns its bucket and old size. */
bool gh_special_resize_profile(gh_mspan *s, uintptr_t p, uint64_t size, struct gh_bucket **b, uint64_t *old) {
  uint32_t offset = (uint32_t)(p - s->start_addr);
  bool found = false;
  gh_mutex_lock(&s->speciallock);
  gh_special *sp = *find_link(s, offset, SPECIAL_PROFILE);
  if (sp && sp->offset == offset && sp->kind == SPECIAL_PROFILE) {
    *b = sp->bucket;
    *old = sp->size;
    sp->size = size;
    found = true;
  }
  gh_mutex_unlock(&s->speciallock);
  return found;
}

/* Calls fn for each profile record of s, in address order (world stopped). */
void gh_special_each_profile(const gh_mspan *s, void (*fn)(uintptr_t p, struct gh_bucket *b, uint64_t size, void *arg),
                             void *arg) {
  for (gh_special *sp = s->specials; sp; sp = sp->next)
    if (sp->kind == SPECIAL_PROFILE) fn(s->start_addr + sp->offset, sp->bucket, sp->size, arg);
}

/* A special whose object is gone: a profile record reports the free. */
static void special_release(gh_special *sp) {
  if (sp->kind == SPECIAL_PROFILE) gh_mprof_free(sp->bucket, sp->size);
  special_free(sp);
}

static void *finalizer_thread(void *arg);

static void start_finalizer_thread(void) {
  if (gh_atomic_load_acquire(&finq_thread_up)) return;
  if (!gh_atomic_cas(&finq_thread_up, 0, 1)) return;
  if (gh_os_thread_start(finalizer_thread, NULL) != 0) {
    gh_atomic_store_release(&finq_thread_up, 0);
    gh_os_write_stderr("goheap: warning: cannot start the finalizer thread\n", 51);
  }
}

void gh_set_finalizer(void *obj, void (*fn)(void *obj, void *arg), void *arg) {
  uintptr_t p = (uintptr_t)obj;
  gh_mcache *c = gh_enter_mcache();
  gh_mspan *s = gh_span_of(p);
  bool live = s && p < s->limit && gh_base(obj) != NULL;
  bool tiny = s && s->spanclass == GH_TINY_SPANCLASS;
  if (!live) {
    bool ours = s || gh_mheap_page_is_free(p); /* a freed object: reported like a bad free */
    gh_report_bad_pointer("gh_set_finalizer", p, ours ? GH_BAD_DOUBLE_FREE : GH_BAD_FOREIGN, s, 0);
  } else if (!gh_spanclass_collected(s->spanclass)) {
    gh_report_bad_pointer("gh_set_finalizer", p, GH_BAD_NOT_COLLECTED, s, 0);
  } else if (gh_base(obj) != obj && !tiny) { /* tiny objects share a block: any offset */
    gh_report_bad_pointer("gh_set_finalizer", p, GH_BAD_INTERIOR, s, 0);
  } else if (!set_finalizer(s, (uint32_t)(p - s->start_addr), fn, arg)) {
    gh_os_write_stderr("goheap: gh_set_finalizer: out of memory\n", 40);
  }
  gh_leave(c);
  if (fn) start_finalizer_thread();
}

/* ---- the collector's side (world stopped, or the span's sweeper) ---------------- */

void gh_special_scan_roots(gh_mspan *s, void (*scan)(uintptr_t lo, uintptr_t hi, void *ctx), void *ctx) {
  bool noscan = gh_spanclass_noscan(s->spanclass);
  for (gh_special *sp = s->specials; sp; sp = sp->next) {
    if (sp->kind != SPECIAL_FINALIZER) continue;
    uintptr_t p = s->start_addr + sp->offset;
    uint32_t i = gh_spanclass_is_large(s->spanclass) ? 0 : gh_mspan_obj_index(s, p);
    uintptr_t start = s->start_addr + (uintptr_t)i * s->elemsize;
    uintptr_t end = gh_spanclass_is_large(s->spanclass) ? s->limit : start + s->elemsize;
    if (!noscan) scan(start, end, ctx); /* what the object references, not the object */
    scan((uintptr_t)&sp->arg, (uintptr_t)(&sp->arg + 1), ctx);
  }
}

static bool finq_push(gh_finalizer f) {
  if (finq_tail - finq_head == finq_cap) { /* grow: copy into a ring twice the size */
    size_t cap = finq_cap ? finq_cap * 2 : 1024;
    gh_finalizer *n = gh_os_alloc_metadata(cap * sizeof *n);
    if (!n) return false;
    for (size_t i = finq_head; i < finq_tail; i++) n[i - finq_head] = finq[i % finq_cap];
    if (finq) gh_os_release(finq, finq_cap * sizeof *finq);
    finq_tail -= finq_head;
    finq_head = 0;
    finq = n;
    finq_cap = cap;
  }
  finq[finq_tail++ % finq_cap] = f;
  finq_pushed++;
  return true;
}

/*
 * End of the mark: every finalizer whose object is not marked is queued, and
 * the object marked (is_marked/mark are the collector's). Returns the bytes
 * so kept alive. World stopped.
 */
uint64_t gh_special_queue_unreachable(gh_mspan *s, bool (*is_marked)(gh_mspan *, uintptr_t),
                                      uint64_t (*mark)(gh_mspan *, uintptr_t)) {
  uint64_t kept = 0;
  gh_special **link = &s->specials;
  while (*link) {
    gh_special *sp = *link;
    uintptr_t p = s->start_addr + sp->offset;
    if (sp->kind != SPECIAL_FINALIZER || is_marked(s, p) ||
        !finq_push((gh_finalizer){sp->fn, (void *)p, sp->arg})) {
      link = &sp->next;
      continue;
    }
    kept += mark(s, p);
    special_free(unlink_special(s, link));
  }
  return kept;
}

/* The queue, the running entry and the ones kept by forks, as roots (world stopped). */
void gh_finq_scan_roots(void (*scan)(uintptr_t lo, uintptr_t hi, void *ctx), void *ctx) {
  if (finq) scan((uintptr_t)finq, (uintptr_t)(finq + finq_cap), ctx);
  scan((uintptr_t)&finq_running, (uintptr_t)(&finq_running + 1), ctx);
  if (fork_kept) scan((uintptr_t)fork_kept, (uintptr_t)(fork_kept + nfork_kept), ctx);
}

void gh_finq_wake(void) {
  gh_mutex_lock(&finq_lock);
  bool any = finq_tail != finq_head;
  gh_mutex_unlock(&finq_lock);
  if (!any) return;
  gh_atomic_add_seq(&finq_seq, 1);
  gh_os_futex_wake_all(&finq_seq);
  start_finalizer_thread(); /* again in a fork child */
}


/* Removes the specials of objects a sweep freed. */
void gh_special_sweep(gh_mspan *s) {
  gh_special *gone = NULL;
  gh_mutex_lock(&s->speciallock);
  gh_special **link = &s->specials;
  while (*link) {
    uint32_t i = gh_mspan_obj_index(s, s->start_addr + (*link)->offset);
    if (s->alloc_bits[i / 64] >> (i % 64) & 1) {
      link = &(*link)->next;
      continue;
    }
    gh_special *sp = unlink_special(s, link);
    sp->next = gone;
    gone = sp;
  }
  gh_mutex_unlock(&s->speciallock);
  while (gone) {
    gh_special *next = gone->next;
    special_release(gone);
    gone = next;
  }
}

/* A large object died: all its specials go. */
void gh_special_drop_all(gh_mspan *s) {
  gh_mutex_lock(&s->speciallock);
  gh_special *sp = s->specials;
  set_link(&s->specials, NULL);
  s->specials_cursor = NULL;
  gh_mutex_unlock(&s->speciallock);
  while (sp) {
    gh_special *next = sp->next;
    special_release(sp);
    sp = next;
  }
}

/* ---- the finalizer thread (Go: mfinal.go:runfinq) --------------------------------- */

/* The next entry, which becomes finq_running (the previous one is done). */
static bool finq_pop(gh_finalizer *out) {
  gh_mcache *c = gh_enter();
  gh_mutex_lock(&finq_lock);
  bool any = finq_tail != finq_head;
  finq_running = (gh_finalizer){0};
  if (any) {
    *out = finq_running = finq[finq_head % finq_cap];
    finq[finq_head % finq_cap] = (gh_finalizer){0};
    finq_head++;
  }
  gh_mutex_unlock(&finq_lock);
  gh_leave(c);
  return any;
}

/* Runs the queued finalizers (finq_running keeps each object alive while its
 * fn runs). Not inlined: its registers are restored when it returns. */
static void retire(uint64_t n) {
  gh_atomic_add_seq(&xretired, n);
  if (gh_atomic_load_seq(&xretire_waiters)) {
    gh_atomic_add_seq(&xretire_seq, 1);
    gh_os_futex_wake_all(&xretire_seq);
  }
}

static GH_NOINLINE void run_queue(void) {
  gh_finalizer f;
  while (finq_pop(&f)) {
    f.fn(f.obj, f.arg);
    gh_atomic_add(&gh_finalizers_run, 1);
    retire(1);
  }
}

/* Waits until every finalizer queued before the call has returned. */
int gh_await_finalizers(int64_t timeout_ms) {
  gh_ensure_init();
  if (on_finalizer_thread) return EDEADLK; /* the queue waits for this very finalizer */
  gh_mcache *c = gh_enter();
  gh_mutex_lock(&finq_lock);
  uint64_t target = finq_pushed;
  gh_mutex_unlock(&finq_lock);
  gh_leave(c);
  gh_finq_wake(); /* starts the thread if this is a fork child */
  uint64_t deadline = timeout_ms < 0 ? UINT64_MAX : gh_os_nanotime() + (uint64_t)timeout_ms * 1000000u;
  int rc = 0;
  gh_atomic_add_seq(&xretire_waiters, 1);
  for (;;) {
    uint32_t seq = gh_atomic_load_seq(&xretire_seq);
    if (gh_atomic_load_seq(&xretired) >= target) break;
    uint64_t now = gh_os_nanotime();
    if (now >= deadline) {
      rc = ETIMEDOUT;
      break;
    }
    uint64_t left = deadline - now;
    gh_os_futex_wait_ns(&xretire_seq, seq, left < 1000000000u ? left : 1000000000u);
  }
  gh_atomic_sub_seq(&xretire_waiters, 1);
  return rc;
}

static void *finalizer_thread(void *arg) {
  (void)arg;
  gh_os_thread_unblock_signals();
  on_finalizer_thread = true;
  if (gh_register_thread() != 0) {
    gh_atomic_store_release(&finq_thread_up, 0);
    return NULL;
  }
  for (;;) {
    uint32_t seq = gh_atomic_load_acquire(&finq_seq);
    run_queue();
    gh_os_clear_dead_stack(); /* no stale pointer to a finalized object stays a root while it sleeps */
    gh_world_blocking_wait(&finq_seq, seq);
  }
  return NULL;
}

void gh_finq_fork_prepare(void) {
  gh_mutex_lock(&finq_lock);
  gh_mutex_lock(&specials_lock);
}

void gh_finq_fork_parent(void) {
  gh_mutex_unlock(&specials_lock);
  gh_mutex_unlock(&finq_lock);
}

/* The running entry's thread is gone: its object and argument stay allocated. */
void gh_finq_fork_child(void) {
  gh_mutex_reinit(&finq_lock);
  gh_mutex_reinit(&specials_lock);
  gh_atomic_store_relaxed(&finq_thread_up, 0);
  if (!finq_running.fn) return;
  if (nfork_kept == fork_kept_cap &&
      !gh_metadata_grow((void **)&fork_kept, &fork_kept_cap, nfork_kept, sizeof *fork_kept, 16))
    gh_throw("fork: out of memory for the finalizer that was running");
  fork_kept[nfork_kept++] = finq_running;
  finq_running = (gh_finalizer){0};
  retire(1); /* it never returns here */
}
