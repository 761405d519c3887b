/*
 * test_hardening.c -- regressions for bugs found by outside testing.
 *
 *   A. goheap's own globals are not roots. The collector scans the writable
 *      data of the program and its libraries, and goheap's globals live
 *      there: gh_heap.next_hint held the first byte of the second 64 MiB
 *      arena and the mark's work.heap_lo the lowest heap address, so the
 *      objects at those addresses (and all they reference) were never
 *      collected (a finalizer-heavy program always had exactly one object
 *      never finalized). Run in a child forked before the parent's first
 *      goheap call, so the heap is fresh and its lowest address is ours:
 *      with collections off, 160 MiB of 1 KiB collected objects with
 *      finalizers (three arenas), all dropped; then collections:
 *        A1 every object is finalized, each exactly once (exact: nothing
 *           but goheap's globals can hold these addresses; on failure the
 *           missing objects are listed with the words of writable data
 *           that point to them);
 *        A2 the class: the object at the start of every arena, the lowest
 *           heap address included, is finalized; and every object that a
 *           word of the program's or a library's writable data points to
 *           (goheap's own globals: nothing else ever saw these addresses)
 *           is finalized.
 *   B. Threads that never allocate are roots too (goheap interposes
 *      pthread_create and registers every thread before its start routine
 *      runs). Before, a thread that only moved pointers was neither stopped
 *      nor scanned, and objects only it held were finalized and freed.
 *        B1 a thread created with plain pthread_create, which never
 *           allocates nor calls goheap, takes the only pointer to a
 *           collected object (pattern-filled, with a finalizer) out of a
 *           hidden slot; the main thread collects several times and churns
 *           that size class; the thread finds the object intact and not
 *           finalized, and puts it back;
 *        B2 the argument of pthread_create is the only reference to an
 *           object: the creator drops it and collects right after
 *           pthread_create returns, while the new thread waits on an atomic
 *           start barrier; then the thread finds the object intact;
 *        B3 gh_register_thread still works (returns 0, twice) in a thread
 *           created through libc's own pthread_create (dlsym RTLD_NEXT,
 *           which the interposition does not see): the object only that
 *           thread holds survives collections; gh_unregister_thread;
 *        B4 three threads shuffle pointers to payloads between slots of
 *           collected holder objects with plain stores (each pointer spends
 *           most of its time only in a thread's register) for 2 s while the
 *           main thread collects in a loop and churns: afterwards every
 *           payload is in a slot, intact (with its noscan data), and none
 *           was finalized.
 *   C  (found by the fuzzer) 1.2 million immediate double frees of collected
 *      objects, each right after a collection queued their spans for the
 *      background sweeper: each is reported exactly once, at the call or,
 *      when it raced the sweep of the first free, by the next sweep.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <sched.h>
#include <sys/mman.h>

#include <fcntl.h>

#include "gctest.h"
#include "internal.h"

/* ========================================================================== */
/* A. goheap's globals                                                          */
/* ========================================================================== */

enum { A_SIZE = 1024, A_N = 160 * 1024 }; /* 160 MiB: the heap spans three arenas */
#define A_MAGIC 0x5eed5eed00000000ull     /* tag = A_MAGIC ^ index: never an address */

static atomic_uchar a_fin[A_N];      /* finalizer calls per object */
static atomic_long a_fin_all, a_fin_bad;
static uintptr_t a_hidden[A_N];      /* gt_hide(address), for diagnostics */
static long a_arena_idx[64];         /* the objects at the first byte of each arena, or -1 */
static int a_narena_idx;
static uintptr_t a_lowest_hidden;    /* gt_hide(our lowest object) */

static void a_finalizer(void *obj, void *arg) {
  uintptr_t i = (uintptr_t)arg;
  const uint64_t *o = obj;
  if (i >= A_N || o[0] != i || o[1] != (A_MAGIC ^ i)) {
    atomic_fetch_add(&a_fin_bad, 1);
    return;
  }
  atomic_fetch_add(&a_fin[i], 1);
  atomic_fetch_add(&a_fin_all, 1);
}

