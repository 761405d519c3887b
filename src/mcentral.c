/*
 * mcentral.c -- the central list of spans of one span class.
 * (Go: mcentral.go.) See malloc.c for the overview.
 *
 * A span that no mcache holds is on exactly one of four lists:
 * partial/full x swept/unswept. Which of the two physical lists of each pair
 * is "swept" flips every time the collector advances the heap's sweepgen by 2
 * (Go: mcentral.go:partialSwept/partialUnswept/fullSwept/fullUnswept), so a
 * collection makes every swept span unswept at once. Without collections a span
 * becomes unswept when an explicit free on it finds it uncached: the free sets
 * the span's xqueued flag and moves it here (gh_mcentral_queue_for_sweep).
 *
 * cacheSpan follows the seed's flow: a swept span with free slots; else sweep
 * unswept spans (partial first, then full) and take the first with room;
 * else grow a new span from the heap.
 *
 * Explicit frees empty spans all at once (a batch freed, then allocated
 * again), so up to EMPTY_KEEP_PAGES pages of empty spans stay on the `empty`
 * list for the next cacheSpan instead of a round trip through the heap lock
 * (Go keeps a per-P page cache for the same reason). They go back to the heap
 * before it grows (gh_mcentral_reclaim) and at gh_malloc_trim.
 *
 * Collections: a collection advances the heap's sweepgen by 2, which flips
 * the swept and unswept lists of every collected class at once; manual
 * classes use a constant sweepgen (0), since the collector never frees their
 * objects. Sweeping a span that a collection left unswept (sweepgen h-2)
 * applies its mark bits; the sweeper claims it by CAS from h-2 to h-1 (Go:
 * sweepLocker.tryAcquire). Large collected objects sit on their class's full
 * list so that sweepers find them (Go: allocLarge does the same).
 *
 * Lock: c->lock protects the lists and the fields below it; spans are swept
 * without it (the sweeper owns a span it has taken off a list). Ranks above
 * the heap lock: never call into the heap while holding it.
 */
#include "internal.h"

GH_DATA gh_mcentral gh_central[GH_NUM_SPAN_CLASSES];

#define SWEEP_BUDGET 100 /* spans cacheSpan sweeps before growing (Go: spanBudget) */
#define SWEEP_BACKLOG 4  /* queued spans tolerated before a free sweeps the oldest */
#define EMPTY_KEEP_PAGES 8 /* empty spans kept per class instead of going back to the heap */

/* ---- the four lists (Go: mcentral.go:partialSwept ...) -------------------- */

static uint32_t central_sweepgen(const gh_mcentral *c) {
  return gh_spanclass_collected(c->spanclass) ? gh_atomic_load_acquire(&gh_heap.xsweepgen) : 0;
}

static uint32_t swept_index(uint32_t sg) { return (sg >> 1) & 1; }
static gh_spanlist *partial_swept(gh_mcentral *c, uint32_t sg) { return &c->partial[swept_index(sg)]; }
static gh_spanlist *partial_unswept(gh_mcentral *c, uint32_t sg) { return &c->partial[1 - swept_index(sg)]; }
static gh_spanlist *full_swept(gh_mcentral *c, uint32_t sg) { return &c->full[swept_index(sg)]; }
static gh_spanlist *full_unswept(gh_mcentral *c, uint32_t sg) { return &c->full[1 - swept_index(sg)]; }

static void list_push(gh_spanlist *l, gh_mspan *s) {
  s->prev = NULL;
  s->next = l->first;
  if (l->first) l->first->prev = s;
  else l->last = s;
  l->first = s;
  s->list = l;
  gh_atomic_store_relaxed(&l->count, l->count + 1);
}

static void list_remove(gh_mspan *s) {
  gh_spanlist *l = s->list;
  if (s->prev) s->prev->next = s->next;
  else l->first = s->next;
  if (s->next) s->next->prev = s->prev;
  else l->last = s->prev;
  s->next = s->prev = NULL;
  s->list = NULL;
  gh_atomic_store_relaxed(&l->count, l->count - 1);
}

static gh_mspan *list_pop(gh_spanlist *l) {
  gh_mspan *s = l->first;
  if (s) list_remove(s);
  return s;
}

