/*
 * test_roots.c -- every kind of root keeps collected objects alive, with
 * their contents intact, through many collections; and the things that are
 * not roots do not.
 *
 * Survival (asserted exactly): an object referenced only from
 *   - a global of the program: exported .bss, file-static .bss, .data;
 *   - a global of libgcroot.so (linked at start): exported, static .bss,
 *     static .data, an exported array;
 *   - a copy of libgcroot.so dlopen()ed after collections have run (its
 *     static and its exported array);
 *   - a stack variable of the main thread;
 *   - a register: of another registered thread spinning with the pointer in
 *     a register only (never on its stack), and (best effort) of the main
 *     thread (a local the compiler keeps across gh_collect calls);
 *   - an mmap'd range registered with gh_add_roots;
 *   - a malloc'd block (small and > 32 KiB, also after realloc moved it)
 *     whose own address is hidden;
 *   - another collected object (a chain root -> scanned -> {noscan, large
 *     scanned -> pointer in its last word -> small});
 *   - an interior pointer (middle, last byte) of small and large objects;
 * with sizes from tiny noscan (1..15 bytes) to large (> 32 KiB). Each is
 * filled with a pattern checked after 20 rounds of gh_collect + churn (a
 * premature free would let the churn reuse the slot and overwrite it).
 *
 * Reclamation (asserted statistically, >= 90%, via finalizers):
 *   - a pointer one past the end of an object (small, and large) does not
 *     keep it alive;
 *   - after gh_remove_roots the add_roots range no longer does;
 *   - after free() of the malloc'd block holding them, its pointers do not;
 *   - after dlclose() of the dlopen'ed copy, its globals do not (and
 *     collections after the unmapping must not crash).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "gctest.h"

/* ---- records of the objects that must survive ------------------------------ */
typedef struct {
  const char *what;
  uintptr_t h;      /* hidden address */
  size_t size;
  size_t plo, phi;  /* the pattern covers [plo, phi) */
  uint64_t seed;
  int tiny;         /* a tiny noscan object: may share a 16-byte block */
} rec_t;
static rec_t recs[2048];
static int nrecs;
static uint64_t seed_ctr = 1000;

GT_NOINLINE static void *make_obj(const char *what, size_t size, int noscan, size_t plo, size_t phi) {
  void *p = noscan ? gh_alloc_noscan(size) : gh_alloc(size);
  if (!p) {
    fprintf(stderr, "gh_alloc(%zu) failed\n", size);
    abort();
  }
  uint64_t seed = ++seed_ctr;
  if (phi > size) phi = size;
  gt_fill((char *)p + plo, phi - plo, seed);
  if (nrecs < (int)(sizeof recs / sizeof recs[0]))
    recs[nrecs++] = (rec_t){what, gt_hide(p), size, plo, phi, seed, noscan && size < 16};
  return p;
}
static void *obj(const char *what, size_t size, int noscan) { return make_obj(what, size, noscan, 0, size); }

static int bad_reported[2048];
/* Checks every recorded object; reports each failing one once. Returns the
 * number of failures. */
GT_NOINLINE static int verify_all(const char *when) {
  int bad = 0;
  for (int i = 0; i < nrecs; i++) {
    rec_t *r = &recs[i];
    char *p = gt_reveal(r->h);
    int ok = 1;
    if (!r->tiny) ok = gh_base(p) == p && gh_is_collected(p) == 1;
    else ok = gh_base(p) != NULL && gh_base(p) <= (void *)p;
    if (ok) ok = gt_check(p + r->plo, r->phi - r->plo, r->seed);
    if (!ok) {
      bad++;
      if (!bad_reported[i]++ && bad <= 12)
        fprintf(stderr, "  object '%s' (%zu bytes at %p) lost or corrupted %s: base %p, collected %d\n", r->what,
                r->size, (void *)p, when, gh_base(p), gh_is_collected(p));
    }
  }
  if (bad > 12) fprintf(stderr, "  ... %d objects bad in all %s\n", bad, when);
  return bad;
}

static const size_t churn_sizes[] = {8, 16, 24, 48, 64, 200, 512, 1000, 4000, 40960, 100000};
#define CHURN(rounds) gt_collect_and_churn(rounds, churn_sizes, (int)(sizeof churn_sizes / sizeof churn_sizes[0]))

/* ---- program globals ------------------------------------------------------- */
void *volatile gt_prog_global;                 /* exported, .bss */
static void *volatile prog_bss[4];             /* file-static, .bss */
static void *volatile prog_data[3] = {(void *)1, 0, 0}; /* file-static, .data */
static void *volatile prog_interior[8];        /* interior pointers */
static void *volatile prog_chain;              /* root of a chain of objects */
static void *volatile prog_tiny_table;         /* a scanned array of tiny noscan objects */
enum { NTINY = 600 };

