/*
 * tests/libgc/test_typed.c -- objects with a layout (GC_make_descriptor,
 * GC_malloc_explicitly_typed, GC_calloc_explicitly_typed) are traced by
 * their layout only: a word the bitmap leaves out holds nothing alive, a
 * word it names does.  This is what Guile 3.0's weak tables rely on: each
 * entry {hash, next, key, value} of a weak-key table is typed with `next`
 * and `value` as its pointers, and `key` a disappearing link, so that an
 * entry whose key is otherwise unreachable is cleared by the collector.
 *   A  a weak-key table of 20,000 entries in 64 chains: the keys of the
 *      dropped half are cleared (at least 90%), the kept half are not, and
 *      every value (reachable only through its entry) keeps its contents;
 *   B  an object whose only pointer is in a word outside the bitmap dies;
 *   C  a chain of 100,000 typed entries held by its head survives whole;
 *   D  GC_calloc_explicitly_typed: every element's pointer words hold,
 *      its scalar word does not;
 *   E  a descriptor of 100 words (longer than one bitmap word);
 *   F  GC_realloc of a typed object keeps its contents and its layout;
 *   G  a finalizer walks a typed chain that only its object reaches;
 *   H  4 threads build and check typed chains while collections run;
 *   I  typed objects dropped and allocated again, 200 times: an address
 *      and a table entry reused together once made a stale index mapping
 *      erase the new object's record (its pointees were then freed);
 *   J  a typed object with a finalizer of its own: what its layout names
 *      is still intact when the finalizer runs.
 * Prints PASS/FAIL lines, then "N passed, N failed".
 */
#define GC_THREADS 1
#include <gc.h>
#include <gc/gc_typed.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static int passed, failed;
static void check(const char *name, int ok, const char *detail) {
  if (ok) passed++, printf("PASS %s\n", name);
  else failed++, printf("FAIL %s: %s\n", name, detail);
}
static __attribute__((noinline)) void clear_stack(void) {
  volatile char buf[16384];
  memset((char *)buf, 0, sizeof buf);
}
/* Disappearing links live in memory neither collector scans (a scanned
 * link would keep its object alive) and that is never freed while they are
 * registered: mmap'd, never unmapped. */
static void **link_array(size_t n) {
  void *p = mmap(NULL, n * sizeof(void *), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("mmap");
    exit(2);
  }
  return (void **)p;
}
static void collect(void) {
  clear_stack();
  GC_gcollect();
  GC_gcollect();
}

/* ---- the weak-key table shape (Guile 3.0's weak-table.c) ---- */
struct entry {
  GC_word hash;
  struct entry *next;
  GC_word key; /* a disappearing link */
  GC_word *value;
};
static GC_descr entry_descr;
static void make_entry_descr(void) {
  GC_word bm[GC_BITMAP_SIZE(struct entry)] = {0};
  GC_set_bit(bm, GC_WORD_OFFSET(struct entry, next));
  GC_set_bit(bm, GC_WORD_OFFSET(struct entry, value));
  entry_descr = GC_make_descriptor(bm, GC_WORD_LEN(struct entry));
}
static GC_word *make_value(GC_word seed) {
  GC_word *v = (GC_word *)GC_MALLOC_ATOMIC(4 * sizeof(GC_word));
  for (int j = 0; j < 4; j++) v[j] = seed * 2654435761u + (GC_word)j;
  return v;
}
static int value_ok(const GC_word *v, GC_word seed) {
  for (int j = 0; j < 4; j++)
    if (v[j] != seed * 2654435761u + (GC_word)j) return 0;
  return 1;
}
static struct entry *new_entry(GC_word hash, struct entry *next, void *key) {
  struct entry *e = (struct entry *)GC_malloc_explicitly_typed(sizeof *e, entry_descr);
  e->hash = hash;
  e->next = next;
  e->value = make_value(hash);
  if (key) {
    e->key = (GC_word)key;
    GC_general_register_disappearing_link((void **)&e->key, key);
  }
  return e;
}