static gh_mspan *list_pop_oldest(gh_spanlist *l) {
  gh_mspan *s = l->last;
  if (s) list_remove(s);
  return s;
}

void gh_mcentral_init(gh_mcentral *c, gh_spanclass sc) {
  c->lock = (gh_mutex)GH_MUTEX_INIT(GH_RANK_MCENTRAL);
  c->spanclass = sc;
}

/* Puts a span the caller owns on the list its state calls for. c->lock held. */
static void insert_locked(gh_mcentral *c, gh_mspan *s) {
  gh_assert_held(&c->lock);
  uint32_t sg = central_sweepgen(c);
  bool room = s->alloc_count < s->nelems;
  s->xsweepgen = sg;
  if (gh_atomic_load_seq(&s->xqueued)) list_push(room ? partial_unswept(c, sg) : full_unswept(c, sg), s);
  else list_push(room ? partial_swept(c, sg) : full_swept(c, sg), s);
}

/* Gives a span the caller owns back to the heap. */
static void release_empty(gh_mcentral *c, gh_mspan *s) {
  gh_mutex_lock(&c->lock);
  c->nspans--;
  gh_mutex_unlock(&c->lock);
  gh_mheap_free_span(s);
}

/* Go: mcentral.go:(*mcentral).grow. */
static gh_mspan *grow(gh_mcentral *c) {
  uint32_t cls = gh_spanclass_sizeclass(c->spanclass);
  gh_mspan *s = gh_mheap_alloc_span(gh_class_npages(cls), c->spanclass, 0);
  if (!s) return NULL;
  gh_mspan_init_small(s, c->spanclass);
  gh_atomic_store_release(&s->xstate, GH_SPAN_IN_USE);
  gh_mutex_lock(&c->lock);
  c->nspans++;
  gh_mutex_unlock(&c->lock);
  return s;
}

/* Takes one unswept span off the lists and sweeps it; NULL if none. */
static gh_mspan *sweep_one(gh_mcentral *c) {
  gh_mutex_lock(&c->lock);
  uint32_t sg = central_sweepgen(c);
  gh_mspan *s = list_pop_oldest(partial_unswept(c, sg));
  if (!s) s = list_pop_oldest(full_unswept(c, sg));
  gh_mutex_unlock(&c->lock);
  if (s) gh_mspan_sweep_uncached(s, sg);
  return s;
}

/*
 * Go: mcentral.go:(*mcentral).cacheSpan. A span with at least one free slot,
 * owned by `owner` from now on, or NULL when the heap cannot grow.
 */
gh_mspan *gh_mcentral_cache_span(gh_mcentral *c, gh_mcache *owner) {
  gh_mutex_lock(&c->lock);
  uint32_t sg = central_sweepgen(c);
  gh_mspan *s = list_pop(partial_swept(c, sg));
  if (!s) s = list_pop(&c->empty);
  c->queued_since_cache = 0; /* someone allocates: sweeping is theirs to do */
  gh_mutex_unlock(&c->lock);
  for (int budget = SWEEP_BUDGET; !s && budget > 0; budget--) {
    s = sweep_one(c);
    if (!s) break;
    if (s->alloc_count < s->nelems) break;
    gh_mutex_lock(&c->lock);
    insert_locked(c, s);
    gh_mutex_unlock(&c->lock);
    s = NULL;
  }
  if (!s) s = grow(c);
  if (!s) return NULL;
  gh_atomic_add(&gh_heap_live, (uint64_t)(s->nelems - s->alloc_count) * s->elemsize);
  s->xsweepgen = sg + 3;
  s->alloc_count_before_cache = s->alloc_count;
  gh_mspan_allocate_black(s);
  gh_atomic_store_release(&s->xowner, owner);
  return s;
}

/* May a span the caller owns go back to the heap? Empty, no free queued since
 * its sweep, and no free still working on it (malloc.c:free_remote). */
static bool releasable(gh_mspan *s) {
  return s->alloc_count == 0 && !gh_atomic_load_seq(&s->xqueued) &&
         !gh_atomic_load_seq(&s->xpins);
}

