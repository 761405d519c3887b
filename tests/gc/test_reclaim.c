/*
 * test_reclaim.c -- garbage is reclaimed, and the pacer's knobs work.
 *
 *   1. 1.5 million small collected allocations (scanned and noscan, in
 *      short linked lists), 2 million tiny noscan ones (1..15 bytes, packed
 *      into 16-byte blocks) and 3000 large ones, none kept: heap_sys stays
 *      bounded with the default GOGC, collections are triggered by
 *      allocation alone, and after a collection heap_alloc is small again.
 *   2. A pointer stored in a gh_alloc_noscan object does not keep its target
 *      alive (>= 90% finalized), while the same in a scanned object does
 *      (none finalized); the collector leaves the noscan words as they were.
 *   3. gh_free of a collected object: frees at once (large: gh_base is NULL
 *      and heap_inuse drops), slots are reused, the frees are counted; a
 *      double free and an interior free of a collected object are reported.
 *      gh_realloc keeps the kind (collected stays collected, noscan stays
 *      noscan, malloc'd stays manual).
 *   4. GOGC: gh_set_gc_percent returns the old value; with an 8 MiB live heap
 *      GOGC=25 gives more than twice the collections of GOGC=400 for the same
 *      garbage, and next_gc follows marked * (1 + GOGC/100).
 *   5. Memory limit: with GOGC off and a 64 MiB limit, collections still
 *      happen and heap_inuse stays near the limit; the limit lowers next_gc
 *      below what GOGC alone gives; a negative argument only queries.
 *   6. gh_set_gc_percent(-1): no automatic collection over 200 MB of garbage
 *      (gh_collect still works, counted in num_forced_gc); re-enabling works.
 */
#define _GNU_SOURCE
#include "gctest.h"

static int env_overrides(void) { return getenv("GOHEAP_GOGC") || getenv("GOHEAP_MEMLIMIT"); }

/* ---- 1. bounded heap -------------------------------------------------------- */
typedef struct node {
  struct node *next;
  uint64_t v;
} node;

static uint64_t max_sys, max_inuse;
static void note_sys(void) {
  gh_stats st = gt_stats();
  if (st.heap_sys > max_sys) max_sys = st.heap_sys;
  if (st.heap_inuse > max_inuse) max_inuse = st.heap_inuse;
}

GT_NOINLINE static void garbage_small(long n) {
  node *prev = NULL;
  for (long i = 0; i < n; i++) {
    uint64_t r = th_rand();
    size_t sz = 16 + r % 1009;
    if (r >> 60 < 4) { /* a quarter noscan */
      char *p = gh_alloc_noscan(sz);
      if (!p) abort();
      p[sz - 1] = 1;
    } else {
      node *p = gh_alloc(sz);
      if (!p) abort();
      p->next = i % 100 ? prev : NULL; /* lists of 100, then a fresh one */
      p->v = (uint64_t)i;
      prev = p;
    }
    if (i % 20000 == 0) note_sys();
  }
  gt_clear_regs();
}

GT_NOINLINE static void garbage_tiny(long n) {
  for (long i = 0; i < n; i++) {
    char *p = gh_alloc_noscan(1 + (size_t)(i % 15));
    if (!p) abort();
    p[0] = 1;
    if (i % 50000 == 0) note_sys();
  }
  gt_clear_regs();
}

GT_NOINLINE static void garbage_large(int n) {
  for (int i = 0; i < n; i++) {
    size_t sz = 128 * GT_KiB + th_rand() % (900 * GT_KiB);
    char *p = (i & 1) ? gh_alloc_noscan(sz) : gh_alloc(sz);
    if (!p) abort();
    p[0] = p[sz - 1] = 1;
    if (i % 50 == 0) note_sys();
  }
  gt_clear_regs();
}

/* Allocates about `bytes` of 1 KiB garbage objects. */
GT_NOINLINE static void garbage_bytes(size_t bytes) {
  for (size_t done = 0; done < bytes; done += 1024) {
    char *p = gh_alloc(1024 - 16);
    if (!p) abort();
    p[0] = 1;
    if ((done & (4 * GT_MiB - 1)) == 0) note_sys();
  }
  gt_clear_regs();
}