#define NBUCKETS 64
#define NENTRIES 20000
static struct entry **buckets; /* uncollectable: a root */
static void **kept_keys;       /* uncollectable: the odd keys */
static __attribute__((noinline)) void fill_table(void) {
  for (int i = 0; i < NENTRIES; i++) {
    void *key = GC_MALLOC(16);
    if (i % 2) kept_keys[i / 2] = key;
    buckets[i % NBUCKETS] = new_entry((GC_word)i, buckets[i % NBUCKETS], key);
  }
}
static void test_weak_table(void) {
  char d[200];
  buckets = (struct entry **)GC_MALLOC_UNCOLLECTABLE(NBUCKETS * sizeof *buckets);
  kept_keys = (void **)GC_MALLOC_UNCOLLECTABLE(NENTRIES / 2 * sizeof *kept_keys);
  fill_table();
  collect();
  long seen = 0, cleared_dropped = 0, kept_lost = 0, bad_values = 0, dropped = 0;
  for (int b = 0; b < NBUCKETS; b++)
    for (struct entry *e = buckets[b]; e; e = e->next) {
      long i = (long)e->hash;
      seen++;
      if (!value_ok(e->value, e->hash)) bad_values++;
      if (i % 2) {
        if (e->key != (GC_word)kept_keys[i / 2]) kept_lost++;
      } else {
        dropped++;
        if (e->key == 0) cleared_dropped++;
      }
    }
  snprintf(d, sizeof d, "%ld entries of %d, %ld bad values", seen, NENTRIES, bad_values);
  check("A: every entry and its value survive, contents intact", seen == NENTRIES && bad_values == 0, d);
  snprintf(d, sizeof d, "%ld of %ld dropped keys cleared", cleared_dropped, dropped);
  check("A: the keys nothing else references are cleared (>= 90%)", cleared_dropped * 10 >= dropped * 9, d);
  snprintf(d, sizeof d, "%ld kept keys cleared or changed", kept_lost);
  check("A: the keys still referenced are not", kept_lost == 0, d);
  printf("     weak-key table: %ld of %ld dropped keys cleared\n", cleared_dropped, dropped);
  GC_FREE(buckets);
  GC_FREE(kept_keys);
}

/* ---- B: a word outside the bitmap holds nothing ---- */
#define NB 1000
static void **b_links; /* uncollectable: one link per hidden object */
static struct entry **b_entries;
static __attribute__((noinline)) void fill_b(void) {
  for (int i = 0; i < NB; i++) {
    void *o = GC_MALLOC(64);
    b_entries[i] = new_entry((GC_word)o, NULL, NULL); /* hash word: not a pointer */
    b_links[i] = o;
    GC_general_register_disappearing_link(&b_links[i], o);
  }
}
static void test_scalar_words(void) {
  char d[160];
  b_links = link_array(NB);
  b_entries = (struct entry **)GC_MALLOC_UNCOLLECTABLE(NB * sizeof *b_entries);
  fill_b();
  collect();
  int cleared = 0;
  for (int i = 0; i < NB; i++) cleared += b_links[i] == NULL;
  snprintf(d, sizeof d, "%d of %d objects referenced only from a scalar word collected", cleared, NB);
  check("B: an object referenced only from a word outside the bitmap is collected (>= 90%)",
        cleared * 10 >= NB * 9, d);
  GC_FREE(b_entries);
}

/* ---- C: a long chain held by its head ---- */
static struct entry **chain_root;
static __attribute__((noinline)) void build_chain(struct entry **root, int n, GC_word salt) {
  struct entry *h = NULL;
  for (int i = 0; i < n; i++) h = new_entry((GC_word)i ^ salt, h, NULL);
  *root = h;
}
static long check_chain(struct entry *h, int n, GC_word salt) {
  long bad = 0, i = n - 1, len = 0;
  for (; h; h = h->next, i--, len++)
    if (h->hash != ((GC_word)i ^ salt) || !value_ok(h->value, h->hash)) bad++;
  return bad + (len != n ? 1000000 : 0);
}
static void test_long_chain(void) {
  char d[120];
  chain_root = (struct entry **)GC_MALLOC_UNCOLLECTABLE(sizeof *chain_root);
  build_chain(chain_root, 100000, 0);
  collect();
  long bad = check_chain(*chain_root, 100000, 0);
  snprintf(d, sizeof d, "%ld bad entries (1000000 + n: wrong length)", bad);
  check("C: a chain of 100,000 typed entries held by its head survives intact", bad == 0, d);
  GC_FREE(chain_root);
}

