/*
 * test_finalizers.c -- gh_set_finalizer with Go's semantics.
 *
 *   A. Never while reachable, exactly once, soon after: 100 objects held in
 *      a global survive 20 collections unfinalized; once the global is
 *      cleared >= 90% are finalized within 10 forced collections, each at
 *      most once (also after 10 more collections), on a thread other than
 *      the caller's, with the object's contents intact.
 *   B. What a finalizable object references stays alive until its finalizer
 *      has returned: 300 chains A(fin) -> B (scanned) -> C (noscan); A's
 *      finalizer checks A, B and C, sleeps 1 ms, and checks them again while
 *      the main thread collects and churns allocations of the same sizes
 *      (1 ms apart: a collection in a tight loop would keep the sleeping
 *      finalizer thread stopped most of the time).
 *   C. Resurrection: a finalizer storing obj into a global keeps it alive and
 *      intact, and it is not finalized again; a finalizer set again (by the
 *      main thread, or by the finalizer itself) runs once more after the
 *      object is dropped again, and not a third time.
 *   D. gh_set_finalizer(obj, NULL, NULL) removes it: it never runs (while
 *      a control group dropped alongside is finalized).
 *   E. Cycles (Go's semantics, runtime.SetFinalizer: "If a cyclic structure
 *      includes a block with a finalizer, that cycle is not guaranteed to be
 *      garbage collected"; Go's collector in fact never finalizes them):
 *      pairs A<->B both finalizable and self-referencing finalizable objects
 *      are never finalized; a chain A(fin) -> B(fin) is finalized in order,
 *      B only after A's finalizer has returned; A(fin) -> X <-> Y (a cycle
 *      without finalizers) is finalized.
 *   F. Bad calls: gh_set_finalizer on a malloc'd block, an interior pointer,
 *      a stack or global address, or a gh_free'd object is reported (error
 *      mode REPORT, gh_error_count) and ignored (no finalizer ever runs).
 *   G. A finalizer may allocate: what it allocates and publishes survives.
 *   H. 100,000 finalizable 1 KiB objects dropped in rounds: all finalized,
 *      and then freed (heap_sys stays bounded).
 *   I. stats.finalizers_run equals the number of finalizer calls seen.
 *   J. gh_free of a finalizable object (small and large) drops the
 *      finalizer: it never runs, also not for a new object in the same slot.
 *   K. A second gh_set_finalizer on an object replaces the first (bdwgc's
 *      behaviour; Go panics): only the second runs.
 *   L. Noscan and large objects are finalized like the others.
 *   M. gh_await_finalizers: after one gh_collect, it returns 0 with >= 90 of
 *      100 dropped objects' finalizers (2 ms each) returned and none still
 *      running; with a finalizer blocked it returns ETIMEDOUT after its
 *      timeout (not before), then 0 once the finalizer is let go; called
 *      from a finalizer it returns EDEADLK at once.
 */
#define _GNU_SOURCE
#include "gctest.h"

static atomic_long all_calls;   /* every finalizer call of this test */
static pthread_t main_thread;
static atomic_int fin_on_main;  /* a finalizer ran on the main thread */

static void fin_count(void *obj, void *arg) {
  (void)obj;
  atomic_fetch_add(&all_calls, 1);
  if (pthread_equal(pthread_self(), main_thread)) atomic_store(&fin_on_main, 1);
  atomic_fetch_add((atomic_long *)arg, 1);
}

