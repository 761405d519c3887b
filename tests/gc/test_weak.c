/*
 * test_weak.c -- weak links (gh_register_weak_link and friends).
 *
 *   - the registration calls: EEXIST for a link registered twice (short and
 *     long are separate), move to a new link, ENOENT and EEXIST for moves,
 *     unregister answers 1 then 0, EINVAL for a misaligned link;
 *   - a short link to a reachable object stays; once unreachable it is NULL
 *     after one collection, and its registration is gone;
 *   - an object with a finalizer: its short link is cleared by the
 *     collection that queues the finalizer, its long link only by the one
 *     that frees it (after the finalizer ran);
 *   - a link to memory goheap does not collect (malloc, a global) is never
 *     cleared;
 *   - a link lying in a collected object that dies, or in a malloc'd block
 *     freed, is forgotten, never written;
 *   - threads that drop, read and resurrect weakly held, checksummed objects
 *     while another thread collects: every object read back through a link
 *     is intact (the collector clears links with the world stopped, so no
 *     link names an object already found dead).
 */
#include "gctest.h"

static void *volatile sink;
static uintptr_t hidden_obj;

/* ---- registration ------------------------------------------------------------------ */
static void *reg_a, *reg_b, *reg_c; /* link words (globals, never cleared: obj is a global) */
static int reg_target;
static void t_registration(void) {
  void *obj = &reg_target;
  CHECK("register", gh_register_weak_link(&reg_a, obj, 0) == 0);
  CHECK("register twice: EEXIST", gh_register_weak_link(&reg_a, obj, 0) == EEXIST);
  CHECK("a long link at the same address is separate", gh_register_weak_link(&reg_a, obj, 1) == 0);
  CHECK("move to a new link", gh_move_weak_link(&reg_a, &reg_b, 0) == 0);
  CHECK("the old link is free again", gh_unregister_weak_link(&reg_a, 0) == 0);
  CHECK("move of an unregistered link: ENOENT", gh_move_weak_link(&reg_a, &reg_c, 0) == ENOENT);
  CHECK("register c", gh_register_weak_link(&reg_c, obj, 0) == 0);
  CHECK("move onto a registered link: EEXIST", gh_move_weak_link(&reg_b, &reg_c, 0) == EEXIST);
  CHECK("move onto itself", gh_move_weak_link(&reg_b, &reg_b, 0) == 0);
  CHECK("misaligned: EINVAL", gh_register_weak_link((void **)((char *)&reg_a + 1), obj, 0) == EINVAL);
  CHECK("unregister b: 1", gh_unregister_weak_link(&reg_b, 0) == 1);
  CHECK("unregister b again: 0", gh_unregister_weak_link(&reg_b, 0) == 0);
  CHECK("unregister c and the long a", gh_unregister_weak_link(&reg_c, 0) == 1 && gh_unregister_weak_link(&reg_a, 1) == 1);
}

/* ---- clearing ---------------------------------------------------------------------------- */
static uintptr_t link_short, link_long; /* hidden pointers: they keep nothing alive */

GT_NOINLINE static void plant(size_t size, int with_finalizer, atomic_long *fin, int with_long) {
  void *p = gh_alloc(size);
  gt_fill(p, size, 3);
  hidden_obj = gt_hide(p);
  link_short = gt_hide(p);
  gh_register_weak_link((void **)&link_short, p, 0);
  if (with_long) {
    link_long = gt_hide(p);
    gh_register_weak_link((void **)&link_long, p, 1);
  }
  if (with_finalizer) gh_set_finalizer(p, gt_fin_count, fin);
  gt_clear_regs();
}

static void t_clearing(void) {
  static atomic_long fin;
  void *keep = gh_alloc(64);
  link_short = gt_hide(keep);
  gh_register_weak_link((void **)&link_short, keep, 0);
  gt_collect_n(2);
  CHECK("a link to a reachable object stays", link_short == gt_hide(keep));
  sink = keep;
  keep = NULL;
  sink = NULL;
  gh_unregister_weak_link((void **)&link_short, 0);

  for (int large = 0; large < 2; large++) {
    size_t size = large ? 200000 : 96;
    plant(size, 0, NULL, 1);
    gt_collect_n(1);
    CHECKF("an unreachable object's short and long links are NULL after one collection", link_short == 0 && link_long == 0,
           "%s object", large ? "large" : "small");
    CHECK("... and their registrations are gone",
          gh_unregister_weak_link((void **)&link_short, 0) == 0 && gh_unregister_weak_link((void **)&link_long, 1) == 0);
  }

  plant(96, 1, &fin, 1);
  gt_collect_n(1);
  CHECK("finalizable: the collection that queues the finalizer clears the short link", link_short == 0);
  CHECK("... but not the long one", link_long == gt_hide(gt_reveal(hidden_obj)) && link_long != 0);
  CHECK("the finalizer runs", gt_wait_count(&fin, 1, 3000));
  /* The finalizer thread's registers may still hold the object (conservative
   * roots): more finalizers overwrite them. */
  static atomic_long more;
  for (int i = 0; i < 20 && link_long != 0; i++) {
    gh_set_finalizer(gh_alloc(32), gt_fin_count, &more);
    gt_collect_n(1);
    gt_sleep_ms(2);
  }
  CHECK("the long link is cleared once the object is freed", link_long == 0);
}