GT_NOINLINE static void plant_program_globals(void) {
  gt_prog_global = obj("program global (exported)", 24, 0);
  prog_bss[0] = obj("program static .bss, 4000 B", 4000, 0);
  prog_bss[1] = obj("program static .bss, 100000 B large", 100000, 0);
  prog_bss[2] = obj("program static .bss, noscan 5 B tiny", 5, 1);
  prog_bss[3] = obj("program static .bss, noscan 33000 B large", 33000, 1);
  prog_data[1] = obj("program static .data, 48 B", 48, 0);
  prog_data[2] = obj("program static .data, noscan 1 MiB", GT_MiB, 1);
}

GT_NOINLINE static void plant_library_globals(void) {
  gcroot_set_global(obj("libgcroot.so exported global, 200 B", 200, 0));
  gcroot_set_static(obj("libgcroot.so static .bss, 40 KiB", 40 * GT_KiB, 0));
  gcroot_set_data(obj("libgcroot.so static .data, 16 B", 16, 0));
  gcroot_set_slot(0, obj("libgcroot.so exported array, noscan 12 B", 12, 1));
  gcroot_set_slot(1, obj("libgcroot.so exported array, 3 MiB", 3 * GT_MiB, 0));
  gcroot_set_slot(2, obj("libgcroot.so exported array, noscan 777 B", 777, 1));
}

/* root -> A (scanned 512 B: [0] -> B noscan 300 B, [1] -> C large scanned
 * 100 KiB whose last word -> D 80 B). */
GT_NOINLINE static void plant_chain(void) {
  void **a = make_obj("chain A (scanned, 512 B)", 512, 0, 16, 512);
  void *b = obj("chain B (noscan, 300 B, only referenced from A)", 300, 1);
  void **c = make_obj("chain C (large scanned 100 KiB, only referenced from A)", 100 * GT_KiB, 0, 0,
                      100 * GT_KiB - 8);
  void *d = obj("chain D (80 B, referenced from C's last word)", 80, 0);
  c[100 * GT_KiB / 8 - 1] = d;
  a[0] = b;
  a[1] = c;
  prog_chain = a;
}

/* Tiny noscan objects (1..15 B): NTINY of them, referenced from a scanned
 * table; every third through a pointer to its last byte. */
GT_NOINLINE static void plant_tiny(void) {
  void **table = gh_alloc(NTINY * sizeof(void *));
  for (int i = 0; i < NTINY; i++) {
    size_t n = 1 + (size_t)i % 15;
    char *t = obj("tiny noscan object in a scanned table", n, 1);
    table[i] = i % 3 == 0 ? t + n - 1 : t;
  }
  prog_tiny_table = table;
}

/* Interior pointers: the middle and the last byte of small and large objects. */
GT_NOINLINE static void plant_interior(void) {
  char *p;
  p = obj("small object held by a pointer to its middle", 48, 0), prog_interior[0] = p + 24;
  p = obj("small object held by a pointer to its last byte", 1000, 0), prog_interior[1] = p + 999;
  p = obj("large object held by a pointer to its middle", 200 * GT_KiB, 0), prog_interior[2] = p + 150 * GT_KiB + 3;
  p = obj("large object held by a pointer to its last byte", 64 * GT_KiB, 1), prog_interior[3] = p + 64 * GT_KiB - 1;
  p = obj("noscan object held by a pointer to its middle", 4000, 1), prog_interior[4] = p + 2001;
}

/* ---- main-thread stack and registers --------------------------------------- */
GT_NOINLINE static int hold_on_stack(void) {
  void *volatile local[3];
  local[0] = obj("main-thread stack variable, 64 B", 64, 0);
  local[1] = obj("main-thread stack variable, noscan 9 B tiny", 9, 1);
  local[2] = obj("main-thread stack variable, 50 KiB large", 50 * GT_KiB, 0);
  CHURN(10);
  int bad = verify_all("on the main stack"); /* while the locals are live */
  return bad == 0 && local[0] != NULL && local[1] != NULL && local[2] != NULL;
}

/* Best effort: p lives in a callee-saved register (or a spill slot) of this
 * frame across the calls. */
GT_NOINLINE static int hold_in_register_main(void) {
  unsigned char *p = gh_alloc(777);
  gt_fill(p, 777, 4242);
  for (int i = 0; i < 10; i++) {
    gh_collect();
    gt_churn(777, 300, 0);
  }
  return gh_base(p) == p && gt_check(p, 777, 4242);
}