/* ---- A ---------------------------------------------------------------------- */
enum { NA = 100, SZA = 80 };
static void *volatile held[NA];
static atomic_int calls_a[NA];
static atomic_long fin_a, fin_a_bad;
static void fin_a_fn(void *obj, void *arg) {
  atomic_fetch_add(&all_calls, 1);
  if (pthread_equal(pthread_self(), main_thread)) atomic_store(&fin_on_main, 1);
  int i = (int)(intptr_t)arg;
  if (!gt_check(obj, SZA, 100 + (uint64_t)i) || gh_base(obj) != obj) atomic_fetch_add(&fin_a_bad, 1);
  atomic_fetch_add(&calls_a[i], 1);
  atomic_fetch_add(&fin_a, 1);
}
GT_NOINLINE static void plant_a(void) {
  for (int i = 0; i < NA; i++) {
    void *p = gh_alloc(SZA);
    gt_fill(p, SZA, 100 + (uint64_t)i);
    gh_set_finalizer(p, fin_a_fn, (void *)(intptr_t)i);
    held[i] = p;
  }
}
GT_NOINLINE static void clear_a(void) {
  for (int i = 0; i < NA; i++) held[i] = NULL;
}
static void test_a(void) {
  plant_a();
  gt_settle(20);
  CHECKF("A: objects held in a global are not finalized over 20 collections", atomic_load(&fin_a) == 0, "%ld ran",
         atomic_load(&fin_a));
  clear_a();
  uint64_t f0 = gt_stats().num_forced_gc;
  int ok = gt_wait_count(&fin_a, NA * 9 / 10, 5000);
  uint64_t used = gt_stats().num_forced_gc - f0;
  CHECKF("A: once dropped, >= 90% are finalized", ok, "%ld of %d", atomic_load(&fin_a), NA);
  CHECKF("A: ... within 10 forced collections", used <= 10, "%llu collections", (unsigned long long)used);
  gt_settle(10);
  int twice = 0;
  for (int i = 0; i < NA; i++) twice += atomic_load(&calls_a[i]) > 1;
  CHECKF("A: no finalizer ran twice", twice == 0, "%d objects finalized more than once", twice);
  CHECKF("A: the object is intact when its finalizer runs", atomic_load(&fin_a_bad) == 0, "%ld bad",
         atomic_load(&fin_a_bad));
  CHECK("A: finalizers do not run on the caller's thread", atomic_load(&fin_on_main) == 0);
}

/* ---- B ---------------------------------------------------------------------- */
enum { NB = 300, SZB_A = 64, SZB_B = 256, SZB_C = 1000 };
static atomic_long fin_b, fin_b_bad;
static int chain_ok(void **a, int i) {
  if (gh_base(a) != a || !gt_check((char *)a + 8, SZB_A - 8, 1000 + (uint64_t)i)) return 0;
  void **b = a[0];
  if (gh_base(b) != b || !gt_check((char *)b + 8, SZB_B - 8, 2000 + (uint64_t)i)) return 0;
  void *c = b[0];
  return gh_base(c) == c && gt_check(c, SZB_C, 3000 + (uint64_t)i);
}
static void fin_b_fn(void *obj, void *arg) {
  atomic_fetch_add(&all_calls, 1);
  int i = (int)(intptr_t)arg;
  int ok = chain_ok(obj, i);
  gt_sleep_ms(1); /* the main thread collects meanwhile */
  ok = ok && chain_ok(obj, i);
  if (!ok) atomic_fetch_add(&fin_b_bad, 1);
  atomic_fetch_add(&fin_b, 1);
}
GT_NOINLINE static void plant_b(void) {
  for (int i = 0; i < NB; i++) {
    void **a = gh_alloc(SZB_A), **b = gh_alloc(SZB_B);
    void *c = gh_alloc_noscan(SZB_C);
    gt_fill((char *)a + 8, SZB_A - 8, 1000 + (uint64_t)i);
    gt_fill((char *)b + 8, SZB_B - 8, 2000 + (uint64_t)i);
    gt_fill(c, SZB_C, 3000 + (uint64_t)i);
    b[0] = c;
    a[0] = b;
    gh_set_finalizer(a, fin_b_fn, (void *)(intptr_t)i);
  }
}
static void test_b(void) {
  plant_b();
  uint64_t end = gt_now_ms() + 8000;
  while (atomic_load(&fin_b) < NB * 9 / 10 && gt_now_ms() < end) {
    gt_clear_stack();
    gh_collect();
    gt_churn(SZB_A, 200, 0);
    gt_churn(SZB_B, 100, 0);
    gt_churn(SZB_C, 50, 1);
    gt_sleep_ms(1); /* a thread sleeping in a finalizer progresses only while the world runs */
  }
  CHECKF("B: >= 90% of the chains are finalized", atomic_load(&fin_b) >= NB * 9 / 10, "%ld of %d",
         atomic_load(&fin_b), NB);
  CHECKF("B: a finalizable object and everything it references are intact until its finalizer returns",
         atomic_load(&fin_b_bad) == 0, "%ld of %ld chains damaged", atomic_load(&fin_b_bad), atomic_load(&fin_b));
}

