/*
 * lockrank.c -- the lock order, checked in debug builds. (Go: lockrank.go,
 * lockrank_on.go.)
 *
 * internal.h ranks every goheap lock, outermost first. With GH_DEBUG each
 * thread keeps the list of locks it holds; taking a lock whose rank is not
 * above every held one (or, for the multi-rank mcentral locks, a lower
 * address of the same rank) throws, naming both locks, before the thread
 * can deadlock; gh_assert_held throws if the calling thread does not hold
 * the lock. Release builds use the os/ mutex directly (internal.h) and
 * compile this file to nothing.
 */
#include "internal.h"

#if GH_DEBUG

static const char *const rank_names[GH_RANK_COUNT] = {
  [GH_RANK_NONE] = "unranked",        [GH_RANK_INIT] = "init",
  [GH_RANK_GC] = "gc",                [GH_RANK_WORLD] = "world",
  [GH_RANK_MCENTRAL] = "mcentral",    [GH_RANK_SPECIAL] = "span specials",
  [GH_RANK_HEAP] = "heap",            [GH_RANK_FINQ] = "finalizer queue",
  [GH_RANK_SPECIALS] = "specials fixalloc", [GH_RANK_ROOTS] = "roots",
  [GH_RANK_MARKWORK] = "mark work",   [GH_RANK_WEAK] = "weak links",
  [GH_RANK_PERSISTENT] = "persistent",
};

static __thread struct {
  const gh_mutex *lock[GH_NUM_SPAN_CLASSES + 16]; /* fork holds every mcentral lock */
  uint32_t n;
} held __attribute__((tls_model("initial-exec")));

static GH_COLD void order_violation(const gh_mutex *l, const gh_mutex *h) {
  char msg[200];
  gh_buf b = {msg, msg + sizeof msg - 1};
  gh_buf_str(&b, "lock order: taking the ");
  gh_buf_str(&b, rank_names[l->rank < GH_RANK_COUNT ? l->rank : 0]);
  gh_buf_str(&b, " lock while holding the ");
  gh_buf_str(&b, rank_names[h->rank < GH_RANK_COUNT ? h->rank : 0]);
  gh_buf_str(&b, " lock");
  *b.p = 0;
  gh_throw(msg);
}

static void check_order(const gh_mutex *l) {
  if (l->rank == GH_RANK_NONE || l->rank >= GH_RANK_COUNT) gh_throw("lock order: a lock without a rank");
  for (uint32_t i = 0; i < held.n; i++) {
    const gh_mutex *h = held.lock[i];
    if (h == l) gh_throw("lock order: taking a lock this thread already holds");
    bool multi_ok = h->rank == GH_RANK_MCENTRAL && l->rank == GH_RANK_MCENTRAL && h < l;
    if (h->rank >= l->rank && !multi_ok) order_violation(l, h);
  }
}

static void forget(const gh_mutex *l) {
  for (uint32_t i = held.n; i-- > 0;) {
    if (held.lock[i] != l) continue;
    held.lock[i] = held.lock[--held.n];
    return;
  }
}

void gh_mutex_lock(gh_mutex *l) {
  check_order(l);
  gh_mutex_lock_counted(l);
  if (held.n == sizeof held.lock / sizeof held.lock[0]) gh_throw("lock order: too many locks held");
  held.lock[held.n++] = l;
}

void gh_mutex_unlock(gh_mutex *l) {
  uint32_t n = held.n;
  forget(l);
  if (held.n == n) gh_throw("lock order: releasing a lock this thread does not hold");
  gh_mutex_unlock_counted(l);
}

/* A fork child: the forking thread held the lock across fork(). */
void gh_mutex_reinit(gh_mutex *l) {
  forget(l);
  gh_mutex_reinit_counted(l);
}

/* A thread stops for a collection only at a safe point, where it holds no
 * goheap lock: one it held would block the threads that must reach their
 * own safe points, and the stop would time out (gh_finq_wake once parked
 * holding finq_lock while the finalizer thread, in a slow path, waited). */
void gh_assert_no_locks(void) {
  if (held.n) gh_throw2("a thread stopped at a safe point while holding a lock", rank_names[held.lock[0]->rank < GH_RANK_COUNT ? held.lock[0]->rank : 0], 0);
}

void gh_assert_held(const gh_mutex *l) {
  for (uint32_t i = 0; i < held.n; i++)
    if (held.lock[i] == l) return;
  gh_throw2("a _locked function was called without its lock", rank_names[l->rank < GH_RANK_COUNT ? l->rank : 0], 0);
}

#endif