GT_NOINLINE static void a_plant(void) {
  uintptr_t lowest = UINTPTR_MAX;
  for (long i = 0; i < A_N; i++) {
    uint64_t *p = gh_alloc(A_SIZE);
    if (!p) abort();
    p[0] = (uint64_t)i;
    p[1] = A_MAGIC ^ (uint64_t)i;
    gh_set_finalizer(p, a_finalizer, (void *)(uintptr_t)i);
    a_hidden[i] = gt_hide(p);
    if ((uintptr_t)p < lowest) lowest = (uintptr_t)p;
  }
  a_lowest_hidden = gt_hide((void *)lowest);
  gt_clear_regs();
}

/* The object of ours that v points into, or -1. */
static long a_index_of(uintptr_t v) {
  uint64_t *o = gh_base((void *)v);
  if (!o || !gh_is_collected(o) || o[0] >= A_N || o[1] != (A_MAGIC ^ o[0])) return -1;
  return (long)o[0];
}

/* Which arenas the heap has (gh_heap, internal.h), and the object of ours at
 * the first byte of each (all of them are still allocated here). */
GT_NOINLINE static void a_check_layout(void) {
  uint32_t n = gh_heap.narenas;
  CHECKF("A: the objects span at least three 64 MiB arenas", n >= 3, "%u arenas", n);
  int lowest_ours = n > 0 && gh_heap.all_arenas[0]->base == (uintptr_t)gt_reveal(a_lowest_hidden);
  CHECKF("A: the lowest heap address holds one of the objects (nothing was allocated before them)", lowest_ours,
         "lowest heap address %#lx, lowest object %#lx", n ? (unsigned long)gh_heap.all_arenas[0]->base : 0ul,
         (unsigned long)(uintptr_t)gt_reveal(a_lowest_hidden));
  int covered = 0;
  a_narena_idx = n < 64 ? (int)n : 64;
  for (int k = 0; k < a_narena_idx; k++) {
    uintptr_t b = gh_heap.all_arenas[k]->base;
    long i = a_index_of(b);
    a_arena_idx[k] = i >= 0 && gt_reveal(a_hidden[i]) == (void *)b ? i : -1;
    covered += a_arena_idx[k] >= 0;
  }
  CHECKF("A: the first byte of every arena is the start of one of the objects", covered == (int)n,
         "%d of %u arenas", covered, n);
  gt_clear_regs();
}

/* ---- the words of writable data that point to objects of ours ---------------- */
typedef struct {
  uintptr_t word_addr; /* where the word is */
  uintptr_t file_off;  /* ... as an address in its file (nm) */
  long idx;            /* the object it points into */
  char obj_name[64];   /* the file the word belongs to */
} a_holder;
static a_holder a_holders[32];
static int a_nholders;

static int a_scan_phdr(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size, (void)data;
  uintptr_t lo_heap = gh_heap.all_arenas[0]->base;
  uintptr_t hi_heap = gh_heap.all_arenas[gh_heap.narenas - 1]->base + GH_ARENA_SIZE;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W)) continue;
    uintptr_t lo = (info->dlpi_addr + ph->p_vaddr + 7) & ~(uintptr_t)7;
    uintptr_t hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
    for (uintptr_t a = lo; a + 8 <= hi; a += 8) {
      uintptr_t v = *(volatile uintptr_t *)a;
      if (v - lo_heap >= hi_heap - lo_heap) continue;
      long idx = a_index_of(v);
      if (idx < 0 || a_nholders >= 32) continue;
      a_holder *h = &a_holders[a_nholders++];
      h->word_addr = a;
      h->file_off = a - info->dlpi_addr;
      h->idx = idx;
      snprintf(h->obj_name, sizeof h->obj_name, "%s", info->dlpi_name && *info->dlpi_name ? info->dlpi_name : "the program");
    }
  }
  return 0;
}

GT_NOINLINE static void a_find_holders(void) {
  a_nholders = 0;
  if (gh_heap.narenas) dl_iterate_phdr(a_scan_phdr, NULL);
  gt_clear_regs();
}

