/*
 * test_threads.c -- collections while several threads allocate, link and
 * drop objects.
 *
 *   - 4 mutator threads, each with a linked list (head in a stack variable
 *     for even threads, in a global for odd ones) and a binary tree (root on
 *     the stack). Every node carries a checksum of its contents and of a
 *     noscan payload it points to (1..200 bytes, so tiny objects too; now
 *     and then a node is > 32 KiB). The threads push nodes, cut the list's
 *     tail, replace random subtrees, and hand nodes to each other through a
 *     shared global array (taking one out checks it); every node walked is
 *     checked.
 *   - a collector thread calling gh_collect in a loop (with the allocation-
 *     triggered collections and mutator 0's own gh_collect calls);
 *   - a spawner thread creating short-lived threads (two at a time) that
 *     allocate a list, sometimes collect, check it, leave one node in the
 *     shared array and exit, while collections run;
 *   - a thread that calls gh_register_thread, never allocates, and holds the
 *     only pointer to an object (and through it a chain) in a stack variable
 *     while the others collect: the object survives intact; then it drops it
 *     and calls gh_unregister_thread.
 *   - first, alone: a thread looping on gh_set_memory_limit(-1) (then on
 *     gh_set_gc_percent) while the main thread calls gh_collect 100 times:
 *     every call collects (none cancelled by a stop timeout) within 1.5 s;
 *     and a registered thread blocked in read() on a pipe through 30
 *     collections: read() is restarted (SA_RESTART), returns the byte written
 *     afterwards, and the object only its stack holds survives. (nanosleep,
 *     usleep, poll and select do return EINTR when a collection stops their
 *     thread, as under bdwgc: not asserted.) Also a thread that registers twice,
 *     unregisters, then allocates again: its stack is a root again. And two
 *     threads that end registered (a key destructor allocating in every
 *     round; a raw exit system call): the next collections complete at once
 *     and reclaim their mcaches.
 * At the end every live object (lists, trees, shared slots) is checked, and
 * the run must have seen at least 20 collections with heap_sys bounded.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>

#include "gctest.h"

enum { MUTATORS = 4, SHARED = 256, MAXLEN = 1000, TREE_DEPTH = 8, MAX_OPS = 400000, RUN_MS = 6000,
       SPAWN_MAX = 300 };

static uint64_t fnv(const void *p, size_t n, uint64_t h) {
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 0x100000001b3ull;
  return h;
}
static uint64_t xs(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13, x ^= x >> 7, x ^= x << 17;
  return *s = x;
}

/* ---- list nodes --------------------------------------------------------------- */
typedef struct node {
  struct node *next;
  unsigned char *payload; /* noscan */
  uint32_t len, plen;
  uint64_t sum;
  unsigned char data[];
} node;

static uint64_t node_sum(const node *n) {
  uint64_t h = fnv(n->data, n->len, 0xcbf29ce484222325ull ^ n->len);
  return fnv(n->payload, n->plen, h ^ n->plen);
}
static node *node_new(uint64_t *rng) {
  uint64_t r = xs(rng);
  uint32_t len = (r % 500 == 0) ? 40000 + (uint32_t)(r >> 20) % 20000 : (uint32_t)(r >> 8) % 1500;
  uint32_t plen = 1 + (uint32_t)(r >> 40) % 200;
  node *n = gh_alloc(sizeof(node) + len);
  unsigned char *p = gh_alloc_noscan(plen);
  if (!n || !p) abort();
  for (uint32_t i = 0; i < len; i++) n->data[i] = (unsigned char)(r >> (i % 56)) ^ (unsigned char)i;
  for (uint32_t i = 0; i < plen; i++) p[i] = (unsigned char)(r >> (i % 48)) + (unsigned char)(i * 7);
  n->len = len, n->plen = plen, n->payload = p;
  n->sum = node_sum(n);
  return n;
}
/* Careful with a node that was freed and reused: check what it points to
 * before following it. */
static int node_ok(const node *n) {
  return gh_base((void *)n) == n && gh_is_collected((void *)n) && n->len <= 60000 && n->plen >= 1 &&
         n->plen <= 200 && gh_base(n->payload) != NULL && node_sum(n) == n->sum;
}