/* Another registered thread holding the only pointer in a register: it spins
 * without calls, so the value never reaches its stack except in the signal
 * frame of a stop. */
static atomic_uintptr_t reg_handoff;
static atomic_int reg_state, reg_result;
enum { REG_SIZE = 1000 };
static void *reg_thread(void *arg) {
  (void)arg;
  gh_register_thread();
  while (atomic_load(&reg_state) != 1) gt_sleep_ms(1);
  uintptr_t v = ~atomic_load(&reg_handoff);
  __asm__ volatile("" : "+r"(v));
  atomic_store(&reg_state, 2);
  while (atomic_load_explicit(&reg_state, memory_order_relaxed) != 3) __asm__ volatile("" : "+r"(v));
  int ok = gh_base((void *)v) == (void *)v && gt_check((void *)v, REG_SIZE, 777);
  atomic_store(&reg_result, ok ? 1 : -1);
  return NULL;
}
GT_NOINLINE static void reg_give(void) {
  void *p = gh_alloc(REG_SIZE);
  gt_fill(p, REG_SIZE, 777);
  atomic_store(&reg_handoff, gt_hide(p));
}
static int hold_in_other_thread_register(void) {
  pthread_t t = gt_thread(reg_thread, NULL, "gt-register");
  reg_give();
  gt_clear_stack();
  atomic_store(&reg_state, 1);
  while (atomic_load(&reg_state) != 2) gt_sleep_ms(1);
  atomic_store(&reg_handoff, 0);
  for (int i = 0; i < 10; i++) {
    gt_clear_stack();
    gh_collect();
    gt_churn(REG_SIZE, 300, 0);
  }
  atomic_store(&reg_state, 3);
  pthread_join(t, NULL);
  return atomic_load(&reg_result) == 1;
}

/* ---- finalizer-watched groups ---------------------------------------------- */
enum { NGROUP = 64 };
static atomic_long fin_addroots, fin_malloc, fin_pastend, fin_pastend_large, fin_dl;

/* ---- gh_add_roots on an mmap'd range --------------------------------------- */
static void **volatile mm_page;
GT_NOINLINE static void plant_addroots(void) {
  for (int i = 0; i < NGROUP; i++) {
    void *p = obj("object referenced only from a gh_add_roots range", 32 + (size_t)i * 8, 0);
    gh_set_finalizer(p, gt_fin_count, &fin_addroots);
    mm_page[i * 7] = p; /* spread over the two pages */
  }
}

/* ---- malloc'd blocks ------------------------------------------------------- */
static uintptr_t mblock_h;   /* hidden address of a small malloc'd block */
static uintptr_t mlarge_h;   /* hidden address of a 100 KiB malloc'd block */
GT_NOINLINE static void plant_malloc(void) {
  void **small = malloc(NGROUP / 2 * sizeof(void *));
  void **large = malloc(100 * GT_KiB);
  memset(large, 0, 100 * GT_KiB);
  for (int i = 0; i < NGROUP; i++) {
    void *p = obj("object referenced only from a malloc'd block", 100 + (size_t)i, 0);
    gh_set_finalizer(p, gt_fin_count, &fin_malloc);
    if (i < NGROUP / 2) small[i] = p;
    else if (i == NGROUP - 1) large[100 * GT_KiB / 8 - 1] = p; /* the last word */
    else large[(size_t)(i - NGROUP / 2) * (100 * GT_KiB / 8 / (NGROUP / 2))] = p; /* spread, the first word too */
  }
  mblock_h = gt_hide(small);
  mlarge_h = gt_hide(large);
}
/* realloc to a much bigger size moves the block: its pointers move with it. */
GT_NOINLINE static int move_malloc(void) {
  void *old = gt_reveal(mblock_h);
  void **moved = realloc(old, 64 * GT_KiB);
  mblock_h = gt_hide(moved);
  return moved != NULL;
}
GT_NOINLINE static void free_malloc(void) {
  free(gt_reveal(mblock_h));
  free(gt_reveal(mlarge_h));
  mblock_h = mlarge_h = 0;
}