/* ---- C ---------------------------------------------------------------------- */
enum { NC = 20, SZC = 200 };
static void *volatile resurrected[NC];
static atomic_int calls_c[NC], calls_c2[NC];
static atomic_long fin_c, fin_c2;
static void fin_resurrect(void *obj, void *arg) {
  atomic_fetch_add(&all_calls, 1);
  int i = (int)(intptr_t)arg;
  resurrected[i] = obj;
  atomic_fetch_add(&calls_c[i], 1);
  atomic_fetch_add(&fin_c, 1);
}
static void fin_c2_fn(void *obj, void *arg) {
  (void)obj;
  atomic_fetch_add(&all_calls, 1);
  atomic_fetch_add(&calls_c2[(int)(intptr_t)arg], 1);
  atomic_fetch_add(&fin_c2, 1);
}
/* Re-arming from inside the finalizer. */
static void *volatile rearmed[NC];
static atomic_int calls_r[NC];
static atomic_long fin_r1, fin_r2;
static void fin_rearm(void *obj, void *arg) {
  atomic_fetch_add(&all_calls, 1);
  int i = (int)(intptr_t)arg;
  int n = atomic_fetch_add(&calls_r[i], 1) + 1;
  if (n == 1) {
    rearmed[i] = obj;
    gh_set_finalizer(obj, fin_rearm, arg);
    atomic_fetch_add(&fin_r1, 1);
  } else {
    atomic_fetch_add(&fin_r2, 1);
  }
}
GT_NOINLINE static void plant_c(void) {
  for (int i = 0; i < NC; i++) {
    void *p = gh_alloc(SZC);
    gt_fill(p, SZC, 5000 + (uint64_t)i);
    gh_set_finalizer(p, fin_resurrect, (void *)(intptr_t)i);
    void *q = gh_alloc(SZC);
    gt_fill(q, SZC, 6000 + (uint64_t)i);
    gh_set_finalizer(q, fin_rearm, (void *)(intptr_t)i);
  }
}
GT_NOINLINE static int rearm_from_main(void) {
  int n = 0;
  for (int i = 0; i < NC; i++) {
    void *p = resurrected[i];
    if (!p) continue;
    gh_set_finalizer(p, fin_c2_fn, (void *)(intptr_t)i);
    resurrected[i] = NULL;
    n++;
  }
  return n;
}
GT_NOINLINE static void drop_rearmed(void) {
  for (int i = 0; i < NC; i++) rearmed[i] = NULL;
}
static void test_c(void) {
  plant_c();
  int ok = gt_wait_count(&fin_c, NC * 9 / 10, 5000) & gt_wait_count(&fin_r1, NC * 9 / 10, 5000);
  CHECKF("C: resurrecting finalizers ran", ok, "%ld and %ld of %d", atomic_load(&fin_c), atomic_load(&fin_r1), NC);
  static const size_t sizes[] = {SZC, 64, 4096};
  gt_collect_and_churn(15, sizes, 3);
  gt_settle(5);
  int twice = 0, lost = 0, n = 0;
  for (int i = 0; i < NC; i++) {
    twice += atomic_load(&calls_c[i]) > 1 || atomic_load(&calls_r[i]) > 1;
    void *p = resurrected[i];
    if (p) {
      n++;
      lost += gh_base(p) != p || !gt_check(p, SZC, 5000 + (uint64_t)i);
    }
    p = rearmed[i];
    if (p) lost += gh_base(p) != p || !gt_check(p, SZC, 6000 + (uint64_t)i);
  }
  CHECKF("C: a resurrected object is not finalized again", twice == 0, "%d", twice);
  CHECKF("C: a resurrected object stays alive and intact", lost == 0 && n == atomic_load(&fin_c), "%d lost", lost);
  int armed = rearm_from_main();
  ok = gt_wait_count(&fin_c2, armed * 9 / 10, 5000);
  CHECKF("C: a finalizer set again on a resurrected object runs once it is dropped again", ok, "%ld of %d",
         atomic_load(&fin_c2), armed);
  drop_rearmed();
  ok = gt_wait_count(&fin_r2, atomic_load(&fin_r1) * 9 / 10, 5000);
  CHECKF("C: a finalizer that sets itself again runs a second time", ok, "%ld of %ld", atomic_load(&fin_r2),
         atomic_load(&fin_r1));
  gt_settle(5);
  int thrice = 0;
  for (int i = 0; i < NC; i++)
    thrice += atomic_load(&calls_c[i]) > 1 || atomic_load(&calls_c2[i]) > 1 || atomic_load(&calls_r[i]) > 2;
  CHECKF("C: and no more", thrice == 0, "%d", thrice);
}