/* ---- tree nodes --------------------------------------------------------------- */
typedef struct tnode {
  struct tnode *left, *right;
  uint32_t depth, len;
  uint64_t sum;
  unsigned char data[];
} tnode;
static tnode *tree_build(uint32_t depth, uint64_t *rng) {
  uint64_t r = xs(rng);
  uint32_t len = (uint32_t)(r % 100);
  tnode *t = gh_alloc(sizeof(tnode) + len);
  if (!t) abort();
  t->depth = depth, t->len = len;
  for (uint32_t i = 0; i < len; i++) t->data[i] = (unsigned char)(r >> (i % 50));
  t->sum = fnv(t->data, len, depth * 31 + len);
  if (depth > 0) {
    t->left = tree_build(depth - 1, rng);
    t->right = tree_build(depth - 1, rng);
  }
  return t;
}
/* Returns the number of bad nodes. */
static long tree_check(const tnode *t, uint32_t depth) {
  if (!t || gh_base((void *)t) != t || t->len >= 100) return 1;
  long bad = t->depth != depth || fnv(t->data, t->len, depth * 31 + t->len) != t->sum;
  if (depth > 0) bad += tree_check(t->left, depth - 1) + tree_check(t->right, depth - 1);
  else bad += t->left != NULL || t->right != NULL;
  return bad;
}
/* Replaces a random subtree with a fresh one (the old one becomes garbage). */
static void tree_replace(tnode *root, uint64_t *rng) {
  uint64_t r = xs(rng);
  tnode *t = root;
  uint32_t stop = 1 + (uint32_t)(r % (TREE_DEPTH - 1));
  while (t->depth > stop) t = (r >>= 1) & 1 ? t->left : t->right;
  if ((r >> 1) & 1) t->left = tree_build(t->depth - 1, rng);
  else t->right = tree_build(t->depth - 1, rng);
}

/* ---- shared state ------------------------------------------------------------ */
static _Atomic(node *) shared[SHARED];
static node *volatile global_heads[MUTATORS];
static atomic_int stop;
static atomic_long bad_nodes, checked_nodes, handoffs, spawned;
static uint64_t t_end;

static long list_check(node *n, long *count) {
  long bad = 0;
  for (long k = 0; n && k < 100000; n = n->next, k++) {
    if (!node_ok(n)) return bad + 1; /* do not follow a damaged node */
    (*count)++;
  }
  return bad;
}

typedef struct {
  int id;
  long ops, bad, checked, truncated;
} mut_arg;

static void *mutator(void *argp) {
  mut_arg *a = argp;
  uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(a->id + 1);
  node *local_head = NULL;
  node *volatile *headp = (a->id & 1) ? &global_heads[a->id] : (node *volatile *)&local_head;
  long len = 0;
  tnode *tree = tree_build(TREE_DEPTH, &rng);
  long ops;
  for (ops = 0; ops < MAX_OPS && !atomic_load(&stop); ops++) {
    if ((ops & 1023) == 0 && gt_now_ms() > t_end) break;
    uint64_t r = xs(&rng);
    node *n = node_new(&rng);
    n->next = *headp;
    *headp = n;
    len++;
    if (len > MAXLEN) { /* cut the tail at a random point, checking on the way */
      long keep = MAXLEN / 2 + (long)(r % (MAXLEN / 2));
      node *c = *headp;
      long i;
      int damaged = 0;
      for (i = 1; i < keep; i++) {
        a->checked++;
        if (!node_ok(c)) { /* freed and reused while reachable: do not follow it */
          damaged = 1;
          break;
        }
        if (!c->next) break;
        c = c->next;
      }
      if (damaged || i < keep) { /* the list lost its tail, or a node is damaged */
        a->bad++;
        if (a->truncated++ < 3)
          fprintf(stderr, "  mutator %d: list of %ld nodes: node %ld (%p) is %s\n", a->id, len, i, (void *)c,
                  damaged ? "damaged" : "the last one");
        if (damaged) { /* start over with an empty list */
          *headp = NULL;
          len = 0;
          continue;
        }
      }
      c->next = NULL;
      len = i;
    }
    if (r % 64 == 0) { /* hand a node to another thread */
      node *h = node_new(&rng);
      node *old = atomic_exchange(&shared[(r >> 8) % SHARED], h);
      if (old) {
        a->bad += !node_ok(old);
        a->checked++;
      }
      atomic_fetch_add(&handoffs, 1);
    }
    if (r % 256 == 1) tree_replace(tree, &rng);
    if (r % 4096 == 2) {
      a->bad += list_check(*headp, &a->checked) + tree_check(tree, TREE_DEPTH);
    }
    if (a->id == 0 && ops % 20000 == 19999) gh_collect();
  }
  a->bad += list_check(*headp, &a->checked) + tree_check(tree, TREE_DEPTH);
  a->ops = ops;
  atomic_fetch_add(&bad_nodes, a->bad);
  atomic_fetch_add(&checked_nodes, a->checked);
  return NULL;
}