/* ---- D: arrays ---- */
struct triple {
  GC_word *a;
  GC_word scalar;
  GC_word *b;
};
#define ND 1000
static __attribute__((noinline)) struct triple *fill_d(void **links) {
  GC_word bm[GC_BITMAP_SIZE(struct triple)] = {0};
  GC_set_bit(bm, GC_WORD_OFFSET(struct triple, a));
  GC_set_bit(bm, GC_WORD_OFFSET(struct triple, b));
  struct triple *t = (struct triple *)GC_calloc_explicitly_typed(
      ND, sizeof(struct triple), GC_make_descriptor(bm, GC_WORD_LEN(struct triple)));
  for (int i = 0; i < ND; i++) {
    t[i].a = make_value((GC_word)i);
    t[i].b = make_value((GC_word)i + ND);
    void *o = GC_MALLOC(32);
    t[i].scalar = (GC_word)o;
    links[i] = o;
    GC_general_register_disappearing_link(&links[i], o);
  }
  return t;
}
static void test_arrays(void) {
  char d[160];
  void **links = link_array(ND);
  struct triple **root = (struct triple **)GC_MALLOC_UNCOLLECTABLE(sizeof *root);
  *root = fill_d(links);
  collect();
  int bad = 0, cleared = 0;
  for (int i = 0; i < ND; i++) {
    bad += !value_ok((*root)[i].a, (GC_word)i) || !value_ok((*root)[i].b, (GC_word)i + ND);
    cleared += links[i] == NULL;
  }
  snprintf(d, sizeof d, "%d elements with a bad pointee", bad);
  check("D: GC_calloc_explicitly_typed: every element's pointer words keep their objects", bad == 0, d);
  snprintf(d, sizeof d, "%d of %d objects referenced only from a scalar element word collected", cleared, ND);
  check("D: an element's scalar word keeps nothing (>= 90%)", cleared * 10 >= ND * 9, d);
  GC_FREE(root);
}

/* ---- E: a 100-word descriptor ---- */
static void test_long_descriptor(void) {
  char d[160];
  GC_word bm[GC_BITMAP_SIZE(GC_word[100])] = {0};
  GC_set_bit(bm, 0);
  GC_set_bit(bm, 70);
  GC_set_bit(bm, 99);
  GC_descr dsc = GC_make_descriptor(bm, 100);
  GC_word ***root = (GC_word ***)GC_MALLOC_UNCOLLECTABLE(sizeof *root);
  void **links = link_array(100);
  int n = 100;
  /* 100 objects of 100 words: pointers at 0, 70, 99; an untraced one at 50 */
  GC_word **objs = (GC_word **)GC_MALLOC_UNCOLLECTABLE(n * sizeof *objs);
  for (int i = 0; i < n; i++) {
    GC_word *o = (GC_word *)GC_malloc_explicitly_typed(100 * sizeof(GC_word), dsc);
    o[0] = (GC_word)make_value((GC_word)i);
    o[70] = (GC_word)make_value((GC_word)i + 1000);
    o[99] = (GC_word)make_value((GC_word)i + 2000);
    void *x = GC_MALLOC(32);
    o[50] = (GC_word)x;
    links[i] = x;
    GC_general_register_disappearing_link(&links[i], x);
    objs[i] = o;
  }
  *root = objs;
  objs = NULL;
  collect();
  int bad = 0, cleared = 0;
  for (int i = 0; i < n; i++) {
    GC_word *o = (*root)[i];
    bad += !value_ok((GC_word *)o[0], (GC_word)i) || !value_ok((GC_word *)o[70], (GC_word)i + 1000) ||
           !value_ok((GC_word *)o[99], (GC_word)i + 2000);
    cleared += links[i] == NULL;
  }
  snprintf(d, sizeof d, "%d objects with a bad pointee at word 0, 70 or 99", bad);
  check("E: a 100-word descriptor: words 0, 70 and 99 keep their objects", bad == 0, d);
  snprintf(d, sizeof d, "%d of %d objects referenced only from word 50 collected", cleared, n);
  check("E: word 50, outside the bitmap, keeps nothing (>= 90%)", cleared * 10 >= n * 9, d);
  GC_FREE(*root);
  GC_FREE(root);
}

/* ---- F: realloc ---- */
static void test_realloc(void) {
  char d[160];
  struct entry **root = (struct entry **)GC_MALLOC_UNCOLLECTABLE(sizeof *root);
  void **link = link_array(1);
  struct entry *e = new_entry(7, NULL, NULL);
  void *x = GC_MALLOC(48);
  e->key = (GC_word)x; /* untraced */
  *link = x;
  GC_general_register_disappearing_link(link, x);
  x = NULL;
  e = (struct entry *)GC_REALLOC(e, 4096);
  *root = e;
  e = NULL;
  collect();
  e = *root;
  snprintf(d, sizeof d, "hash %lu, value %s", (unsigned long)e->hash, value_ok(e->value, 7) ? "intact" : "bad");
  check("F: GC_realloc keeps a typed object's contents (its pointer word still traced)",
        e->hash == 7 && value_ok(e->value, 7), d);
  check("F: ... and its layout (its untraced word keeps nothing)", *link == NULL,
        "the object referenced only from the untraced word survived");
  GC_FREE(root);
}