/* An empty span is about to go back to the heap: marked dead first, then
 * checked for pins, while a pinning free_remote pins first, then checks the
 * state (malloc.c), so such a free never works on a span given back. false
 * (and in use again) if a pinning free is looking at it: it stays for now. */
static bool retire(gh_mspan *s) {
  gh_atomic_store_seq(&s->xstate, GH_SPAN_DEAD);
  if (!gh_atomic_load_seq(&s->xpins)) return true;
  gh_atomic_store_seq(&s->xstate, GH_SPAN_IN_USE);
  return false;
}

/* Files a span the caller has just swept: kept or back to the heap if empty,
 * else on its list. */
static void put_swept(gh_mcentral *c, gh_mspan *s) {
  gh_mutex_lock(&c->lock);
  if (!releasable(s)) {
    insert_locked(c, s);
  } else if ((c->empty.count + 1) * s->npages <= EMPTY_KEEP_PAGES) {
    s->xsweepgen = central_sweepgen(c);
    list_push(&c->empty, s);
  } else if (retire(s)) {
    gh_mutex_unlock(&c->lock);
    release_empty(c, s);
    return;
  } else {
    insert_locked(c, s);
  }
  gh_mutex_unlock(&c->lock);
}

/* Go: mcentral.go:(*mcentral).uncacheSpan. The owner has swept s in place. */
void gh_mcentral_uncache_span(gh_mcentral *c, gh_mspan *s) {
  gh_mspan_flush_nmalloc(s, NULL);
  gh_atomic_sub(&gh_heap_live, (uint64_t)(s->nelems - s->alloc_count) * s->elemsize);
  /* Sequentially consistent with free_remote's xqueued-then-xowner: a free
   * that still saw us as the owner set xqueued before insert_locked reads it. */
  gh_atomic_store_seq(&s->xowner, NULL);
  put_swept(c, s);
}

/* Have frees queued many spans while nobody allocated from this class? Then
 * the oldest queued span is taken, to be swept by the caller. */
static gh_mspan *take_backlog_locked(gh_mcentral *c, uint32_t sg) {
  gh_assert_held(&c->lock);
  gh_spanlist *p = partial_unswept(c, sg), *f = full_unswept(c, sg);
  uint64_t allowed = c->nspans / 8 > SWEEP_BACKLOG ? c->nspans / 8 : SWEEP_BACKLOG;
  if (++c->queued_since_cache <= allowed || p->count + f->count <= SWEEP_BACKLOG) return NULL;
  return list_pop_oldest(f->count >= p->count ? f : p);
}

/*
 * Called by a free that set s->xqueued on a span it does not cache. Moves the
 * span to its unswept list if it is on a swept one; a span that is cached or
 * being swept is left alone (its owner sees xqueued when it lets go of it).
 * The span may have been freed and reused meanwhile: the list test rejects a
 * span that is not on one of this mcentral's swept lists.
 *
 * Sweeping is the allocating threads' job (cacheSpan sweeps what it takes).
 * But when frees have queued more than max(4, nspans/8) spans since anyone
 * last took a span of this class, nobody is allocating it: then the freeing
 * thread sweeps the oldest queued span, so a program that frees and goes idle
 * still gets its empty spans (and then its pages) back.
 */
void gh_mcentral_queue_for_sweep(gh_mcentral *c, gh_mspan *s) {
  gh_mutex_lock(&c->lock);
  uint32_t sg = central_sweepgen(c);
  if (s->list == partial_swept(c, sg)) {
    list_remove(s);
    list_push(partial_unswept(c, sg), s);
  } else if (s->list == full_swept(c, sg)) {
    list_remove(s);
    list_push(full_unswept(c, sg), s);
  }
  gh_mspan *old = take_backlog_locked(c, sg);
  gh_mutex_unlock(&c->lock);
  if (old) {
    gh_mspan_sweep_uncached(old, sg);
    put_swept(c, old);
  }
}

static bool remote_bits_pending(gh_mspan *s) {
  for (uint32_t w = 0; w < gh_span_bitmap_words(s); w++)
    if (gh_atomic_load_seq(&s->xremote_free_bits[w])) return true;
  return false;
}