/* The child: returns with th_passed / th_failed set. */
static void test_a(void) {
  int old = gh_set_gc_percent(-1); /* nothing is collected while the heap grows */
  a_plant();
  gh_set_gc_percent(old);
  a_check_layout();
  gt_clear_stack();
  /* Look for the words of data that point to our objects while they are all
   * still allocated (work.heap_lo is set by the first collection: look again after). */
  a_find_holders();
  int before = a_nholders;
  a_holder first[32];
  memcpy(first, a_holders, sizeof first);
  gt_wait_count(&a_fin_all, A_N, 4000);
  gt_settle(3);
  a_find_holders();
  /* merge: those seen before the collections, then those after */
  for (int j = 0; j < before && a_nholders < 32; j++) {
    int dup = 0;
    for (int k = 0; k < a_nholders; k++) dup |= a_holders[k].word_addr == first[j].word_addr;
    if (!dup) a_holders[a_nholders++] = first[j];
  }

  long all = atomic_load(&a_fin_all), twice = 0, missing = 0;
  for (long i = 0; i < A_N; i++) {
    twice += atomic_load(&a_fin[i]) > 1;
    missing += atomic_load(&a_fin[i]) == 0;
  }
  if (missing) {
    int shown = 0;
    for (long i = 0; i < A_N && shown < 8; i++) {
      if (atomic_load(&a_fin[i])) continue;
      uintptr_t p = (uintptr_t)gt_reveal(a_hidden[i]);
      int at_start = 0;
      for (int j = 0; j < a_narena_idx; j++) at_start |= a_arena_idx[j] == i;
      fprintf(stderr, "  object #%ld at %#lx (%s) never finalized\n", i, (unsigned long)p,
              at_start ? "the first byte of an arena" : "inside an arena");
      shown++;
    }
  }
  int held_missed = 0;
  for (int k = 0; k < a_nholders; k++) held_missed += atomic_load(&a_fin[a_holders[k].idx]) == 0;
  for (int k = 0; k < a_nholders && (missing || held_missed); k++)
    fprintf(stderr, "  %s: the word at %#lx (%#lx in the file) points to object #%ld at %#lx (finalized %d times)\n",
            a_holders[k].obj_name, (unsigned long)a_holders[k].word_addr, (unsigned long)a_holders[k].file_off,
            a_holders[k].idx,
            (unsigned long)(uintptr_t)gt_reveal(a_hidden[a_holders[k].idx]), (int)atomic_load(&a_fin[a_holders[k].idx]));
  CHECKF("A1: every one of 163840 dropped objects with finalizers is finalized (160 MiB, three arenas)",
         all == A_N && missing == 0, "%ld finalized, %ld never", all, missing);
  CHECKF("A1: no finalizer ran twice", twice == 0, "%ld objects finalized more than once", twice);
  CHECKF("A1: each finalizer saw its object intact", atomic_load(&a_fin_bad) == 0, "%ld bad",
         atomic_load(&a_fin_bad));

  int arena_missed = 0;
  for (int j = 0; j < a_narena_idx; j++) {
    long i = a_arena_idx[j];
    if (i < 0 || atomic_load(&a_fin[i]) == 0) {
      arena_missed++;
      if (i >= 0)
        fprintf(stderr, "  the object at the first byte of the arena at %#lx was never finalized\n",
                (unsigned long)(uintptr_t)gt_reveal(a_hidden[i]));
    }
  }
  CHECKF("A2: the object at the start of every arena is collectable", a_narena_idx >= 3 && arena_missed == 0,
         "%d of %d not finalized", arena_missed, a_narena_idx);
  long lowest = a_narena_idx ? a_arena_idx[0] : -1; /* all_arenas is in address order */
  CHECKF("A2: the object at the lowest heap address is collectable", lowest >= 0 && atomic_load(&a_fin[lowest]) == 1,
         "object #%ld", lowest);
  CHECKF("A2: no object that a word of the program's or a library's data points to (goheap's globals) stays "
         "uncollected",
         held_missed == 0, "%d of the %d such words point to objects never finalized", held_missed, a_nholders);
}

/* ========================================================================== */
/* B. threads that never allocate                                               */
/* ========================================================================== */

static inline void b_relax(void) { sched_yield(); }

static void b_set_flag(void *obj, void *arg) {
  (void)obj;
  atomic_fetch_add((atomic_int *)arg, 1);
}

/* Main thread: collections while a thread holds the only pointer to an
 * object of `size` bytes whose finalizer counts into *fin; once it is
 * finalized (the bug), two more collections free it and churn reuses it. */
GT_NOINLINE static int b_collect_while_held(atomic_int *fin, size_t size) {
  uint64_t n0 = gt_num_gc(), end = gt_now_ms() + 400;
  for (int i = 0; i < 4 || (atomic_load(fin) == 0 && gt_now_ms() < end); i++) {
    gt_clear_stack();
    gh_collect();
    gt_sleep_ms(5); /* the finalizer thread runs meanwhile */
  }
  gt_collect_n(2);
  gt_churn(size, 3000, 0);
  gt_clear_stack();
  return (int)(gt_num_gc() - n0);
}

