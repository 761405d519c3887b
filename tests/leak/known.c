/*
 * known.c -- a program with known leaks, for the leak check
 * (tests/suites/leakcheck.sh). Every leak has its own allocating function
 * and a size no other group has, so the report can be checked group by group:
 *
 *   group (function)         kind      bytes     objects
 *   leak_direct  (x3, 1 site) direct    3 x 333   3
 *   leak_list    (10 nodes)  direct    72        1   (the head)
 *                            indirect  9 x 72    9   (the nodes)
 *   leak_global  (2 blocks)  direct    4000      1   (the overwritten one)
 *   leak_large               direct    200000    1
 *   leak_cycle   (2 blocks)  direct    152       1
 *                            indirect  152       1
 *   thread_leaks (2nd thread) direct   5 x 555   5
 *   leak_calloc  (7 x 91)    direct    637       1
 *   leak_realloc (24->2500)  direct    2500      1
 *   leak_realloc_inplace     direct    780       1   (770 -> 780: same size class)
 *   leak_memalign (256-aligned) direct 1000      1
 *   leak_strdup              direct    58        1   (frame #0 is strdup itself)
 *
 * Not leaked (must not be reported): reach_global (111, a global),
 * reach_via_heap (121 in a global, pointing to 131), reach_mmap (141, only
 * in an anonymous mapping of the program's), reach_interior (161, only an
 * interior pointer in a global), reach_tls (171, a __thread variable),
 * reach_thread_stack (181, on the stack of a thread still blocked at exit),
 * free_one (191, freed), leak_global's second block (4000, in a global).
 *
 * Care against the compiler: allocating functions are noinline and keep the
 * pointers in volatile locals (no tail call to malloc, no pointer left in a
 * register of main), and clobber_stack() zeroes the dead stack below main (and
 * below the leaking thread's function) before returning, so no stale copy of a
 * leaked pointer is left where the check scans. Build: cc -O1 -g
 * -fno-builtin-malloc -pthread (-DMIDCHECK: main calls gh_check_leaks(2)
 * half way, prints "midcheck N", then gh_check_leaks(-1) and "quietcheck N";
 * -DSTATIC_GOHEAP: call it directly, linked with libgoheap.a; otherwise it is
 * found with dlsym, as under LD_PRELOAD). main returns 5.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))

/* Globals are not static, and volatile, so the stores are kept. */
void *volatile g_global;        /* leak_global's current block */
void *volatile g_reach;         /* reach_global */
void **volatile g_holder;       /* reach_via_heap: holder -> child */
char *volatile g_interior;      /* reach_interior: block + 80 */
__thread void *volatile t_reach; /* reach_tls */
int g_pipe[2];                  /* the blocked thread waits on it */

/* The links are volatile: the blocks come from malloc (attribute malloc), and
 * GCC deletes stores into memory that nothing reads afterwards. */
struct node {
  struct node *volatile next;
  char pad[64];
}; /* 72 bytes */

struct pair {
  struct pair *volatile other;
  char pad[144];
}; /* 152 bytes */

NOINLINE void clobber_stack(void) {
  volatile char buf[64 * 1024];
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = 0;
  __asm__ volatile("" ::: "memory");
}

NOINLINE void leak_direct(void) {
  char *volatile p = malloc(333);
  p[0] = 1;
}

NOINLINE void leak_list(void) {
  struct node *volatile head = NULL;
  for (volatile int i = 0; i < 10; i++) {
    struct node *volatile n = malloc(sizeof(struct node));
    n->next = head;
    n->pad[0] = (char)i;
    head = n;
  }
}

NOINLINE void leak_global(void) {
  g_global = malloc(4000); /* leaked when overwritten: */
  g_global = malloc(4000);
}

NOINLINE void leak_large(void) {
  char *volatile p = malloc(200000);
  p[199999] = 1;
}

NOINLINE void leak_cycle(void) {
  struct pair *volatile two[2];
  for (volatile int i = 0; i < 2; i++) two[i] = malloc(sizeof(struct pair));
  two[0]->other = two[1];
  two[1]->other = two[0];
  two[0] = two[1] = NULL;
}