static void requeue_list_locked(gh_mcentral *c, gh_spanlist *from, gh_spanlist *to) {
  gh_assert_held(&c->lock);
  for (gh_mspan *s = from->first, *next; s; s = next) {
    next = s->next;
    if (!remote_bits_pending(s)) continue;
    gh_atomic_store_seq(&s->xqueued, 1);
    list_remove(s);
    list_push(to, s);
  }
}

/*
 * Queues every swept span that still has remote frees pending. A remote free
 * that found xqueued already set does not queue the span; if a sweep cleared
 * xqueued just before that free's bit landed, the bit waits for the span's next
 * free. The object stays allocated meanwhile, so only memory is held; this
 * walk (O(spans), used by gh_malloc_trim) releases it.
 */
void gh_mcentral_requeue_pending(gh_mcentral *c) {
  gh_mutex_lock(&c->lock);
  uint32_t sg = central_sweepgen(c);
  requeue_list_locked(c, partial_swept(c, sg), partial_unswept(c, sg));
  requeue_list_locked(c, full_swept(c, sg), full_unswept(c, sg));
  gh_mutex_unlock(&c->lock);
}

/* Gives the kept empty spans back to the heap; returns their pages. */
static uintptr_t release_kept(gh_mcentral *c) {
  uintptr_t pages = 0;
  for (;;) {
    gh_mutex_lock(&c->lock);
    gh_mspan *s = list_pop(&c->empty);
    if (s && !retire(s)) { /* a double free is looking at it: next time */
      list_push(&c->empty, s);
      s = NULL;
    }
    gh_mutex_unlock(&c->lock);
    if (!s) return pages;
    pages += s->npages;
    release_empty(c, s);
  }
}

/* Files a large collected span its sweeper holds: freed if the sweep (or an
 * explicit free meanwhile, which left it to us) killed it. */
static uintptr_t put_swept_large(gh_mcentral *c, gh_mspan *s) {
  gh_mutex_lock(&c->lock);
  if (gh_atomic_load_acquire(&s->xstate) == GH_SPAN_DEAD) {
    c->nspans--;
    gh_mutex_unlock(&c->lock);
    uintptr_t n = s->npages;
    gh_mheap_free_span(s);
    return n;
  }
  insert_locked(c, s);
  gh_mutex_unlock(&c->lock);
  return 0;
}

/* Sweeps one unswept span and files it; the pages it gave back to the heap,
 * or UINTPTR_MAX if there was none to sweep. */
static uintptr_t sweep_and_file(gh_mcentral *c) {
  gh_mspan *s = sweep_one(c);
  if (!s) return UINTPTR_MAX;
  if (gh_spanclass_is_large(c->spanclass)) return put_swept_large(c, s);
  uintptr_t n = releasable(s) ? s->npages : 0;
  put_swept(c, s);
  return n;
}

/* Sweeps the spans unswept now until `pages` pages went back to the heap;
 * empty ones go back to the heap, and so do the kept ones. Returns the pages
 * given back (Go: mheap.go:reclaim's goal). */
uintptr_t gh_mcentral_reclaim(gh_mcentral *c, uintptr_t pages) {
  uint32_t sg = central_sweepgen(c);
  uint32_t n = gh_atomic_load_relaxed(&partial_unswept(c, sg)->count) +
               gh_atomic_load_relaxed(&full_unswept(c, sg)->count);
  uintptr_t freed = 0;
  for (; n > 0 && freed < pages; n--) {
    uintptr_t k = sweep_and_file(c);
    if (k == UINTPTR_MAX) break;
    freed += k;
  }
  uintptr_t kept = 0;
  if (freed < pages && gh_atomic_load_relaxed(&c->empty.count)) kept = release_kept(c);
  return freed + kept;
}

/* World stopped, at a concurrent mark's termination: the spans kept empty
 * are on no list the sweepgen flips, so no sweep clears the marks their
 * objects got before they were freed during the mark; left there, those
 * marks would make the next mark skip the contents of the objects
 * allocated in their slots (I7). */
void gh_mcentral_clear_empty_marks(gh_mcentral *c) {
  for (gh_mspan *s = c->empty.first; s; s = s->next) gh_mspan_clear_marks(s);
}

/* Sweeps one span of this class left unswept; false if there was none
 * (the background sweeper and finishing a cycle's sweep). */