/* ---- G: a finalizer walks the typed chain its object holds ---- */
static long g_bad = -1, g_runs;
static void g_fin(void *obj, void *cd) {
  (void)cd;
  g_bad = check_chain(*(struct entry **)obj, 5000, 0x55);
  g_runs++;
}
static __attribute__((noinline)) void drop_g(void) {
  struct entry **holder = (struct entry **)GC_MALLOC(sizeof *holder);
  build_chain(holder, 5000, 0x55);
  GC_REGISTER_FINALIZER(holder, g_fin, NULL, NULL, NULL);
}
static void test_finalizer(void) {
  char d[120];
  drop_g();
  for (int i = 0; i < 5 && g_runs == 0; i++) {
    collect();
    GC_invoke_finalizers();
  }
  snprintf(d, sizeof d, "finalizer ran %ld times, %ld bad entries", g_runs, g_bad);
  check("G: a finalizer finds the typed chain its object reaches intact", g_runs == 1 && g_bad == 0, d);
}

/* ---- H: threads ---- */
static void *h_thread(void *arg) {
  GC_word salt = (GC_word)(uintptr_t)arg;
  struct entry **root = (struct entry **)GC_MALLOC_UNCOLLECTABLE(sizeof *root);
  long bad = 0;
  for (int r = 0; r < 20; r++) {
    build_chain(root, 4000, salt + (GC_word)r);
    for (int i = 0; i < 2000; i++) (void)GC_MALLOC(64); /* garbage: collections */
    bad += check_chain(*root, 4000, salt + (GC_word)r);
  }
  GC_FREE(root);
  return (void *)(intptr_t)bad;
}
static void test_threads(void) {
  char d[120];
  pthread_t t[4];
  long bad = 0;
  for (int i = 0; i < 4; i++) GC_pthread_create(&t[i], NULL, h_thread, (void *)(uintptr_t)(i << 20));
  for (int i = 0; i < 8; i++) GC_gcollect();
  for (int i = 0; i < 4; i++) {
    void *r;
    GC_pthread_join(t[i], &r);
    bad += (long)(intptr_t)r;
  }
  snprintf(d, sizeof d, "%ld bad entries", bad);
  check("H: 4 threads build and check typed chains while collections run", bad == 0, d);
}

/* ---- I: addresses and table entries reused ---- */
static __attribute__((noinline)) void drop_typed(int n) {
  for (int i = 0; i < n; i++) (void)new_entry((GC_word)i, NULL, NULL);
}
static void test_reuse(void) {
  char d[120];
  struct entry **root = (struct entry **)GC_MALLOC_UNCOLLECTABLE(8 * sizeof *root);
  long bad = 0;
  for (int r = 0; r < 200; r++) {
    drop_typed(8);
    collect();
    for (int k = 0; k < 8; k++) root[k] = new_entry((GC_word)(r * 8 + k), NULL, NULL);
    collect();
    for (int i = 0; i < 64; i++) (void)make_value(0); /* reuses what a collection freed */
    for (int k = 0; k < 8; k++) bad += !value_ok(root[k]->value, (GC_word)(r * 8 + k));
  }
  snprintf(d, sizeof d, "%ld of 1600 values lost", bad);
  check("I: typed objects whose address and record are reused keep their pointees", bad == 0, d);
  GC_FREE(root);
}

/* ---- J: a finalizable typed object ---- */
static long j_runs, j_bad;
static void j_fin(void *obj, void *cd) {
  struct entry *e = (struct entry *)obj;
  (void)cd;
  j_runs++;
  j_bad += !value_ok(e->value, e->hash) || (e->next && !value_ok(e->next->value, e->next->hash));
}
static __attribute__((noinline)) void drop_j(int n) {
  for (int i = 0; i < n; i++) {
    struct entry *e = new_entry((GC_word)i, new_entry((GC_word)i + 100000, NULL, NULL), NULL);
    GC_REGISTER_FINALIZER(e, j_fin, NULL, NULL, NULL);
  }
}
static void test_finalizable_typed(void) {
  char d[120];
  GC_set_finalize_on_demand(1); /* they run below, after the allocations that reuse what was freed */
  drop_j(1000);
  for (int i = 0; i < 5 && j_runs < 900; i++) {
    collect();
    for (int k = 0; k < 2000; k++) (void)make_value(7); /* reuses what a collection freed */
    GC_invoke_finalizers();
  }
  GC_set_finalize_on_demand(0);
  snprintf(d, sizeof d, "%ld finalizers ran, %ld saw a freed pointee", j_runs, j_bad);
  check("J: a finalizable typed object's pointees are intact in its finalizer", j_runs >= 900 && j_bad == 0, d);
}

int main(void) {
  GC_INIT();
  make_entry_descr();
  test_weak_table();
  test_scalar_words();
  test_long_chain();
  test_arrays();
  test_long_descriptor();
  test_realloc();
  test_finalizer();
  test_threads();
  test_reuse();
  test_finalizable_typed();
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