static void test_bounded(void) {
  gh_stats s0 = gt_stats();
  max_sys = 0;
  uint64_t t = gt_now_ms();
  garbage_small(1500000);
  gh_stats s1 = gt_stats();
  uint64_t auto_gc = (s1.num_gc - s1.num_forced_gc) - (s0.num_gc - s0.num_forced_gc);
  CHECKF("1.5M dropped small objects: heap_sys stays under 64 MiB", max_sys < 64 * GT_MiB, "max heap_sys %llu MiB",
         (unsigned long long)(max_sys >> 20));
  CHECKF("allocation alone triggers collections (>= 10)", auto_gc >= 10, "%llu automatic collections",
         (unsigned long long)auto_gc);
  max_sys = 0;
  garbage_tiny(2000000);
  CHECKF("2M dropped tiny noscan objects (1..15 B): heap_sys stays under 64 MiB", max_sys < 64 * GT_MiB,
         "max heap_sys %llu MiB", (unsigned long long)(max_sys >> 20));
  max_sys = 0;
  garbage_large(3000);
  CHECKF("3000 dropped large objects (128 KiB..1 MiB): heap_sys stays under 128 MiB", max_sys < 128 * GT_MiB,
         "max heap_sys %llu MiB", (unsigned long long)(max_sys >> 20));
  gt_collect_n(2);
  gh_malloc_trim(0);
  gh_stats s2 = gt_stats();
  CHECKF("after a collection, heap_alloc is small again (< 16 MiB)", s2.heap_alloc < 16 * GT_MiB, "%llu KiB",
         (unsigned long long)(s2.heap_alloc >> 10));
  CHECKF("heap_marked is small (< 8 MiB)", s2.heap_marked < 8 * GT_MiB, "%llu KiB",
         (unsigned long long)(s2.heap_marked >> 10));
  CHECK("pause_total_ns accumulates", s2.pause_total_ns > 0 && s2.pause_total_ns >= s1.pause_total_ns);
  CHECK("the latest pause is in the ring", s2.pause_ns[(s2.num_gc + 255) % 256] > 0 || s2.pause_total_ns == 0);
  CHECK("last_gc_ns advances", s2.last_gc_ns >= s1.last_gc_ns && s2.last_gc_ns > 0);
  printf("bounded: %llu automatic collections, %llu ms\n", (unsigned long long)auto_gc,
         (unsigned long long)(gt_now_ms() - t));
}

/* ---- 2. noscan objects do not keep their targets ---------------------------- */
enum { NT = 100 };
static void **volatile noscan_box, **volatile scan_box;
static uintptr_t noscan_words[NT];
static atomic_long fin_noscan, fin_scan;
GT_NOINLINE static void plant_boxes(void) {
  noscan_box = gh_alloc_noscan(NT * sizeof(void *));
  scan_box = gh_alloc(NT * sizeof(void *));
  for (int i = 0; i < NT; i++) {
    void *a = gh_alloc(48), *b = gh_alloc(48);
    gh_set_finalizer(a, gt_fin_count, &fin_noscan);
    gh_set_finalizer(b, gt_fin_count, &fin_scan);
    noscan_box[i] = a;
    noscan_words[i] = gt_hide(a);
    scan_box[i] = b;
  }
}
static void test_noscan(void) {
  plant_boxes();
  int ok = gt_wait_count(&fin_noscan, NT * 9 / 10, 5000);
  CHECKF("pointers in a noscan object do not keep targets alive (>= 90% finalized)", ok, "%ld of %d",
         atomic_load(&fin_noscan), NT);
  gt_settle(3);
  CHECKF("the same pointers in a scanned object do (none finalized)", atomic_load(&fin_scan) == 0, "%ld",
         atomic_load(&fin_scan));
  int same = 1;
  for (int i = 0; i < NT; i++) same &= (uintptr_t)noscan_box[i] == ~noscan_words[i];
  CHECK("the noscan object's words are untouched", same);
  CHECK("a noscan object is collected", gh_is_collected(noscan_box) == 1);
  scan_box = NULL;
  ok = gt_wait_count(&fin_scan, NT * 9 / 10, 5000);
  CHECKF("once the scanned object is dropped its targets are finalized (>= 90%)", ok, "%ld of %d",
         atomic_load(&fin_scan), NT);
  noscan_box = NULL;
}