/* ---- D ---------------------------------------------------------------------- */
enum { ND = 100 };
static atomic_long fin_removed, fin_control;
GT_NOINLINE static void plant_d(void) {
  for (int i = 0; i < ND; i++) {
    void *p = gh_alloc(96), *q = gh_alloc(96);
    gh_set_finalizer(p, fin_count, &fin_removed);
    gh_set_finalizer(q, fin_count, &fin_control);
    gh_set_finalizer(p, NULL, NULL);
  }
}
static void test_d(void) {
  plant_d();
  int ok = gt_wait_count(&fin_control, ND * 9 / 10, 5000);
  gt_settle(5);
  CHECKF("D: the control group is finalized", ok, "%ld of %d", atomic_load(&fin_control), ND);
  CHECKF("D: a removed finalizer never runs", atomic_load(&fin_removed) == 0, "%ld ran", atomic_load(&fin_removed));
}

/* ---- E ---------------------------------------------------------------------- */
enum { NE = 30 };
static atomic_long fin_pair, fin_self, fin_ea, fin_eb, fin_eb_early, fin_acyc;
static atomic_int done_ea[NE];
static void fin_ea_fn(void *obj, void *arg) {
  (void)obj;
  atomic_fetch_add(&all_calls, 1);
  atomic_store(&done_ea[(int)(intptr_t)arg], 1);
  atomic_fetch_add(&fin_ea, 1);
}
static void fin_eb_fn(void *obj, void *arg) {
  (void)obj;
  atomic_fetch_add(&all_calls, 1);
  if (!atomic_load(&done_ea[(int)(intptr_t)arg])) atomic_fetch_add(&fin_eb_early, 1);
  atomic_fetch_add(&fin_eb, 1);
}
GT_NOINLINE static void plant_e(void) {
  for (int i = 0; i < NE; i++) {
    void **a = gh_alloc(32), **b = gh_alloc(32), **s = gh_alloc(32);
    a[0] = b, b[0] = a, s[0] = s; /* a <-> b; s -> s */
    gh_set_finalizer(a, fin_count, &fin_pair);
    gh_set_finalizer(b, fin_count, &fin_pair);
    gh_set_finalizer(s, fin_count, &fin_self);
    void **c = gh_alloc(40), **d = gh_alloc(40); /* c(fin) -> d(fin) */
    c[1] = d;
    gh_set_finalizer(c, fin_ea_fn, (void *)(intptr_t)i);
    gh_set_finalizer(d, fin_eb_fn, (void *)(intptr_t)i);
    void **e = gh_alloc(48), **x = gh_alloc(48), **y = gh_alloc(48); /* e(fin) -> x <-> y */
    e[0] = x, x[0] = y, y[0] = x;
    gh_set_finalizer(e, fin_count, &fin_acyc);
  }
}
static void test_e(void) {
  plant_e();
  int ok1 = gt_wait_count(&fin_ea, NE * 9 / 10, 5000);
  int ok2 = gt_wait_count(&fin_eb, NE * 9 / 10, 5000);
  int ok3 = gt_wait_count(&fin_acyc, NE * 9 / 10, 5000);
  gt_settle(10);
  CHECKF("E: a cycle of two finalizable objects is never finalized (Go)", atomic_load(&fin_pair) == 0, "%ld ran",
         atomic_load(&fin_pair));
  CHECKF("E: a finalizable object pointing to itself is never finalized (Go)", atomic_load(&fin_self) == 0,
         "%ld ran", atomic_load(&fin_self));
  CHECKF("E: chain A(fin) -> B(fin): A is finalized", ok1, "%ld of %d", atomic_load(&fin_ea), NE);
  CHECKF("E: chain A(fin) -> B(fin): B is finalized later", ok2, "%ld of %d", atomic_load(&fin_eb), NE);
  CHECKF("E: B's finalizer never runs before A's", atomic_load(&fin_eb_early) == 0, "%ld early",
         atomic_load(&fin_eb_early));
  CHECKF("E: A(fin) -> X <-> Y (cycle without finalizers): A is finalized", ok3, "%ld of %d",
         atomic_load(&fin_acyc), NE);
}