static void *collector(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    gh_collect();
    gt_sleep_ms(2);
  }
  return NULL;
}

/* Short-lived threads. */
static void *short_lived(void *arg) {
  uint64_t rng = (uintptr_t)arg * 0x2545f4914f6cdd1dull + 7;
  node *head = NULL;
  for (int i = 0; i < 200; i++) {
    node *n = node_new(&rng);
    n->next = head;
    head = n;
  }
  if ((uintptr_t)arg % 4 == 0) gh_collect();
  long count = 0, bad = list_check(head, &count);
  node *old = atomic_exchange(&shared[xs(&rng) % SHARED], head);
  if (old) bad += !node_ok(old), count++;
  atomic_fetch_add(&bad_nodes, bad);
  atomic_fetch_add(&checked_nodes, count);
  return NULL;
}
static void *spawner(void *arg) {
  (void)arg;
  uintptr_t k = 0;
  while (!atomic_load(&stop) && k < SPAWN_MAX) {
    pthread_t t1, t2;
    if (pthread_create(&t1, NULL, short_lived, (void *)++k) != 0) break;
    if (pthread_create(&t2, NULL, short_lived, (void *)++k) != 0) {
      pthread_join(t1, NULL);
      break;
    }
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    atomic_fetch_add(&spawned, 2);
  }
  return NULL;
}

/* The registered thread that never allocates. */
static atomic_uintptr_t idle_handoff;
static atomic_int idle_state, idle_result;
enum { IDLE_SIZE = 3000 };
static void *idle_holder(void *arg) {
  (void)arg;
  int rc = gh_register_thread();
  while (atomic_load(&idle_state) != 1) gt_sleep_ms(1);
  void *volatile held = gt_reveal(atomic_load(&idle_handoff));
  atomic_store(&idle_state, 2);
  while (atomic_load(&idle_state) != 3) gt_sleep_ms(2);
  void **p = held;
  int ok = rc == 0 && gh_base(p) == p && gt_check((char *)p + 8, IDLE_SIZE - 8, 31337);
  node *n = p[0];
  ok = ok && node_ok(n);
  held = NULL;
  gh_unregister_thread();
  atomic_store(&idle_result, ok ? 1 : -1);
  return NULL;
}
GT_NOINLINE static void idle_give(void) {
  uint64_t rng = 5;
  void **p = gh_alloc(IDLE_SIZE);
  gt_fill((char *)p + 8, IDLE_SIZE - 8, 31337);
  p[0] = node_new(&rng);
  atomic_store(&idle_handoff, gt_hide(p));
}

/* A thread calling gh_set_gc_percent / gh_set_memory_limit in a loop while
 * another collects: neither may hold up the other (no cancelled cycle, no
 * stall of a stop timeout). */
static atomic_int setter_stop;
static void *setter(void *arg) {
  gh_register_thread();
  while (!atomic_load(&setter_stop)) {
    if (arg) gh_set_gc_percent(100);
    else gh_set_memory_limit(-1);
  }
  return NULL;
}
static void test_setters(void) {
  for (intptr_t which = 0; which < 2; which++) {
    atomic_store(&setter_stop, 0);
    pthread_t t = gt_thread(setter, (void *)which, "gt-setter");
    gt_sleep_ms(5);
    uint64_t n0 = gt_num_gc(), t0 = gt_now_ms();
    int calls = 0;
    while (calls < 100 && gt_now_ms() - t0 < 3000) {
      gh_collect();
      calls++;
    }
    uint64_t ms = gt_now_ms() - t0, done = gt_num_gc() - n0;
    atomic_store(&setter_stop, 1);
    pthread_join(t, NULL);
    CHECKF(which ? "gh_collect while another thread loops on gh_set_gc_percent: no cycle cancelled, no stall"
                 : "gh_collect while another thread loops on gh_set_memory_limit: no cycle cancelled, no stall",
           calls == 100 && done == 100 && ms < 1500, "%d gh_collect calls, %llu collections, %llu ms", calls,
           (unsigned long long)done, (unsigned long long)ms);
  }
}

/* A registered thread blocked in read() on a pipe while collections stop
 * it: the stop signal is SA_RESTART, so read() goes on and returns the byte
 * written later (never -1/EINTR), and the object on its stack survives. */