/* ---- 3. gh_free and gh_realloc of collected objects ------------------------- */
enum { NF = 1000 };
static uintptr_t freed_h[NF];
static int cmp_uptr(const void *a, const void *b) {
  uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
  return x < y ? -1 : x > y;
}
GT_NOINLINE static void alloc_and_free(void) {
  for (int i = 0; i < NF; i++) {
    char *p = gh_alloc(128);
    memset(p, 0x5a, 128);
    freed_h[i] = gt_hide(p);
  }
  for (int i = 0; i < NF; i++) gh_free(gt_reveal(freed_h[i]));
  qsort(freed_h, NF, sizeof freed_h[0], cmp_uptr);
}
GT_NOINLINE static int count_reuse(int n) {
  int reused = 0;
  for (int i = 0; i < n; i++) {
    char *p = gh_alloc(128);
    uintptr_t h = gt_hide(p);
    if (bsearch(&h, freed_h, NF, sizeof h, cmp_uptr)) reused++;
    for (int j = 0; j < 128; j++)
      if (p[j]) return -1; /* gh_alloc must zero reused slots */
  }
  return reused;
}

static atomic_long fin_realloc_noscan, fin_realloc_scan;
static void **volatile realloc_scan, **volatile realloc_noscan;
GT_NOINLINE static void plant_realloc_boxes(void) {
  void **s = gh_alloc(64), **n = gh_alloc_noscan(64);
  s = gh_realloc(s, 50 * sizeof(void *) + 4000);
  n = gh_realloc(n, 50 * sizeof(void *) + 4000);
  for (int i = 0; i < 50; i++) {
    void *a = gh_alloc(32), *b = gh_alloc(32);
    gh_set_finalizer(a, gt_fin_count, &fin_realloc_scan);
    gh_set_finalizer(b, gt_fin_count, &fin_realloc_noscan);
    s[i] = a;
    n[i] = b;
  }
  realloc_scan = s;
  realloc_noscan = n;
}

GT_NOINLINE static void test_free_realloc(void) {
  int old = gh_set_gc_percent(-1); /* reuse must come from gh_free, not from a collection */
  gh_stats s0 = gt_stats();
  alloc_and_free();
  int reused = count_reuse(4 * NF);
  CHECKF("gh_alloc after gh_free returns zeroed memory", reused >= 0, "a reused slot was not zeroed");
  CHECKF("slots freed with gh_free are reused (>= 50% of 1000)", reused >= NF / 2, "%d reused", reused);
  gh_malloc_trim(0);
  gh_stats s1 = gt_stats();
  CHECKF("gh_free'd collected objects are counted as frees", s1.frees - s0.frees >= NF, "%llu frees",
         (unsigned long long)(s1.frees - s0.frees));
  CHECK("no collection ran meanwhile (GOGC off)", s1.num_gc == s0.num_gc);

  /* A large collected object: freed at once. */
  gh_stats l0 = gt_stats();
  char *big = gh_alloc(8 * GT_MiB);
  memset(big, 1, 8 * GT_MiB);
  gh_stats l1 = gt_stats();
  gh_free(big);
  gh_stats l2 = gt_stats();
  CHECK("gh_free of a large collected object: gh_base is NULL at once", gh_base(big) == NULL && gh_base(big + 4096) == NULL);
  CHECKF("gh_free of a large collected object: heap_inuse drops at once", l1.heap_inuse - l2.heap_inuse >= 8 * GT_MiB,
         "inuse %llu -> %llu -> %llu", (unsigned long long)l0.heap_inuse, (unsigned long long)l1.heap_inuse,
         (unsigned long long)l2.heap_inuse);

  /* Bad frees of collected objects are reported like bad frees of malloc'd ones. */
  uint64_t e0 = gh_error_count();
  char *p = gh_alloc(200);
  gh_free(p + 8);
  CHECK("gh_free of an interior pointer of a collected object is reported", gh_error_count() == e0 + 1);
  CHECK("... and ignored: the object is still there", gh_base(p + 8) == p && gh_is_collected(p));
  gh_free(p);
  gh_free(p);
  CHECK("a double gh_free of a collected object is reported", gh_error_count() >= e0 + 2);
  char *q = gh_alloc(64 * GT_KiB);
  gh_free(q);
  gh_free(q);
  CHECK("a double gh_free of a large collected object is reported", gh_error_count() >= e0 + 3);

  /* gh_realloc keeps the kind. */
  char *r = gh_alloc(100);
  gt_fill(r, 100, 99);
  r = gh_realloc(r, 10000);
  CHECK("gh_realloc of a collected object (grow) is collected, prefix kept",
        gh_is_collected(r) == 1 && gt_check(r, 100, 99));
  r = gh_realloc(r, 40);
  CHECK("gh_realloc of a collected object (shrink) is collected, prefix kept", gh_is_collected(r) == 1 && gt_check(r, 40, 99));
  char *m = gh_realloc(gh_malloc(10), 1000);
  CHECK("gh_realloc of a malloc'd block stays manual", m && gh_is_collected(m) == 0);
  gh_free(m);
  gh_set_gc_percent(old);

  plant_realloc_boxes();
  int ok = gt_wait_count(&fin_realloc_noscan, 45, 5000);
  CHECKF("gh_realloc of a noscan object stays noscan: its pointers keep nothing (>= 45 of 50 finalized)", ok,
         "%ld", atomic_load(&fin_realloc_noscan));
  CHECKF("gh_realloc of a scanned object stays scanned: its pointers keep targets (none finalized)",
         atomic_load(&fin_realloc_scan) == 0, "%ld", atomic_load(&fin_realloc_scan));
  CHECK("realloc'd objects are collected", gh_is_collected(realloc_scan) && gh_is_collected(realloc_noscan));
  realloc_scan = realloc_noscan = NULL;
}