/* ---- B1 --------------------------------------------------------------------- */
enum { B1_SIZE = 256 };
static _Atomic uintptr_t b1_slot;    /* gt_hide(object) */
static void *volatile b1_keep;      /* a visible copy until the thread has it */
static atomic_int b1_state, b1_fin, b1_ok, b1_fin_seen;

/* B1, B3: a filled object with a finalizer whose only reference, for the
 * thread to take, is *slot (hidden); *keep holds a visible copy until then. */
GT_NOINLINE static void b_plant(size_t size, int tag, _Atomic uintptr_t *slot, void *volatile *keep, atomic_int *fin) {
  void *p = gh_alloc(size);
  if (!p) abort();
  gt_fill(p, size, tag);
  gh_set_finalizer(p, b_set_flag, fin);
  *keep = p;
  atomic_store(slot, gt_hide(p));
  p = NULL;
  gt_clear_regs();
}

/* Never allocates and calls nothing of goheap's. */
static void *b1_thread(void *arg) {
  (void)arg;
  unsigned char *p = gt_reveal(atomic_exchange(&b1_slot, 0)); /* the only pointer, now in this thread */
  volatile uintptr_t on_stack = (uintptr_t)p;                 /* and one copy on its stack */
  __asm__ volatile("" : "+r"(p));
  atomic_store(&b1_state, 1);
  while (atomic_load(&b1_state) != 2) {
    __asm__ volatile("" : "+r"(p));
    b_relax();
  }
  __asm__ volatile("" : "+r"(p));
  (void)on_stack;
  atomic_store(&b1_ok, gt_check(p, B1_SIZE, 0xB1));
  atomic_store(&b1_fin_seen, atomic_load(&b1_fin));
  atomic_store(&b1_slot, gt_hide(p)); /* back where it came from */
  p = NULL;
  atomic_store(&b1_state, 3);
  return NULL;
}

GT_NOINLINE static void b1_check_back(int *intact) {
  unsigned char *p = gt_reveal(atomic_exchange(&b1_slot, 0));
  *intact = gh_base(p) == p && gt_check(p, B1_SIZE, 0xB1);
}

static void test_b1(void) {
  b_plant(B1_SIZE, 0xB1, &b1_slot, &b1_keep, &b1_fin);
  pthread_t t = gt_thread(b1_thread, NULL, "b1-holder");
  while (atomic_load(&b1_state) != 1) gt_sleep_ms(1);
  b1_keep = NULL; /* now only the thread has it */
  int ncol = b_collect_while_held(&b1_fin, B1_SIZE);
  atomic_store(&b1_state, 2);
  while (atomic_load(&b1_state) != 3) gt_sleep_ms(1);
  pthread_join(t, NULL);
  CHECKF("B1: an object only a non-allocating thread's register/stack holds is not finalized", atomic_load(&b1_fin_seen) == 0,
         "its finalizer ran during the %d collections", ncol);
  CHECKF("B1: ... and is intact when the thread looks at it again", atomic_load(&b1_ok),
         "contents lost (freed and reused) after %d collections", ncol);
  int intact = 0;
  if (atomic_load(&b1_fin_seen) == 0 && atomic_load(&b1_ok)) b1_check_back(&intact);
  CHECK("B1: ... and still intact once the thread put it back", intact);
}

/* ---- B2 --------------------------------------------------------------------- */
enum { B2_SIZE = 512 };
static atomic_int b2_go, b2_fin, b2_ok, b2_fin_seen, b2_done;

static void *b2_thread(void *arg) {
  unsigned char *p = arg; /* the only reference: the creator has dropped it */
  __asm__ volatile("" : "+r"(p));
  while (!atomic_load(&b2_go)) {
    __asm__ volatile("" : "+r"(p));
    b_relax();
  }
  atomic_store(&b2_ok, gt_check(p, B2_SIZE, 0xB2));
  atomic_store(&b2_fin_seen, atomic_load(&b2_fin));
  atomic_store(&b2_done, 1);
  return NULL;
}

/* Allocates the object and hands it to the new thread: when this returns,
 * only the thread (and what pthread_create made of its argument) has it. */