static int pipefd[2];
static atomic_int reader_result;
static atomic_uintptr_t reader_handoff;
static void *reader(void *arg) {
  (void)arg;
  gh_register_thread();
  void *volatile held = gt_reveal(atomic_load(&reader_handoff));
  atomic_store(&reader_handoff, 0);
  char c = 0;
  ssize_t n = read(pipefd[0], &c, 1);
  int ok = n == 1 && c == 'x' && gh_base(held) == held && gt_check(held, 500, 4711);
  atomic_store(&reader_result, ok ? 1 : n < 0 ? -errno : -1000);
  return NULL;
}
GT_NOINLINE static void reader_give(void) {
  void *p = gh_alloc(500);
  gt_fill(p, 500, 4711);
  atomic_store(&reader_handoff, gt_hide(p));
}
static void test_blocked_read(void) {
  if (pipe(pipefd) != 0) abort();
  reader_give();
  gt_clear_stack();
  pthread_t t = gt_thread(reader, NULL, "gt-reader");
  while (atomic_load(&reader_handoff) != 0) gt_sleep_ms(1);
  gt_sleep_ms(5);
  for (int i = 0; i < 30; i++) {
    gt_clear_stack();
    gh_collect();
    gt_churn(500, 100, 0);
    gt_sleep_ms(1);
  }
  if (write(pipefd[1], "x", 1) != 1) abort();
  pthread_join(t, NULL);
  CHECKF("a thread blocked in read() through 30 collections: read returns the byte, its stack object survives",
         atomic_load(&reader_result) == 1, "result %d (negative: -errno; -4 is EINTR)", atomic_load(&reader_result));
  close(pipefd[0]);
  close(pipefd[1]);
}

/* gh_register_thread twice is harmless; after gh_unregister_thread, the next
 * allocation registers the thread again, and its stack is a root again. */
static atomic_int rereg_state, rereg_result;
static void *reregister(void *arg) {
  (void)arg;
  int a = gh_register_thread(), b = gh_register_thread();
  gh_unregister_thread();
  void *volatile held = gh_alloc(700);
  gt_fill(held, 700, 99);
  atomic_store(&rereg_state, 1);
  while (atomic_load(&rereg_state) != 2) gt_sleep_ms(1);
  int ok = a == 0 && b == 0 && gh_base(held) == held && gt_check(held, 700, 99);
  atomic_store(&rereg_result, ok ? 1 : -1);
  return NULL;
}
static void test_reregister(void) {
  pthread_t t = gt_thread(reregister, NULL, "gt-reregister");
  while (atomic_load(&rereg_state) != 1) gt_sleep_ms(1);
  for (int i = 0; i < 20; i++) {
    gt_clear_stack();
    gh_collect();
    gt_churn(700, 200, 0);
  }
  atomic_store(&rereg_state, 2);
  pthread_join(t, NULL);
  CHECK("registering twice, unregistering, then allocating again: the thread's stack is a root again",
        atomic_load(&rereg_result) == 1);
}

/* Threads that end registered (world.c:reap): one whose pthread key
 * destructor allocates in every round, so the last round leaves it
 * registered (glibc runs 4 rounds), and one that ends with a raw exit(2)
 * system call, so no destructor runs at all. Each keeps cached spans of
 * malloc and gh_alloc objects. Collections afterwards must all complete, not
 * wait out the stop timeout and cancel, and the dead threads' mcaches go. */
static pthread_key_t greedy_key;
static void greedy_destructor(void *v) {
  void *p = malloc(100); /* registers the thread again after goheap's own destructor */
  pthread_setspecific(greedy_key, v); /* and asks for another round */
  free(p);
  (void)gh_alloc(64);
}
static void *exits_registered(void *how) {
  for (int i = 0; i < 100; i++) free(malloc(40 + (size_t)i)), (void)gh_alloc(48);
  if (how) syscall(SYS_exit, 0); /* no destructor, no unregistering */
  pthread_setspecific(greedy_key, (void *)1);
  return NULL;
}
static void test_exited_registered(void) {
  if (pthread_key_create(&greedy_key, greedy_destructor) != 0) abort();
  uint64_t r0 = gt_now_ms();
  for (int i = 0; i < 5; i++) gh_collect();
  uint64_t ref_ms = gt_now_ms() - r0; /* the same 5 collections with no dead thread */
  uint64_t threads0 = gt_stats().num_threads;
  for (intptr_t how = 0; how < 2; how++) pthread_join(gt_thread(exits_registered, (void *)how, "gt-exits"), NULL);
  uint64_t threads1 = gt_stats().num_threads, n0 = gt_num_gc(), t0 = gt_now_ms();
  for (int i = 0; i < 5; i++) gh_collect();
  uint64_t ms = gt_now_ms() - t0, done = gt_num_gc() - n0, threads2 = gt_stats().num_threads;
  CHECKF("threads that exit registered (a destructor allocating in every round, a raw exit): counted until a stop",
         threads1 == threads0 + 2, "%llu threads before, %llu after", (unsigned long long)threads0,
         (unsigned long long)threads1);
  CHECKF("... then 5 gh_collect calls all collect, none waits out the 2 s stop timeout; their mcaches are gone",
         done == 5 && ms < 1000 + 4 * ref_ms && threads2 == threads0,
         "%llu collections in %llu ms (%llu ms before the threads), %llu threads", (unsigned long long)done,
         (unsigned long long)ms, (unsigned long long)ref_ms, (unsigned long long)threads2);
}