/* ---- F ---------------------------------------------------------------------- */
static atomic_long fin_bad;
static void *global_word;
GT_NOINLINE static void bad_interior(int n) {
  for (int i = 0; i < n; i++) {
    char *p = gh_alloc(64);
    gh_set_finalizer(p + 8, fin_count, &fin_bad);
    char *q = gh_alloc(100 * GT_KiB);
    gh_set_finalizer(q + 50000, fin_count, &fin_bad);
  }
}
static void test_f(void) {
  gh_set_error_mode(GH_ERROR_REPORT);
  uint64_t e0 = gh_error_count();
  void *m = malloc(64);
  gh_set_finalizer(m, fin_count, &fin_bad);
  CHECKF("F: gh_set_finalizer on a malloc'd block is reported", gh_error_count() == e0 + 1, "%llu",
         (unsigned long long)(gh_error_count() - e0));
  free(m);
  int local;
  gh_set_finalizer(&local, fin_count, &fin_bad);
  CHECK("F: gh_set_finalizer on a stack address is reported", gh_error_count() == e0 + 2);
  gh_set_finalizer(&global_word, fin_count, &fin_bad);
  CHECK("F: gh_set_finalizer on a global's address is reported", gh_error_count() == e0 + 3);
  void *f = gh_alloc(64);
  gh_free(f);
  gh_set_finalizer(f, fin_count, &fin_bad);
  CHECK("F: gh_set_finalizer on a gh_free'd object is reported", gh_error_count() == e0 + 4);
  void *big = gh_alloc(64 * GT_KiB);
  gh_free(big);
  gh_set_finalizer(big, fin_count, &fin_bad);
  CHECK("F: gh_set_finalizer on a gh_free'd large object is reported", gh_error_count() == e0 + 5);
  bad_interior(20);
  CHECKF("F: gh_set_finalizer on an interior pointer (small and large) is reported", gh_error_count() == e0 + 45,
         "%llu reports for 40 calls", (unsigned long long)(gh_error_count() - e0 - 5));
  gt_settle(8);
  CHECKF("F: a finalizer refused never runs", atomic_load(&fin_bad) == 0, "%ld ran", atomic_load(&fin_bad));
}

/* ---- G ---------------------------------------------------------------------- */
enum { NG = 50 };
static void *volatile made[NG];
static atomic_long fin_g;
static void fin_alloc(void *obj, void *arg) {
  (void)obj;
  atomic_fetch_add(&all_calls, 1);
  int i = (int)(intptr_t)arg;
  void *p = gh_alloc(300);
  gt_fill(p, 300, 7000 + (uint64_t)i);
  made[i] = p;
  atomic_fetch_add(&fin_g, 1);
}
GT_NOINLINE static void plant_g(void) {
  for (int i = 0; i < NG; i++) gh_set_finalizer(gh_alloc(24), fin_alloc, (void *)(intptr_t)i);
}
static void test_g(void) {
  plant_g();
  int ok = gt_wait_count(&fin_g, NG * 9 / 10, 5000);
  CHECKF("G: finalizers that allocate ran", ok, "%ld of %d", atomic_load(&fin_g), NG);
  static const size_t sizes[] = {300, 24};
  gt_collect_and_churn(10, sizes, 2);
  int bad = 0;
  for (int i = 0; i < NG; i++) {
    void *p = made[i];
    if (p) bad += gh_base(p) != p || !gt_check(p, 300, 7000 + (uint64_t)i);
  }
  CHECKF("G: what a finalizer allocated and published survives, intact", bad == 0, "%d bad", bad);
}