GT_NOINLINE static pthread_t b2_spawn(void) {
  void *p = gh_alloc(B2_SIZE);
  if (!p) abort();
  gt_fill(p, B2_SIZE, 0xB2);
  gh_set_finalizer(p, b_set_flag, &b2_fin);
  pthread_t t;
  if (pthread_create(&t, NULL, b2_thread, p) != 0) abort();
  p = NULL;
  gt_clear_regs();
  return t;
}

static void test_b2(void) {
  pthread_t t = b2_spawn();
  int ncol = b_collect_while_held(&b2_fin, B2_SIZE); /* at once: the thread may not have run yet */
  atomic_store(&b2_go, 1);
  pthread_join(t, NULL);
  CHECK("B2: the thread ran", atomic_load(&b2_done) == 1);
  CHECKF("B2: an object whose only reference is pthread_create's argument is not finalized",
         atomic_load(&b2_fin_seen) == 0, "its finalizer ran during the %d collections after pthread_create", ncol);
  CHECKF("B2: ... and the new thread finds it intact", atomic_load(&b2_ok), "contents lost after %d collections", ncol);
}

/* ---- B3 --------------------------------------------------------------------- */
enum { B3_SIZE = 320 };
static _Atomic uintptr_t b3_slot;
static void *volatile b3_keep;
static atomic_int b3_state, b3_fin, b3_ok, b3_fin_seen, b3_reg1 = -1, b3_reg2 = -1;


static void *b3_thread(void *arg) {
  (void)arg;
  atomic_store(&b3_reg1, gh_register_thread());
  atomic_store(&b3_reg2, gh_register_thread()); /* twice is harmless */
  unsigned char *p = gt_reveal(atomic_exchange(&b3_slot, 0));
  __asm__ volatile("" : "+r"(p));
  atomic_store(&b3_state, 1);
  while (atomic_load(&b3_state) != 2) {
    __asm__ volatile("" : "+r"(p));
    b_relax();
  }
  atomic_store(&b3_ok, gt_check(p, B3_SIZE, 0xB3));
  atomic_store(&b3_fin_seen, atomic_load(&b3_fin));
  atomic_store(&b3_slot, gt_hide(p));
  p = NULL;
  gh_unregister_thread();
  atomic_store(&b3_state, 3);
  return NULL;
}

static void test_b3(void) {
  typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
  create_fn libc_create = (create_fn)dlsym(RTLD_NEXT, "pthread_create");
  if (!libc_create) libc_create = pthread_create;
  b_plant(B3_SIZE, 0xB3, &b3_slot, &b3_keep, &b3_fin);
  pthread_t t;
  CHECK("B3: libc's pthread_create creates the thread", libc_create(&t, NULL, b3_thread, NULL) == 0);
  while (atomic_load(&b3_state) != 1) gt_sleep_ms(1);
  b3_keep = NULL;
  int ncol = b_collect_while_held(&b3_fin, B3_SIZE);
  atomic_store(&b3_state, 2);
  while (atomic_load(&b3_state) != 3) gt_sleep_ms(1);
  pthread_join(t, NULL);
  CHECKF("B3: gh_register_thread returns 0 in a thread created by libc's pthread_create, also the second time",
         atomic_load(&b3_reg1) == 0 && atomic_load(&b3_reg2) == 0, "%d, %d", atomic_load(&b3_reg1),
         atomic_load(&b3_reg2));
  CHECKF("B3: the object only that registered thread holds survives intact and unfinalized",
         atomic_load(&b3_ok) && atomic_load(&b3_fin_seen) == 0, "intact %d, finalized %d (%d collections)",
         atomic_load(&b3_ok), atomic_load(&b3_fin_seen), ncol);
  atomic_store(&b3_slot, 0);
}

/* ---- B4 --------------------------------------------------------------------- */
enum { B4_THREADS = 3, B4_HOLDERS = 8, B4_SLOTS = 32, B4_PAYLOADS = 96, B4_DATA = 200, B4_MS = 2000 };
#define B4_MAGIC 0xb4b4b4b400000000ull

typedef struct b4_payload {
  uint64_t id, tag;         /* tag = B4_MAGIC ^ id */
  unsigned char *data;      /* noscan, B4_DATA bytes, pattern seeded by id */
  uint64_t pad[5];          /* 64 bytes */
} b4_payload;
typedef struct b4_holder {
  b4_payload *slot[B4_SLOTS];
} b4_holder;

