/*
 * world.c -- threads: the registry of mcaches, thread exit, fork.
 * (Go: proc.go's allp and mexit; the collector will stop the world from here.)
 *
 * A thread is registered when it first allocates (its mcache is created).
 * A pthread key destructor returns the thread's spans when it exits; if the
 * thread allocates again in a later destructor, it gets a new mcache and the
 * key is set again (glibc runs destructors up to 4 rounds).
 *
 * fork(): the prepare handler takes every goheap lock in rank order (world,
 * each mcentral, heap) so no lock is held mid-update across the fork; the
 * parent releases them; the child re-initialises them and releases the
 * mcaches of the threads that did not survive the fork, so their spans are
 * usable again.
 *
 * Lock: world_lock protects the registry; it ranks above the mcentral locks.
 */
#include "internal.h"

static gh_mutex world_lock = GH_MUTEX_INIT;
static gh_mcache *all_mcaches;
static uint64_t nthreads;

static void thread_exit(void *arg) {
  gh_mcache *c = arg;
  if (gh_tls_mcache == c) gh_tls_mcache = NULL;
  gh_mcache_release_all(c);
  gh_world_unregister(c);
}

void gh_world_init(void) {
  if (gh_os_thread_key_create(thread_exit) != 0) gh_throw("cannot create the thread-exit key");
}

void gh_world_register(gh_mcache *c) {
  gh_mutex_lock(&world_lock);
  c->all_prev = NULL;
  c->all_next = all_mcaches;
  if (all_mcaches) all_mcaches->all_prev = c;
  all_mcaches = c;
  nthreads++;
  gh_mutex_unlock(&world_lock);
}

static void unlink_locked(gh_mcache *c) {
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

/* ---- fork ------------------------------------------------------------------ */

static void fork_prepare(void) {
  gh_mutex_lock(&world_lock);
  for (uint32_t i = 0; i < GH_NUM_SPAN_CLASSES; i++) gh_mutex_lock(&gh_central[i].lock);
  gh_mutex_lock(&gh_heap.lock);
}

static void fork_parent(void) {
  gh_mutex_unlock(&gh_heap.lock);
  for (uint32_t i = GH_NUM_SPAN_CLASSES; i-- > 0;) gh_mutex_unlock(&gh_central[i].lock);
  gh_mutex_unlock(&world_lock);
}

static void fork_child(void) {
  gh_mutex_reinit(&gh_heap.lock);
  for (uint32_t i = 0; i < GH_NUM_SPAN_CLASSES; i++) gh_mutex_reinit(&gh_central[i].lock);
  gh_mutex_reinit(&world_lock);
  gh_mcache *c = all_mcaches, *next;
  for (; c; c = next) { /* only the forking thread survives */
    next = c->all_next;
    if (c == gh_tls_mcache) continue;
    gh_mcache_recount_all(c); /* its thread may have died mid-update */
    gh_mcache_release_all(c);
    gh_world_unregister(c);
  }
  if (gh_tls_mcache) gh_tls_mcache->thread_id = gh_os_thread_id();
}

void gh_world_init_fork(void) {
  if (gh_os_atfork(fork_prepare, fork_parent, fork_child) != 0) gh_throw("cannot register fork handlers");
}