bool gh_mcentral_sweep_one(gh_mcentral *c) { return sweep_and_file(c) != UINTPTR_MAX; }

/* ---- large collected objects --------------------------------------------------- */

void gh_mcentral_add_large(gh_mcentral *c, gh_mspan *s) {
  gh_mutex_lock(&c->lock);
  c->nspans++;
  insert_locked(c, s);
  gh_mutex_unlock(&c->lock);
}

/* Frees a large collected object explicitly; false if it was not live (a
 * double free). One being swept right now is freed by its sweeper. */
bool gh_mcentral_free_large(gh_mspan *s) {
  gh_mcentral *c = &gh_central[s->spanclass];
  gh_mutex_lock(&c->lock);
  if (!gh_mheap_large_dies(s)) {
    gh_mutex_unlock(&c->lock);
    return false;
  }
  gh_atomic_sub(&gh_heap_live, s->elemsize);
  bool ours = s->list != NULL;
  if (ours) {
    list_remove(s);
    c->nspans--;
  }
  gh_mutex_unlock(&c->lock);
  if (ours) {
    if (gh_span_has_specials(s)) gh_special_drop_all(s);
    gh_mheap_free_span(s);
  }
  return true;
}

static uint64_t check_list(gh_mcentral *c, gh_spanlist *l, bool room) {
  uint64_t n = 0;
  for (gh_mspan *s = l->first; s; s = s->next, n++) {
    if (s->list != l || s->spanclass != c->spanclass || s->xowner || s->xstate != GH_SPAN_IN_USE)
      gh_throw2("mcentral: span on the wrong list or in the wrong state", "span", s->start_addr);
    if (room != (s->alloc_count < s->nelems))
      gh_throw2("mcentral: span on the partial/full list it does not belong to", "span", s->start_addr);
    if (s->next && s->next->prev != s) gh_throw("mcentral: broken list links");
  }
  if (n != l->count) gh_throw("mcentral: list count is wrong");
  return n;
}

void gh_mcentral_check(gh_mcentral *c) {
  gh_mutex_lock(&c->lock);
  uint64_t n = 0;
  for (int i = 0; i < 2; i++) n += check_list(c, &c->partial[i], true) + check_list(c, &c->full[i], false);
  n += check_list(c, &c->empty, true);
  for (gh_mspan *s = c->empty.first; s; s = s->next)
    if (s->alloc_count != 0) gh_throw2("mcentral: a span on the empty list holds objects", "span", s->start_addr);
  if (n > c->nspans) gh_throw("mcentral: more spans on lists than in use");
  gh_mutex_unlock(&c->lock);
}

/* ---- fork ------------------------------------------------------------------------ */

/* A collected span that a thread which did not survive fork() was sweeping or
 * moving: on no list and in no mcache. Its mark bits are cleared (stale marks
 * would make the next mark skip scanning its objects), its count is rebuilt,
 * and it goes back on its list; a half-done sweep only leaves dead objects
 * allocated until the next cycle. */
static void adopt(gh_mspan *s, void *unused) {
  (void)unused;
  if (gh_atomic_load_relaxed(&s->xstate) == GH_SPAN_IN_USE) gh_central[s->spanclass].nspans++;
  gh_atomic_store_relaxed(&s->xpins, 0); /* the frees that pinned it are gone */
  if (!gh_spanclass_collected(s->spanclass) || s->list || gh_atomic_load_relaxed(&s->xowner) ||
      gh_atomic_load_relaxed(&s->xstate) != GH_SPAN_IN_USE)
    return;
  gh_mspan_clear_marks(s);
  if (!gh_spanclass_is_large(s->spanclass)) gh_mspan_recount(s);
  gh_mcentral *c = &gh_central[s->spanclass];
  gh_mutex_lock(&c->lock);
  insert_locked(c, s);
  gh_mutex_unlock(&c->lock);
}

/* In a fork child, after the other threads' caches were released. The span
 * counts are rebuilt from the page map too: a dead thread may have been
 * between taking a span and counting it. */
void gh_mcentral_adopt_limbo(void) {
  for (uint32_t i = 0; i < GH_NUM_SPAN_CLASSES; i++) gh_central[i].nspans = 0;
  gh_mheap_each_span(adopt, NULL);
}