int main(void) {
  alarm(60); /* a deadlock fails the test instead of hanging it */
  gh_set_error_mode(GH_ERROR_REPORT);
  test_setters();
  test_blocked_read();
  test_reregister();
  test_exited_registered();
  uint64_t t0 = gt_now_ms();
  t_end = t0 + RUN_MS;
  gh_stats s0 = gt_stats();

  pthread_t idle = gt_thread(idle_holder, NULL, "gt-idle-holder");
  idle_give();
  gt_clear_stack();
  atomic_store(&idle_state, 1);
  while (atomic_load(&idle_state) != 2) gt_sleep_ms(1);
  atomic_store(&idle_handoff, 0);

  pthread_t muts[MUTATORS], col, spw;
  mut_arg args[MUTATORS];
  for (int i = 0; i < MUTATORS; i++) {
    args[i] = (mut_arg){.id = i};
    muts[i] = gt_thread(mutator, &args[i], "gt-mutator");
  }
  col = gt_thread(collector, NULL, "gt-collector");
  spw = gt_thread(spawner, NULL, "gt-spawner");

  uint64_t max_sys = 0;
  for (int i = 0; i < MUTATORS; i++) {
    for (;;) { /* join, watching heap_sys meanwhile */
      uint64_t s = gt_stats().heap_sys;
      if (s > max_sys) max_sys = s;
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_nsec += 50 * 1000000L;
      if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
      if (pthread_timedjoin_np(muts[i], NULL, &ts) == 0) break;
    }
  }
  atomic_store(&stop, 1);
  pthread_join(col, NULL);
  pthread_join(spw, NULL);

  atomic_store(&idle_state, 3);
  pthread_join(idle, NULL);
  CHECK("a registered thread that never allocates keeps the object only its stack points to",
        atomic_load(&idle_result) == 1);

  /* Everything still live: the odd mutators' lists (global heads), shared slots. */
  gt_collect_n(2);
  long count = 0, bad = 0;
  for (int i = 0; i < MUTATORS; i++) bad += list_check(global_heads[i], &count);
  for (int i = 0; i < SHARED; i++) {
    node *n = atomic_load(&shared[i]);
    bad += list_check(n, &count);
  }
  atomic_fetch_add(&bad_nodes, bad);
  atomic_fetch_add(&checked_nodes, count);

  gh_stats s1 = gt_stats();
  long total_ops = 0;
  for (int i = 0; i < MUTATORS; i++) total_ops += args[i].ops;
  CHECKF("every live node checked intact (lists, trees, hand-offs, short-lived threads)", atomic_load(&bad_nodes) == 0,
         "%ld bad of %ld checked", atomic_load(&bad_nodes), atomic_load(&checked_nodes));
  CHECK("many nodes were checked", atomic_load(&checked_nodes) > 10000);
  CHECKF("collections ran during the test (>= 20)", s1.num_gc - s0.num_gc >= 20, "%llu",
         (unsigned long long)(s1.num_gc - s0.num_gc));
  CHECKF("some collections were triggered by allocation", (s1.num_gc - s1.num_forced_gc) > (s0.num_gc - s0.num_forced_gc),
         "%llu automatic", (unsigned long long)((s1.num_gc - s1.num_forced_gc) - (s0.num_gc - s0.num_forced_gc)));
  CHECKF("threads were created and exited during collections", atomic_load(&spawned) >= 20, "%ld",
         atomic_load(&spawned));
  CHECKF("heap_sys stayed bounded (< 512 MiB)", max_sys < 512 * GT_MiB, "%llu MiB", (unsigned long long)(max_sys >> 20));
  CHECKF("no bad call reported", gh_error_count() == 0, "%llu", (unsigned long long)gh_error_count());
  printf("test_threads: %ld ops, %ld handoffs, %ld threads spawned, %llu collections, %llu ms\n", total_ops,
         atomic_load(&handoffs), atomic_load(&spawned), (unsigned long long)(s1.num_gc - s0.num_gc),
         (unsigned long long)(gt_now_ms() - t0));
  return TEST_SUMMARY();
}