/* ---- 4-6. pacing ------------------------------------------------------------ */
enum { NLIVE = 128 };
static void **volatile live; /* 128 x 64 KiB noscan = 8 MiB live */
GT_NOINLINE static void make_live(void) {
  live = gh_alloc(NLIVE * sizeof(void *));
  for (int i = 0; i < NLIVE; i++) {
    live[i] = gh_alloc_noscan(64 * GT_KiB);
    memset(live[i], i, 64 * GT_KiB);
  }
}
static int live_ok(void) {
  for (int i = 0; i < NLIVE; i++) {
    unsigned char *p = live[i];
    if (p[0] != (unsigned char)i || p[64 * GT_KiB - 1] != (unsigned char)i || p[32 * GT_KiB] != (unsigned char)i) return 0;
  }
  return 1;
}

static uint64_t gcs_for_garbage(int pct, size_t bytes, gh_stats *after_collect) {
  gh_set_gc_percent(pct);
  gt_collect_n(1);
  *after_collect = gt_stats();
  uint64_t n0 = after_collect->num_gc;
  garbage_bytes(bytes);
  return gt_num_gc() - n0;
}

static void test_gogc(void) {
  int first = gh_set_gc_percent(100);
  if (!env_overrides()) CHECKF("the default GOGC is 100", first == 100, "%d", first);
  CHECK("gh_set_gc_percent returns the old value", gh_set_gc_percent(100) == 100);
  make_live();
  gh_stats a25, a400;
  uint64_t g25 = gcs_for_garbage(25, 256 * GT_MiB, &a25);
  uint64_t g400 = gcs_for_garbage(400, 256 * GT_MiB, &a400);
  CHECK("gh_set_gc_percent(400) returned 25", gh_set_gc_percent(100) == 400);
  CHECKF("GOGC=25 collects more than twice as often as GOGC=400", g25 > 2 * g400 && g400 >= 1,
         "%llu vs %llu collections for 256 MB", (unsigned long long)g25, (unsigned long long)g400);
  CHECK("stats.gc_percent follows", a25.gc_percent == 25 && a400.gc_percent == 400);
  double r25 = (double)a25.next_gc / (double)a25.heap_marked, r400 = (double)a400.next_gc / (double)a400.heap_marked;
  CHECKF("next_gc ~ marked * 1.25 with GOGC=25", r25 > 1.1 && r25 < 1.45, "marked %llu, next_gc %llu",
         (unsigned long long)a25.heap_marked, (unsigned long long)a25.next_gc);
  CHECKF("next_gc ~ marked * 5 with GOGC=400", r400 > 4.0 && r400 < 5.6, "marked %llu, next_gc %llu",
         (unsigned long long)a400.heap_marked, (unsigned long long)a400.next_gc);
  CHECKF("heap_marked sees the 8 MiB live heap", a25.heap_marked >= 8 * GT_MiB && a25.heap_marked < 24 * GT_MiB,
         "%llu", (unsigned long long)a25.heap_marked);
  CHECK("the live heap is intact", live_ok());
  printf("gogc: 25 -> %llu collections, 400 -> %llu collections\n", (unsigned long long)g25,
         (unsigned long long)g400);
}

