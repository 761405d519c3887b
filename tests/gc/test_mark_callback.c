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
 *   - without the callback (removed), the objects die;
 *   - gh_mark_range outside a callback is ignored (a message, no crash).
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
  return TEST_SUMMARY();
}