/* The roots: thread t moves pointers only between the slots of its own holders. */
static b4_holder *volatile b4_holders[B4_THREADS][B4_HOLDERS];
static atomic_int b4_stop, b4_fin;
static atomic_long b4_moves[B4_THREADS];

GT_NOINLINE static void b4_plant(void) {
  uint64_t id = 0;
  for (int t = 0; t < B4_THREADS; t++) {
    for (int h = 0; h < B4_HOLDERS; h++) {
      b4_holder *hp = gh_alloc(sizeof(b4_holder));
      if (!hp) abort();
      b4_holders[t][h] = hp;
    }
    for (int i = 0; i < B4_PAYLOADS; i++, id++) {
      b4_payload *p = gh_alloc(sizeof(b4_payload));
      unsigned char *d = gh_alloc_noscan(B4_DATA);
      if (!p || !d) abort();
      gt_fill(d, B4_DATA, 0xB400 + id);
      p->id = id, p->tag = B4_MAGIC ^ id, p->data = d;
      if (id % 2 == 0) gh_set_finalizer(p, b_set_flag, &b4_fin); /* half of them: finalizers tell */
      b4_holders[t][i % B4_HOLDERS]->slot[i / B4_HOLDERS] = p;
    }
  }
  gt_clear_regs();
}

/* Never allocates, calls nothing of goheap's, dereferences no payload: it
 * takes a pointer out of a slot (plain store of NULL), keeps it only in a
 * register for a while, and stores it into an empty slot. */
static void *b4_thread(void *arg) {
  int t = (int)(intptr_t)arg;
  uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(t + 1);
  long moves = 0;
  while (!atomic_load_explicit(&b4_stop, memory_order_relaxed)) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    b4_holder *from = b4_holders[t][rng % B4_HOLDERS];
    unsigned s = (unsigned)(rng >> 8) % B4_SLOTS;
    b4_payload *p = from->slot[s];
    if (!p) continue;
    __asm__ volatile("" ::: "memory");
    from->slot[s] = NULL;
    __asm__ volatile("" ::: "memory");
    from = NULL;
    for (int k = 0; k < 2000; k++) __asm__ volatile("" : "+r"(p)); /* held only here */
    if ((moves & 63) == 0) b_relax();
    for (;;) { /* an empty slot: there are B4_HOLDERS*B4_SLOTS - B4_PAYLOADS of them */
      rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
      b4_holder *to = b4_holders[t][rng % B4_HOLDERS];
      unsigned d = (unsigned)(rng >> 8) % B4_SLOTS;
      if (to->slot[d]) continue;
      __asm__ volatile("" ::: "memory");
      to->slot[d] = p;
      __asm__ volatile("" ::: "memory");
      break;
    }
    p = NULL;
    moves++;
  }
  atomic_store(&b4_moves[t], moves);
  return NULL;
}

/* Counts the payloads found in thread t's holders and the bad ones. */
GT_NOINLINE static void b4_check(int t, long *found, long *bad) {
  for (int h = 0; h < B4_HOLDERS; h++) {
    b4_holder *hp = b4_holders[t][h];
    if (gh_base(hp) != hp) {
      (*bad)++;
      continue;
    }
    for (int s = 0; s < B4_SLOTS; s++) {
      b4_payload *p = hp->slot[s];
      if (!p) continue;
      (*found)++;
      /* look before following: a payload freed and reused holds anything */
      int ok = gh_base(p) == p && gh_is_collected(p) && p->tag == (B4_MAGIC ^ p->id) &&
               p->id / B4_PAYLOADS == (uint64_t)t && gh_base(p->data) == p->data &&
               gt_check(p->data, B4_DATA, 0xB400 + p->id);
      *bad += !ok;
    }
  }
}