/* ---- links to memory that is not collected, and links in memory that dies ------------- */
static int a_global;
static uintptr_t link_to_global;
GT_NOINLINE static uintptr_t *plant_in_dying_holder(void) {
  uintptr_t *holder = gh_alloc(64);
  void *target = gh_alloc(64);
  holder[1] = gt_hide(target);
  gh_register_weak_link((void **)&holder[1], target, 0);
  uintptr_t h = gt_hide(holder);
  gt_clear_regs();
  return (uintptr_t *)h; /* hidden */
}
static void t_memory(void) {
  void *m = malloc(64);
  uintptr_t link_to_malloc = gt_hide(m);
  link_to_global = gt_hide(&a_global);
  CHECK("register links to malloc'd and global memory",
        gh_register_weak_link((void **)&link_to_malloc, m, 0) == 0 &&
            gh_register_weak_link((void **)&link_to_global, &a_global, 0) == 0);
  gt_collect_n(2);
  CHECK("links to memory goheap does not collect are never cleared",
        link_to_malloc == gt_hide(m) && link_to_global == gt_hide(&a_global));
  gh_unregister_weak_link((void **)&link_to_malloc, 0);
  gh_unregister_weak_link((void **)&link_to_global, 0);
  free(m);

  uintptr_t *holder = gt_reveal((uintptr_t)plant_in_dying_holder());
  gt_collect_n(2);
  CHECK("a link in a collected object that died is forgotten", gh_unregister_weak_link((void **)&holder[1], 0) == 0);

  uintptr_t *block = malloc(64);
  volatile uintptr_t in_block_addr = (uintptr_t)&block[0]; /* only the address is used after the free */
  void *target = gh_alloc(64);
  block[0] = gt_hide(target);
  gh_register_weak_link((void **)in_block_addr, target, 0);
  target = NULL;
  free(block);
  gt_collect_n(2);
  CHECK("a link in a freed malloc'd block is forgotten", gh_unregister_weak_link((void **)in_block_addr, 0) == 0);
  CHECK("no bad call reported", gh_error_count() == 0);
}

/* ---- threads: drop, read back, resurrect ---------------------------------------------- */
#define PER_THREAD 512
#define NTHREADS 3
#define OBJ 80
static void *strong[NTHREADS][PER_THREAD]; /* scanned: keeps objects alive */
static void **weak_words;                   /* NTHREADS * PER_THREAD words in a noscan object */
static atomic_int stop;
static atomic_long bad_reads, reads, cleared_seen;

static uint64_t seed_of(int t, int i) { return (uint64_t)t * 100000u + (uint64_t)i; }

static void *weak_thread(void *arg) {
  int t = (int)(intptr_t)arg;
  uint64_t r = 0x9e3779b97f4a7c15ull * (uint64_t)(t + 1);
  void **weak = weak_words + t * PER_THREAD;
  while (!atomic_load(&stop)) {
    r = r * 6364136223846793005ull + 1442695040888963407ull;
    int i = (int)(r >> 33) % PER_THREAD;
    void *w = __atomic_load_n(&weak[i], __ATOMIC_RELAXED); /* one load: in a register, a root */
    if (w) {
      atomic_fetch_add(&reads, 1);
      if (gh_base(w) != w || !gt_check(w, OBJ, seed_of(t, i))) atomic_fetch_add(&bad_reads, 1);
      if ((r >> 20) % 4 == 0) strong[t][i] = w;    /* resurrect */
      else if ((r >> 20) % 4 == 1) strong[t][i] = NULL; /* drop */
    } else {
      if (strong[t][i]) atomic_fetch_add(&bad_reads, 1); /* cleared while strongly held */
      atomic_fetch_add(&cleared_seen, 1);
      void *p = gh_alloc(OBJ);
      gt_fill(p, OBJ, seed_of(t, i));
      __atomic_store_n(&weak[i], p, __ATOMIC_RELAXED);
      if (gh_register_weak_link(&weak[i], p, (int)(r >> 40) & 1) != 0) atomic_fetch_add(&bad_reads, 1);
      if ((r >> 41) & 1) strong[t][i] = p;
    }
  }
  return NULL;
}
static void *weak_collector(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    gh_collect();
    gt_sleep_ms(1);
  }
  return NULL;
}
static void t_threads(void) {
  weak_words = gh_alloc_noscan(NTHREADS * PER_THREAD * sizeof(void *));
  uint64_t g0 = gt_num_gc();
  pthread_t th[NTHREADS], col = gt_thread(weak_collector, NULL, "gt-collector");
  for (int t = 0; t < NTHREADS; t++) th[t] = gt_thread(weak_thread, (void *)(intptr_t)t, "gt-weak");
  gt_sleep_ms(1500);
  atomic_store(&stop, 1);
  for (int t = 0; t < NTHREADS; t++) pthread_join(th[t], NULL);
  pthread_join(col, NULL);
  CHECKF("threads: every object read back through a weak link is intact", atomic_load(&bad_reads) == 0,
         "%ld bad of %ld reads", atomic_load(&bad_reads), atomic_load(&reads));
  CHECKF("threads: links were read and cleared under collections",
         atomic_load(&reads) > 1000 && atomic_load(&cleared_seen) > 100 && gt_num_gc() - g0 >= 10,
         "%ld reads, %ld cleared, %llu collections", atomic_load(&reads), atomic_load(&cleared_seen),
         (unsigned long long)(gt_num_gc() - g0));
  int ok = 1;
  for (int i = 0; i < NTHREADS * PER_THREAD; i++) {
    void *w = weak_words[i];
    if (w && (gh_base(w) != w || !gt_check(w, OBJ, seed_of(i / PER_THREAD, i % PER_THREAD)))) ok = 0;
  }
  CHECK("threads: at the end every link still set names an intact object", ok);
}

int main(void) {
  alarm(60);
  gh_set_error_mode(GH_ERROR_REPORT);
  t_registration();
  t_clearing();
  t_memory();
  t_threads();
  CHECK("no bad call reported", gh_error_count() == 0);
  return TEST_SUMMARY();
}