/* ---- H ---------------------------------------------------------------------- */
static atomic_long fin_h;
GT_NOINLINE static void plant_h(int n) {
  for (int i = 0; i < n; i++) {
    char *p = gh_alloc(1000);
    p[999] = 1;
    gh_set_finalizer(p, fin_count, &fin_h);
  }
  gt_clear_regs();
}
static void test_h(void) {
  uint64_t max_sys = 0, t = gt_now_ms();
  long total = 0;
  for (int r = 0; r < 20; r++) {
    plant_h(5000);
    total += 5000;
    gt_wait_count(&fin_h, total * 9 / 10, 5000);
    uint64_t s = gt_stats().heap_sys;
    if (s > max_sys) max_sys = s;
  }
  CHECKF("H: 100,000 dropped finalizable objects are finalized (>= 90%)", atomic_load(&fin_h) >= total * 9 / 10,
         "%ld of %ld", atomic_load(&fin_h), total);
  CHECKF("H: ... and freed afterwards: heap_sys stays under 96 MiB", max_sys < 96 * GT_MiB, "max %llu MiB",
         (unsigned long long)(max_sys >> 20));
  printf("H: %ld finalizers in %llu ms\n", atomic_load(&fin_h), (unsigned long long)(gt_now_ms() - t));
}

/* ---- J, K, L ------------------------------------------------------------------ */
/* J: gh_free of a finalizable object drops its finalizer, also for whatever
 * reuses the slot. */
enum { NJ = 100 };
static atomic_long fin_freed;
static void *volatile reusers[4 * NJ];
GT_NOINLINE static void plant_j(void) {
  for (int i = 0; i < NJ; i++) {
    void *p = gh_alloc(112);
    gh_set_finalizer(p, fin_count, &fin_freed);
    gh_free(p);
  }
  for (int i = 0; i < 10; i++) {
    void *q = gh_alloc(64 * GT_KiB);
    gh_set_finalizer(q, fin_count, &fin_freed);
    gh_free(q);
  }
}
GT_NOINLINE static void reuse_j(void) {
  for (int i = 0; i < 4 * NJ; i++) reusers[i] = gh_alloc(i % 40 == 0 ? 64 * GT_KiB : 112);
  reusers[0] = NULL;
}
GT_NOINLINE static void drop_j(void) {
  for (int i = 0; i < 4 * NJ; i++) reusers[i] = NULL;
}
/* K: a second gh_set_finalizer replaces the first; one of them runs, once. */
enum { NK = 50 };
static atomic_long fin_k1, fin_k2;
GT_NOINLINE static void plant_k(void) {
  for (int i = 0; i < NK; i++) {
    void *p = gh_alloc(40);
    gh_set_finalizer(p, fin_count, &fin_k1);
    gh_set_finalizer(p, fin_count, &fin_k2);
  }
}
/* L: noscan and large objects are finalized too. */
static atomic_long fin_l_noscan, fin_l_large;
GT_NOINLINE static void plant_l(void) {
  for (int i = 0; i < 50; i++) gh_set_finalizer(gh_alloc_noscan(48 + (size_t)i), fin_count, &fin_l_noscan);
  for (int i = 0; i < 20; i++) gh_set_finalizer(gh_alloc(40 * GT_KiB + (size_t)i * 4096), fin_count, &fin_l_large);
}
static void test_jkl(void) {
  plant_j();
  reuse_j();
  gt_settle(5);
  drop_j();
  gt_settle(10);
  CHECKF("J: gh_free of a finalizable object (small, large): its finalizer never runs, even once the slot is reused",
         atomic_load(&fin_freed) == 0, "%ld ran", atomic_load(&fin_freed));
  plant_k();
  int ok = gt_wait_count(&fin_k2, NK * 9 / 10, 5000);
  gt_settle(3);
  CHECKF("K: a second gh_set_finalizer replaces the first: the second runs", ok, "%ld of %d", atomic_load(&fin_k2), NK);
  CHECKF("K: ... and the replaced one never does", atomic_load(&fin_k1) == 0, "%ld ran", atomic_load(&fin_k1));
  plant_l();
  ok = gt_wait_count(&fin_l_noscan, 45, 5000);
  CHECKF("L: noscan objects are finalized", ok, "%ld of 50", atomic_load(&fin_l_noscan));
  ok = gt_wait_count(&fin_l_large, 18, 5000);
  CHECKF("L: large objects are finalized", ok, "%ld of 20", atomic_load(&fin_l_large));
}