static void test_b4(void) {
  b4_plant();
  pthread_t th[B4_THREADS];
  for (int t = 0; t < B4_THREADS; t++) th[t] = gt_thread(b4_thread, (void *)(intptr_t)t, "b4-shuffler");
  uint64_t n0 = gt_num_gc(), end = gt_now_ms() + B4_MS;
  while (gt_now_ms() < end) {
    gt_clear_stack();
    gh_collect();
    gt_churn(sizeof(b4_payload), 200, 0);
    gt_churn(B4_DATA, 50, 1);
    gt_sleep_ms(1);
  }
  int ncol = (int)(gt_num_gc() - n0);
  atomic_store(&b4_stop, 1);
  long moves = 0;
  for (int t = 0; t < B4_THREADS; t++) {
    pthread_join(th[t], NULL);
    moves += atomic_load(&b4_moves[t]);
  }
  gt_collect_n(2);
  long found = 0, bad = 0;
  for (int t = 0; t < B4_THREADS; t++) b4_check(t, &found, &bad);
  CHECKF("B4: the shufflers moved pointers while collections ran", moves > 1000 && ncol >= 20,
         "%ld moves, %d collections", moves, ncol);
  CHECKF("B4: no payload moved by non-allocating threads was finalized", atomic_load(&b4_fin) == 0,
         "%d of %d finalized (%d collections, %ld moves)", atomic_load(&b4_fin), B4_THREADS * B4_PAYLOADS / 2, ncol,
         moves);
  CHECKF("B4: every payload is in a slot, intact with its noscan data", found == B4_THREADS * B4_PAYLOADS && bad == 0,
         "%ld found of %d, %ld damaged", found, B4_THREADS * B4_PAYLOADS, bad);
}

/* ========================================================================== */

typedef struct {
  int passed, failed, done;
} a_result;
static void *volatile b_spacer;

/* C (found by the fuzzer): an immediate double free of a collected object,
 * right after a collection, races the background sweeper sweeping the span
 * the first free queued. Before, such a second free could be missed
 * altogether, and the debug build's span check aborted on its bit. Now each
 * is reported exactly once: at the call, or (when it raced the sweep of the
 * first free) by the next sweep of the span; never at a legitimate free. */
static void test_c(void) {
  enum { ROUNDS = 300, N = 4096 };
  static void *objs[N];
  gh_error_mode old = gh_set_error_mode(GH_ERROR_REPORT);
  int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
  dup2(devnull, 2); /* 1.2 million report lines */
  uint64_t start = gh_error_count(), at_call = 0, pairs = 0;
  for (int r = 0; r < ROUNDS; r++) {
    for (int i = 0; i < N; i++) objs[i] = gh_alloc(8 + 8 * (r % 4));
    gh_collect();
    for (int i = 0; i < N; i++) {
      gh_free(objs[i]);
      uint64_t mid = gh_error_count();
      gh_free(objs[i]);
      at_call += gh_error_count() != mid;
      pairs++;
    }
  }
  gh_collect();
  gh_malloc_trim(0); /* sweeps every span frees queued: the late reports */
  uint64_t total = gh_error_count() - start;
  dup2(saved, 2);
  close(saved), close(devnull);
  gh_set_error_mode(old);
  CHECKF("C: every immediate double free of a collected object is reported exactly once, sweeper or not",
         total == pairs, "%llu reports for %llu double frees (%llu at the call)\n", (unsigned long long)total,
         (unsigned long long)pairs, (unsigned long long)at_call);
  CHECKF("C: almost all of them at the call (a late report needs the second free to race a sweep)",
         at_call >= pairs - pairs / 1000, "%llu of %llu at the call\n", (unsigned long long)at_call,
         (unsigned long long)pairs);
}

int main(int argc, char **argv) {
  /* A needs a heap nothing was allocated from before it: the heap profile's
   * unwinder, loaded at start-up, allocates, so A runs with the profile off. */
  if (argc > 0 && !getenv("GOHEAP_PROFILE_RATE")) {
    setenv("GOHEAP_PROFILE_RATE", "0", 1);
    execv("/proc/self/exe", argv);
  }
  /* A first, in a child forked before this process's first goheap call: its
   * heap is fresh, so the object at the lowest heap address is one of A's. */
  a_result *res = mmap(NULL, sizeof *res, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (res == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  if (pid == 0) {
    test_a();
    res->passed = th_passed, res->failed = th_failed, res->done = 1;
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  th_passed += res->passed, th_failed += res->failed;
  CHECKF("A: the child ran to the end", res->done && WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);

  /* B: the lowest heap address is held by goheap's globals (A): a malloc'd
   * block takes it, so that B tests threads, not that. */
  b_spacer = malloc(64);
  test_b1();
  test_b2();
  test_b3();
  test_b4();
  test_c();
  return TEST_SUMMARY();
}
