/*
 * test_mark_callback.c -- gh_set_mark_callback, gh_mark_range, gh_is_marked:
 * memory the collector does not scan by itself (here anonymous mmap'd pages,
 * as a language runtime's stacks are) keeps objects alive when a mark
 * callback passes it to gh_mark_range, and only then.
 *
 *   - 200 collected objects (content-checked, each with a finalizer that
 *     counts deaths) referenced only from an mmap'd page: with the callback,
 *     none dies over 20 collections with churn, and all are intact;
 *   - rounds: a second mmap'd page is marked only once an object reachable
 *     through the first one is marked (gh_is_marked), which takes a second
 *     round: its 100 objects survive too, and the callback saw round >= 1;
 *   - the GH_MARK_DONE round comes once per collection;
 *   - objects found unreachable with a finalizer: the callback runs again
 *     once they are marked (kept for their finalizers), so that what it
 *     marks from them (a noscan object's first word, as libgc.so.1 traces a
 *     typed object) is intact when the finalizer runs, after churn that
 *     reuses any slot freed by mistake;
 *   - without the callback (removed), the objects die;
 *   - gh_mark_range outside a callback is ignored (a message, no crash);
 *   - gh_mark_pointer: an interior pointer to an unmarked object returns its
 *     start and says whether it is scanned (a scanned and a noscan one);
 *     the second call returns NULL, as does a pointer outside the heap; the
 *     objects it marked survive.
 */
#define _GNU_SOURCE 1
#include <stdatomic.h>
#include <sys/mman.h>

#include "gctest.h"

enum { NA = 200, NB = 100, SZ = 64 };

static void **page_a, **page_b; /* mmap'd: goheap does not scan them */
static void *volatile anchor;   /* in page_a[0]'s object: reached only by scanning that object */
static atomic_long dead_a, dead_b, done_rounds, max_round;
static atomic_int use_b;

static void fin_a(void *obj, void *arg) {
  (void)obj;
  (void)arg;
  atomic_fetch_add(&dead_a, 1);
}
static void fin_b(void *obj, void *arg) {
  (void)obj;
  (void)arg;
  atomic_fetch_add(&dead_b, 1);
}

static void callback(void *arg, unsigned round) {
  (void)arg;
  if (round == GH_MARK_DONE) {
    atomic_fetch_add(&done_rounds, 1);
    return;
  }
  if ((long)round > atomic_load(&max_round)) atomic_store(&max_round, (long)round);
  gh_mark_range(page_a, page_a + NA);
  /* page_b only once the object page_a[0] points to (through a scan of that
   * object, so not in round 0) is marked */
  void **holder = page_a[0];
  if (atomic_load(&use_b) && holder && holder[0] && gh_is_marked(holder[0])) gh_mark_range(page_b, page_b + NB);
}

/* ---- objects kept for their finalizers ---- */
#define NF 50
static volatile uintptr_t f_hidden[NF]; /* gt_hide'd: a noscan object whose first word points to a checked one */
static atomic_int f_go;
static atomic_long f_runs, f_bad;
static void fin_f(void *obj, void *arg) {
  (void)arg;
  for (int i = 0; i < 400 && !atomic_load(&f_go); i++) gt_sleep_ms(5); /* until the churn is done */
  void *p = ((void **)obj)[0];
  atomic_fetch_add(&f_runs, 1);
  if (!gt_check(p, SZ, 1300 + (uint64_t)((uintptr_t)((void **)obj)[1]))) atomic_fetch_add(&f_bad, 1);
}
static void f_callback(void *arg, unsigned round) {
  (void)arg;
  if (round == GH_MARK_DONE) return;
  for (int i = 0; i < NF; i++) {
    void **f = gt_reveal(f_hidden[i]);
    if (gh_is_marked(f)) gh_mark_range(f, f + 1); /* the first word only: f is noscan */
  }
}
GT_NOINLINE static void plant_f(void) {
  for (int i = 0; i < NF; i++) {
    void **f = gh_alloc_noscan(2 * sizeof(void *));
    void *p = gh_alloc(SZ);
    gt_fill(p, SZ, 1300 + (uint64_t)i);
    f[0] = p;
    f[1] = (void *)(uintptr_t)i;
    gh_set_finalizer(f, fin_f, NULL);
    f_hidden[i] = gt_hide(f);
  }
  gt_clear_regs();
}
static void test_kept_for_finalizers(void) {
  gh_set_mark_callback(f_callback, NULL);
  plant_f();
  gt_collect_n(2);
  gt_churn(SZ, 20000, 0); /* reuses the slots of the checked objects if they were freed */
  atomic_store(&f_go, 1);
  for (int i = 0; i < 200 && atomic_load(&f_runs) < NF; i++) gt_sleep_ms(10);
  CHECKF("what the callback marks from objects kept for their finalizers is intact in the finalizer",
         atomic_load(&f_runs) == NF && atomic_load(&f_bad) == 0, "%ld finalizers ran, %ld saw a freed object",
         atomic_load(&f_runs), atomic_load(&f_bad));
  gh_set_mark_callback(NULL, NULL);
}