/* ---- M ---------------------------------------------------------------------- */
enum { NM = 100, NM_BLOCK = 20 };
static atomic_long m_started, m_finished, m_deadlk, m_other_rc;
static atomic_int m_release;
static void fin_slow(void *obj, void *arg) {
  (void)obj, (void)arg;
  atomic_fetch_add(&all_calls, 1);
  atomic_fetch_add(&m_started, 1);
  gt_sleep_ms(2);
  atomic_fetch_add(&m_finished, 1);
}
static void fin_block(void *obj, void *arg) {
  (void)obj, (void)arg;
  atomic_fetch_add(&all_calls, 1);
  int rc = gh_await_finalizers(0);
  atomic_fetch_add(rc == EDEADLK ? &m_deadlk : &m_other_rc, 1);
  while (!atomic_load(&m_release)) gt_sleep_ms(1);
}
GT_NOINLINE static void plant_m(void (*fn)(void *, void *), int n) {
  for (int i = 0; i < n; i++) gh_set_finalizer(gh_alloc(64), fn, NULL);
}
static void test_m(void) {
  plant_m(fin_slow, NM);
  gt_clear_stack();
  gh_collect();
  int rc = gh_await_finalizers(-1);
  long started = atomic_load(&m_started), finished = atomic_load(&m_finished);
  CHECKF("M: after gh_collect, gh_await_finalizers returns once the finalizers it queued have returned",
         rc == 0 && started >= NM * 9 / 10 && finished == started, "rc %d, %ld started, %ld finished of %d", rc,
         started, finished, NM);

  plant_m(fin_block, NM_BLOCK);
  gt_clear_stack();
  gh_collect();
  uint64_t t0 = gt_now_ms();
  rc = gh_await_finalizers(50);
  uint64_t ms = gt_now_ms() - t0;
  CHECKF("M: with a finalizer blocked, it returns ETIMEDOUT after the 50 ms timeout", rc == ETIMEDOUT && ms >= 50,
         "rc %d after %llu ms", rc, (unsigned long long)ms);
  atomic_store(&m_release, 1);
  rc = gh_await_finalizers(-1);
  CHECKF("M: ... and 0 once the finalizer is let go", rc == 0, "rc %d", rc);
  CHECKF("M: called from a finalizer, it returns EDEADLK", atomic_load(&m_deadlk) > 0 && atomic_load(&m_other_rc) == 0,
         "%ld EDEADLK, %ld other", atomic_load(&m_deadlk), atomic_load(&m_other_rc));
}

int main(void) {
  alarm(60); /* a deadlock fails the test instead of hanging it */
  main_thread = pthread_self();
  gh_set_error_mode(GH_ERROR_REPORT);
  uint64_t t0 = gt_now_ms();
  gh_stats s0 = gt_stats();
  test_a();
  test_b();
  test_c();
  test_d();
  test_e();
  test_f();
  test_g();
  test_h();
  test_jkl();
  test_m();
  CHECK("no finalizer ran on the main thread", atomic_load(&fin_on_main) == 0);
  /* I. the stat counts returned finalizers: wait for the last to return. */
  gh_await_finalizers(3000);
  gh_stats s1 = gt_stats();
  CHECKF("I: stats.finalizers_run equals the finalizer calls seen",
         (long)(s1.finalizers_run - s0.finalizers_run) == atomic_load(&all_calls), "stat %llu, seen %ld",
         (unsigned long long)(s1.finalizers_run - s0.finalizers_run), atomic_load(&all_calls));
  printf("test_finalizers: %llu collections, %ld finalizers, %llu ms\n", (unsigned long long)s1.num_gc,
         atomic_load(&all_calls), (unsigned long long)(gt_now_ms() - t0));
  return TEST_SUMMARY();
}