static void test_gogc_off(void) {
  CHECK("gh_set_gc_percent(-1) returns the old value", gh_set_gc_percent(-1) == 100);
  gh_stats s0 = gt_stats();
  CHECK("stats.gc_percent is negative when off", s0.gc_percent < 0);
  garbage_bytes(200 * GT_MiB);
  gh_stats s1 = gt_stats();
  CHECKF("GOGC off: no automatic collection over 200 MB of garbage", s1.num_gc == s0.num_gc, "%llu collections",
         (unsigned long long)(s1.num_gc - s0.num_gc));
  gh_collect();
  gh_stats s2 = gt_stats();
  CHECK("GOGC off: gh_collect still collects", s2.num_gc == s1.num_gc + 1);
  CHECK("num_forced_gc counts gh_collect", s2.num_forced_gc == s1.num_forced_gc + 1);
  CHECK("re-enabling returns the negative value", gh_set_gc_percent(100) < 0);
  garbage_bytes(200 * GT_MiB);
  gh_stats s3 = gt_stats();
  CHECKF("re-enabled: allocation triggers collections again", s3.num_gc - s2.num_gc >= 2, "%llu",
         (unsigned long long)(s3.num_gc - s2.num_gc));
  CHECK("the live heap is intact", live_ok());
  live = NULL;
}

static void test_memlimit(void) {
  int64_t first = gh_set_memory_limit(-1);
  if (!env_overrides()) CHECKF("no memory limit by default (INT64_MAX)", first == INT64_MAX, "%lld", (long long)first);
  gh_set_gc_percent(-1);
  gt_collect_n(1);
  gh_malloc_trim(0);
  CHECK("gh_set_memory_limit returns the old value", gh_set_memory_limit(64 * (int64_t)GT_MiB) == first);
  CHECK("a negative argument only queries", gh_set_memory_limit(-1) == 64 * (int64_t)GT_MiB &&
                                                gh_set_memory_limit(-5) == 64 * (int64_t)GT_MiB);
  CHECK("stats.memory_limit follows", gt_stats().memory_limit == 64 * (int64_t)GT_MiB);
  gh_stats s0 = gt_stats();
  max_sys = max_inuse = 0;
  garbage_bytes(512 * GT_MiB);
  gh_stats s1 = gt_stats();
  CHECKF("GOGC off + 64 MiB limit: collections still happen", s1.num_gc - s0.num_gc >= 3, "%llu",
         (unsigned long long)(s1.num_gc - s0.num_gc));
  /* heap_sys may include memory committed earlier: look at what is in use. */
  CHECKF("GOGC off + 64 MiB limit: heap_inuse stays near the limit (< 80 MiB)", max_inuse < 80 * GT_MiB,
         "max heap_inuse %llu MiB", (unsigned long long)(max_inuse >> 20));
  CHECK("the live heap is intact", live_ok());

  /* The limit lowers the goal: live 8 MiB, GOGC 100 -> ~16 MiB; limit 12 MiB. */
  gh_set_gc_percent(100);
  gh_set_memory_limit(INT64_MAX);
  gt_collect_n(1);
  gh_stats free_goal = gt_stats();
  gh_set_memory_limit(12 * (int64_t)GT_MiB);
  gt_collect_n(1);
  gh_stats lim_goal = gt_stats();
  CHECKF("without a limit next_gc is about twice the live heap", free_goal.next_gc > 14 * GT_MiB,
         "next_gc %llu", (unsigned long long)free_goal.next_gc);
  CHECKF("a 12 MiB limit brings next_gc under 12 MiB", lim_goal.next_gc <= 12 * GT_MiB && lim_goal.next_gc >= lim_goal.heap_marked,
         "next_gc %llu, marked %llu", (unsigned long long)lim_goal.next_gc, (unsigned long long)lim_goal.heap_marked);
  gh_set_memory_limit(INT64_MAX);
  CHECK("the live heap is intact", live_ok());
}

int main(void) {
  alarm(60); /* a deadlock fails the test instead of hanging it */
  gh_set_error_mode(GH_ERROR_REPORT);
  uint64_t t0 = gt_now_ms();
  test_bounded();
  test_noscan();
  test_free_realloc();
  test_gogc();
  test_memlimit();
  test_gogc_off();
  printf("test_reclaim: %llu collections, %llu ms\n", (unsigned long long)gt_num_gc(),
         (unsigned long long)(gt_now_ms() - t0));
  return TEST_SUMMARY();
}