NOINLINE void reach_global(void) { g_reach = malloc(111); }

NOINLINE void reach_via_heap(void) {
  void **volatile holder = malloc(121);
  ((void *volatile *)holder)[0] = malloc(131);
  g_holder = holder;
}

NOINLINE void reach_mmap(void) {
  /* The mapping's own address is kept nowhere: it stays mapped, and is a
   * root as one of the program's private anonymous mappings. */
  char *volatile region = mmap(NULL, 256 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) abort();
  *(void *volatile *)(region + 200 * 1024 + 8) = malloc(141);
  region = NULL;
}

NOINLINE void reach_interior(void) {
  char *volatile p = malloc(161);
  g_interior = p + 80;
}

NOINLINE void reach_tls(void) { t_reach = malloc(171); }

NOINLINE void free_one(void) {
  char *volatile p = malloc(191);
  p[0] = 1;
  free(p);
}

NOINLINE void thread_leaks(void) {
  for (volatile int i = 0; i < 5; i++) {
    char *volatile p = malloc(555);
    p[0] = 1;
  }
}

static void *leaking_thread(void *arg) {
  (void)arg;
  thread_leaks();
  clobber_stack();
  return NULL;
}

NOINLINE void reach_thread_stack_body(void) {
  char *volatile p = malloc(181);
  p[0] = 1;
  char c;
  /* blocks until the process exits: the block stays on this live stack */
  while (read(g_pipe[0], &c, 1) < 0) {
  }
  p[1] = c;
}

static void *blocked_thread(void *arg) {
  (void)arg;
  reach_thread_stack_body();
  return NULL;
}

NOINLINE void run_threads(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, leaking_thread, NULL) || pthread_join(t, NULL)) abort();
  if (pipe(g_pipe) || pthread_create(&t, NULL, blocked_thread, NULL)) abort();
  pthread_detach(t);
}

NOINLINE void leak_calloc(void) {
  char *volatile p = calloc(7, 91);
  p[0] = 1;
}

NOINLINE void leak_realloc(void) {
  char *volatile p = malloc(24);
  p = realloc(p, 2500);
  p[2499] = 1;
}

NOINLINE void leak_realloc_inplace(void) {
  char *volatile p = malloc(770);
  p = realloc(p, 780);
  p[779] = 1;
}

NOINLINE void leak_memalign(void) {
  void *volatile q;
  void *p = NULL;
  if (posix_memalign(&p, 256, 1000)) abort();
  q = p;
  p = NULL;
  ((char *)q)[0] = 1;
}

/* 57 characters: strdup allocates 58 bytes */
const char *volatile strdup_src = "strdup-leak-0123456789-0123456789-0123456789-0123456789-x";

NOINLINE void leak_strdup(void) {
  char *volatile p = strdup(strdup_src);
  p[0] = 'S';
}

#ifdef MIDCHECK
#ifdef STATIC_GOHEAP
#include "goheap.h"
static uint64_t check_leaks(int fd) { return gh_check_leaks(fd); }
#else
static uint64_t check_leaks(int fd) {
  uint64_t (*f)(int) = (uint64_t(*)(int))dlsym(RTLD_DEFAULT, "gh_check_leaks");
  if (!f) {
    printf("midcheck: gh_check_leaks not found (not run under goheap)\n");
    return UINT64_MAX;
  }
  return f(fd);
}
#endif
#endif

int main(void) {
  for (volatile int i = 0; i < 3; i++) leak_direct();
  leak_list();
  leak_global();
  leak_large();
  leak_cycle();
  reach_global();
  reach_via_heap();
  reach_mmap();
  reach_interior();
  reach_tls();
  free_one();
#ifdef MIDCHECK
  clobber_stack();
  uint64_t mid = check_leaks(2);
  clobber_stack();
  uint64_t quiet = check_leaks(-1);
  printf("midcheck %llu\nquietcheck %llu\n", (unsigned long long)mid, (unsigned long long)quiet);
#endif
  run_threads();
  leak_calloc();
  leak_realloc();
  leak_realloc_inplace();
  leak_memalign();
  leak_strdup();
  printf("known: done\n");
  fflush(stdout);
  clobber_stack();
  return 5;
}