/* ---- gh_mark_pointer ---- */
static volatile uintptr_t mp_hidden[2]; /* a scanned and a noscan object, hidden */
static atomic_int mp_ok = 1, mp_calls;
static void mp_callback(void *arg, unsigned round) {
  (void)arg;
  if (round != 0) return;
  atomic_fetch_add(&mp_calls, 1);
  for (int k = 0; k < 2; k++) {
    char *o = gt_reveal(mp_hidden[k]);
    int scanned = -1, again = -1;
    void *start = gh_mark_pointer(o + 5, &scanned);
    void *second = gh_mark_pointer(o + 5, &again);
    if (start != o || scanned != (k == 0) || second != NULL || again != 0) atomic_store(&mp_ok, 0);
  }
  int x = 0, sc = -1;
  if (gh_mark_pointer(&x, &sc) != NULL || sc != 0) atomic_store(&mp_ok, 0);
}
GT_NOINLINE static void plant_mp(void) {
  void *a = gh_alloc(SZ), *b = gh_alloc_noscan(SZ);
  gt_fill(a, SZ, 77);
  gt_fill(b, SZ, 78);
  mp_hidden[0] = gt_hide(a);
  mp_hidden[1] = gt_hide(b);
  gt_clear_regs();
}
static void test_mark_pointer(void) {
  plant_mp();
  gh_set_mark_callback(mp_callback, NULL);
  static const size_t sizes[] = {SZ};
  gt_collect_and_churn(3, sizes, 1); /* the objects it marks are kept: their slots are not reused */
  gh_set_mark_callback(NULL, NULL);
  CHECKF("gh_mark_pointer: start of an unmarked object, its scan flag; NULL when marked or not an object",
         atomic_load(&mp_ok) && atomic_load(&mp_calls) >= 2, "ok %d, %d calls", atomic_load(&mp_ok),
         atomic_load(&mp_calls));
  CHECK("... and what it marked survived the collections that called it",
        gt_check(gt_reveal(mp_hidden[0]), SZ, 77) && gt_check(gt_reveal(mp_hidden[1]), SZ, 78));
}

GT_NOINLINE static void plant(void) {
  for (int i = 0; i < NA; i++) {
    void *p = gh_alloc(SZ);
    gt_fill((char *)p + 8, SZ - 8, 500 + (uint64_t)i);
    gh_set_finalizer(p, fin_a, NULL);
    page_a[i] = p;
  }
  void *key = gh_alloc(SZ); /* page_a[0]'s first word points to it: marked in round >= 1 */
  ((void **)page_a[0])[0] = key;
  for (int i = 0; i < NB; i++) {
    void *p = gh_alloc(SZ);
    gt_fill(p, SZ, 900 + (uint64_t)i);
    gh_set_finalizer(p, fin_b, NULL);
    page_b[i] = p;
  }
  gt_clear_regs();
}

static int intact(void) {
  int bad = 0;
  for (int i = 0; i < NA; i++) bad += !gt_check((char *)page_a[i] + 8, SZ - 8, 500 + (uint64_t)i);
  for (int i = 0; i < NB; i++) bad += !gt_check(page_b[i], SZ, 900 + (uint64_t)i);
  return bad == 0;
}

/* Collects until `counter` reaches `want`, at most 40 times; 1 if it did. */
static int collect_until(atomic_long *counter, long want) {
  for (int i = 0; i < 40 && atomic_load(counter) < want; i++) {
    gt_collect_n(1);
    gt_sleep_ms(20);
  }
  return atomic_load(counter) >= want;
}

int main(void) {
  page_a = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  page_b = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page_a == MAP_FAILED || page_b == MAP_FAILED) return 1;
  atomic_store(&use_b, 1);
  gh_set_mark_callback(callback, NULL);
  plant();
  uint64_t gc0 = gt_num_gc();
  long done0 = atomic_load(&done_rounds);
  static const size_t sizes[] = {SZ, 256, 4096};
  gt_collect_and_churn(20, sizes, 3);
  gt_sleep_ms(50);
  CHECKF("objects reached only from mmap'd memory the callback marks survive 20 collections",
         atomic_load(&dead_a) == 0 && atomic_load(&dead_b) == 0, "%ld and %ld died", atomic_load(&dead_a),
         atomic_load(&dead_b));
  CHECK("... and are intact", intact());
  CHECKF("a second round came (what round 0 reached made the callback mark more)", atomic_load(&max_round) >= 1,
         "max round %ld", atomic_load(&max_round));
  uint64_t ngc = gt_num_gc() - gc0;
  long ndone = atomic_load(&done_rounds) - done0;
  CHECKF("one GH_MARK_DONE round per collection", ndone == (long)ngc, "%ld done rounds, %llu collections", ndone,
         (unsigned long long)ngc);

  atomic_store(&use_b, 0); /* page_b is no longer marked: its objects die, page_a's stay */
  CHECKF("objects the callback stops marking die", collect_until(&dead_b, NB), "%ld of %d", atomic_load(&dead_b), NB);
  CHECKF("... and only those", atomic_load(&dead_a) == 0, "%ld of page_a died", atomic_load(&dead_a));

  gh_set_mark_callback(NULL, NULL);
  CHECKF("without the callback, the objects only mmap'd memory references die", collect_until(&dead_a, NA),
         "%ld of %d", atomic_load(&dead_a), NA);

  void *x = NULL;
  gh_mark_range(&x, &x + 1); /* outside a callback: a message, ignored */
  CHECK("gh_is_marked outside a callback: 0", gh_is_marked(page_a) == 0);
  test_kept_for_finalizers();
  test_mark_pointer();
  return TEST_SUMMARY();
}