/* ---- one past the end ------------------------------------------------------ */
static void *volatile pastend[NGROUP];      /* p + 64 for 64-byte objects */
static void *volatile pastend_large[16];    /* p + 40960 for 40960-byte objects */
static uintptr_t pastend_h[NGROUP], pastend_large_h[16];
static void *volatile spacers[NGROUP + 16];  /* keep the neighbours alive (not needed, but stable) */
GT_NOINLINE static void plant_pastend(void) {
  for (int i = 0; i < NGROUP; i++) {
    char *p = gh_alloc(64); /* 64 is a size class: p + 64 is the next slot */
    gh_set_finalizer(p, gt_fin_count, &fin_pastend);
    pastend[i] = p + 64;
    pastend_h[i] = gt_hide(p);
    spacers[i] = gh_alloc(64);
  }
  for (int i = 0; i < 16; i++) {
    char *p = gh_alloc(40960); /* exactly 5 pages */
    gh_set_finalizer(p, gt_fin_count, &fin_pastend_large);
    pastend_large[i] = p + 40960;
    pastend_large_h[i] = gt_hide(p);
    spacers[NGROUP + i] = gh_alloc(40960);
  }
}
/* How many of the objects are not the target of another one-past-end
 * pointer (those may legitimately stay alive). */
static int pastend_eligible(uintptr_t *h, void *volatile *ends, int n) {
  int e = 0;
  for (int i = 0; i < n; i++) {
    int hit = 0;
    for (int j = 0; j < n; j++) hit |= ends[j] == gt_reveal(h[i]);
    e += !hit;
  }
  return e;
}

/* ---- a copy of libgcroot.so dlopen'ed after start ------------------------- */
static void *dl_handle;
static char dl_dir[64], dl_path[128];
static void **volatile dl_array;
static void (*dl_set_static)(void *);
static void *(*dl_get_static)(void);

static int copy_file(const char *from, const char *to) {
  int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  char buf[65536];
  ssize_t n;
  int ok = in >= 0 && out >= 0;
  while (ok && (n = read(in, buf, sizeof buf)) > 0) ok = write(out, buf, (size_t)n) == n;
  if (in >= 0) close(in);
  if (out >= 0) close(out);
  return ok;
}
static const char *dl_open_copy(void) {
  Dl_info info;
  if (!dladdr((void *)gcroot_get_global, &info) || !info.dli_fname) return "dladdr failed";
  strcpy(dl_dir, "/tmp/gh_gcroot.XXXXXX");
  if (!mkdtemp(dl_dir)) return "mkdtemp failed";
  snprintf(dl_path, sizeof dl_path, "%s/libgcroot_copy.so", dl_dir);
  if (!copy_file(info.dli_fname, dl_path)) return "copy failed";
  dl_handle = dlopen(dl_path, RTLD_NOW | RTLD_LOCAL);
  unlink(dl_path);
  rmdir(dl_dir);
  if (!dl_handle) return dlerror();
  dl_array = dlsym(dl_handle, "gcroot_array");
  dl_set_static = (void (*)(void *))dlsym(dl_handle, "gcroot_set_static");
  dl_get_static = (void *(*)(void))dlsym(dl_handle, "gcroot_get_static");
  if (!dl_array || !dl_set_static || !dl_get_static) return "dlsym failed";
  if (dl_array == gcroot_array || dl_get_static == gcroot_get_static) return "the copy is not a new instance";
  return NULL;
}
GT_NOINLINE static void plant_dl(void) {
  dl_set_static(obj("dlopen'ed library static, 2000 B", 2000, 0));
  for (int i = 0; i < 16; i++) {
    void *p = obj("dlopen'ed library exported array", 56 + (size_t)i * 16, 0);
    gh_set_finalizer(p, gt_fin_count, &fin_dl);
    dl_array[i] = p;
  }
  dl_array[16] = obj("dlopen'ed library exported array, 48 KiB large", 48 * GT_KiB, 1);
}

int main(void) {
  alarm(60); /* a deadlock fails the test instead of hanging it */
  gh_set_error_mode(GH_ERROR_REPORT);
  uint64_t t0 = gt_now_ms();

  plant_program_globals();
  plant_library_globals();
  plant_chain();
  plant_tiny();
  plant_interior();
  int base_recs = nrecs;
  CHURN(20);
  CHECKF("objects held by program and libgcroot.so globals, chains, interior pointers survive 20 collections",
         verify_all("after 20 collections") == 0, "see above");
  CHECK("collections ran", gt_num_gc() >= 20);
  CHECK("interior pointer maps to the object start (small)", gh_base(prog_interior[0]) == gt_reveal(recs[base_recs - 5].h));
  CHECK("interior pointer maps to the object start (large)", gh_base(prog_interior[2]) == gt_reveal(recs[base_recs - 3].h));

  int before = nrecs;
  CHECK("main-thread stack variables keep their objects alive", hold_on_stack());
  nrecs = before; /* dead now */
  CHECK("a local of the main thread kept across gh_collect (register, best effort)", hold_in_register_main());
  CHECK("a pointer held only in a register of another registered thread keeps its object", hold_in_other_thread_register());

  /* gh_add_roots on an mmap'd range (not otherwise a root). */
  mm_page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mm_page == MAP_FAILED) abort();
  gh_add_roots(mm_page, (char *)mm_page + 8192);
  before = nrecs;
  plant_addroots();
  CHURN(10);
  gt_settle(3);
  CHECKF("gh_add_roots range keeps its objects: none finalized", atomic_load(&fin_addroots) == 0, "%ld finalized",
         atomic_load(&fin_addroots));
  CHECK("gh_add_roots range keeps its objects intact", verify_all("in a gh_add_roots range") == 0);
  gh_remove_roots(mm_page, (char *)mm_page + 8192);
  nrecs = before; /* those may die now */
  int ok = gt_wait_count(&fin_addroots, NGROUP * 9 / 10, 5000);
  CHECKF("after gh_remove_roots, >= 90% of the range's objects are finalized", ok, "%ld of %d",
         atomic_load(&fin_addroots), NGROUP);
  munmap(mm_page, 8192);
  gh_collect(); /* the unmapped range is no longer scanned */

  /* malloc'd blocks are roots (their own address hidden). */
  before = nrecs;
  plant_malloc();
  CHURN(5);
  CHECK("realloc moved the malloc'd block", move_malloc());
  CHURN(5);
  gt_settle(3);
  CHECKF("pointers in malloc'd blocks (small, large, moved by realloc) keep objects: none finalized",
         atomic_load(&fin_malloc) == 0, "%ld finalized", atomic_load(&fin_malloc));
  CHECK("pointers in malloc'd blocks keep objects intact", verify_all("referenced from malloc'd blocks") == 0);
  free_malloc();
  nrecs = before;
  ok = gt_wait_count(&fin_malloc, NGROUP * 9 / 10, 5000);
  CHECKF("after free() of the malloc'd blocks, >= 90% of their objects are finalized", ok, "%ld of %d",
         atomic_load(&fin_malloc), NGROUP);

  /* One past the end keeps nothing alive. */
  plant_pastend();
  int elig = pastend_eligible(pastend_h, pastend, NGROUP);
  int elig_large = pastend_eligible(pastend_large_h, pastend_large, 16);
  CHECKF("one-past-end setup: most 64 B objects are not another's neighbour", elig >= NGROUP * 3 / 4, "%d", elig);
  ok = gt_wait_count(&fin_pastend, elig * 9 / 10, 5000);
  CHECKF("pointers one past the end of 64 B objects do not keep them alive (>= 90% finalized)", ok,
         "%ld of %d eligible finalized", atomic_load(&fin_pastend), elig);
  ok = gt_wait_count(&fin_pastend_large, elig_large - 2, 5000);
  CHECKF("pointers one past the end of 40960 B (5-page) objects do not keep them alive", ok,
         "%ld of %d eligible finalized", atomic_load(&fin_pastend_large), elig_large);

  /* A library loaded after collections have run. */
  const char *err = dl_open_copy();
  CHECKF("dlopen of a copy of libgcroot.so", err == NULL, "%s", err ? err : "");
  if (!err) {
    before = nrecs;
    plant_dl();
    CHURN(10);
    gt_settle(2);
    CHECKF("globals of a library dlopen'ed after start are roots: none finalized", atomic_load(&fin_dl) == 0,
           "%ld finalized", atomic_load(&fin_dl));
    CHECK("globals of a library dlopen'ed after start keep objects intact",
          verify_all("referenced from a dlopen'ed library") == 0 && dl_get_static() != NULL);
    dl_array = NULL, dl_set_static = NULL, dl_get_static = NULL;
    CHECK("dlclose of the copy", dlclose(dl_handle) == 0);
    nrecs = before;
    ok = gt_wait_count(&fin_dl, 14, 5000); /* also: collections after the unmapping do not crash */
    CHECKF("after dlclose, the library's globals no longer keep objects (>= 14 of 16 finalized)", ok, "%ld of 16",
           atomic_load(&fin_dl));
  }

  CHURN(5);
  CHECKF("every object held by a root is still intact at the end", verify_all("at the end") == 0, "see above");
  CHECKF("no bad call reported", gh_error_count() == 0, "%llu", (unsigned long long)gh_error_count());
  gh_stats st = gt_stats();
  printf("test_roots: %llu collections, %llu ms, finalizers run %llu\n", (unsigned long long)st.num_gc,
         (unsigned long long)(gt_now_ms() - t0), (unsigned long long)st.finalizers_run);
  return TEST_SUMMARY();
}
