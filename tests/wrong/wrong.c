/*
 * wrong.c -- one misuse of the malloc API per run, for tests/suites/wrong_use.sh.
 *
 * Usage: wrong CASE     (wrong --list prints the cases)
 *
 * Prints "badptr=0x..." (the pointer handed to the bad call, in 0x%lx form)
 * on stdout, then makes the bad call. goheap must detect it: by default it
 * prints one "goheap: ..." line on stderr and aborts (SIGABRT, status 134);
 * with GOHEAP_ON_ERROR=report (or, for the "api-report" case,
 * gh_set_error_mode(GH_ERROR_REPORT)) it prints the line, ignores the call,
 * and this program goes on: it checks gh_error_count() went up, allocates,
 * writes, checks and frees a few thousand blocks, prints "survived" and
 * exits 0. If the bad call returns in abort mode, or the error count did not
 * move, it prints "NOT DETECTED" and exits 3.
 *
 * The "first-*" cases make the bad call the process's very first goheap call
 * (no warm-up allocation; nothing before main allocates either): options such
 * as GOHEAP_ON_ERROR must be honoured even though no allocation has read them
 * yet. After the call (report mode) they check that goheap had no heap yet
 * (gh_read_stats: num_arenas == 0 and heap_sys == 0), so the case really
 * tested a first call; if not, they print "SETUP" and exit 5.
 *
 * Linked with build/libgoheap.a, so the plain names are goheap's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "goheap.h"

extern void free_sized(void *p, size_t size);
extern void free_aligned_sized(void *p, size_t alignment, size_t size);

static char global_buf[256];

/* Hides where a pointer came from, so the compiler neither warns about nor
 * optimizes the deliberate misuse. */
static void *launder(void *p) {
  __asm__ volatile("" : "+r"(p));
  return p;
}

static void show(const void *p) {
  printf("badptr=0x%lx\n", (unsigned long)(uintptr_t)p);
  fflush(stdout);
}

static void *freer(void *p) {
  free(p);
  return NULL;
}

/* After the bad call, in report mode: the heap must still work. */
static int keep_working(void) {
  enum { N = 3000 };
  static unsigned char *v[N];
  for (int i = 0; i < N; i++) {
    size_t n = (size_t)(i * 131 % 5000) + 1 + (i % 300 == 0 ? 100000 : 0);
    v[i] = malloc(n);
    if (!v[i]) return 0;
    memset(v[i], i & 0xff, n);
  }
  for (int i = 0; i < N; i++) {
    size_t n = (size_t)(i * 131 % 5000) + 1 + (i % 300 == 0 ? 100000 : 0);
    for (size_t k = 0; k < n; k += 61)
      if (v[i][k] != (unsigned char)(i & 0xff)) return 0;
    free(v[i]);
  }
  void *p = calloc(10, 10), *q = realloc(NULL, 50);
  free(p);
  free(q);
  return 1;
}

typedef void (*case_fn)(void);

static void c_double_free_small(void) {
  char *p = malloc(48);
  memset(p, 1, 48);
  char *q = launder(p);
  show(q);
  free(p);
  free(q);
}

static void c_double_free_tiny(void) {
  char *p = malloc(1);
  *p = 1;
  char *q = launder(p);
  show(q);
  free(p);
  free(q);
}

static void c_double_free_large(void) {
  char *p = malloc(1 << 20);
  memset(p, 1, 1 << 20);
  char *q = launder(p);
  show(q);
  free(p);
  free(q);
}

static void c_double_free_remote(void) {
  /* first free by another thread (the cross-thread path), second here */
  char *keep = launder(malloc(64)); /* keeps the span in use */
  char *p = malloc(64);
  memset(p, 1, 64);
  show(p);
  pthread_t t;
  pthread_create(&t, NULL, freer, p);
  pthread_join(t, NULL);
  free(launder(p));
  free(keep);
}

static void c_double_free_remote2(void) {
  /* first free here (the owner's path), second by another thread */
  char *keep = launder(malloc(64));
  char *p = malloc(64);
  memset(p, 1, 64);
  char *q = launder(p);
  show(q);
  free(p);
  pthread_t t;
  pthread_create(&t, NULL, freer, q);
  pthread_join(t, NULL);
  free(keep);
}

static void c_free_stack(void) {
  char buf[64];
  memset(buf, 0, sizeof buf);
  char *p = launder(buf);
  show(p);
  free(p);
}

static void c_free_global(void) {
  char *p = launder(global_buf);
  show(p);
  free(p);
}

static void c_free_mmap(void) {
  char *p = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) exit(2);
  p[0] = 1;
  show(p);
  free(p);
}

static void c_free_wild(void) {
  char *p = launder((void *)(uintptr_t)0x10000);
  show(p);
  free(p);
}

static void c_free_interior_small(void) {
  char *p = malloc(64);
  memset(p, 1, 64);
  char *q = launder(p + 16);
  show(q);
  free(q);
  free(p);
}

static void c_free_interior_large(void) {
  char *p = malloc(1 << 20);
  memset(p, 1, 1 << 20);
  char *q = launder(p + 16);
  show(q);
  free(q);
  free(p);
}

static void c_free_interior_large_page(void) {
  char *p = malloc(1 << 20);
  memset(p, 1, 1 << 20);
  char *q = launder(p + 65536);
  show(q);
  free(q);
  free(p);
}

static void c_realloc_freed(void) {
  char *p = malloc(64);
  memset(p, 1, 64);
  char *q = launder(p);
  show(q);
  free(p);
  char *r = realloc(q, 128);
  if (r) free(r); /* if it "worked", don't leak; the check already failed */
}

static void c_realloc_interior(void) {
  char *p = malloc(64);
  memset(p, 1, 64);
  char *q = launder(p + 16);
  show(q);
  char *r = realloc(q, 100);
  (void)r; /* report mode: NULL expected, p still ours */
  free(p);
}

static void c_free_sized_wrong(void) {
  char *p = malloc(100);
  memset(p, 1, 100);
  show(p);
  free_sized(p, 5000);
  free(p); /* report mode: the bad call was ignored, p is still live */
}

static void c_free_sized_wrong_large(void) {
  char *p = malloc(1 << 20);
  memset(p, 1, 1 << 20);
  show(p);
  free_sized(p, 100);
  free(p);
}

static void c_free_aligned_sized_wrong(void) {
  char *p = aligned_alloc(64, 100);
  memset(p, 1, 100);
  show(p);
  free_aligned_sized(p, 64, 20000);
  free(p);
}

static void c_usable_size_foreign(void) {
  char buf[64];
  memset(buf, 0, sizeof buf);
  char *p = launder(buf);
  show(p);
  size_t u = malloc_usable_size(p);
  printf("usable=%zu\n", u);
  if (u != 0) {
    printf("malloc_usable_size of a foreign pointer: want 0\n");
    exit(6);
  }
}

/* ---- the bad call is the process's first goheap call ----------------------- */
/* (first-free-stack and first-usable-size-stack run c_free_stack and
 * c_usable_size_foreign without the warm-up: see main) */

static void c_first_realloc_stack(void) {
  char buf[64];
  memset(buf, 0, sizeof buf);
  char *p = launder(buf);
  show(p);
  errno = 0;
  char *r = realloc(p, 100);
  int e = errno;
  printf("realloc=%p errno=%d\n", (void *)r, e);
  if (r != NULL || e != EINVAL) {
    printf("realloc of a foreign pointer: want NULL and EINVAL\n");
    exit(6);
  }
}

static void c_api_report(void) {
  gh_set_error_mode(GH_ERROR_REPORT);
  c_double_free_small();
}

static const struct {
  const char *name;
  case_fn fn;
} cases[] = {
    {"double-free-small", c_double_free_small},
    {"double-free-tiny", c_double_free_tiny},
    {"double-free-large", c_double_free_large},
    {"double-free-remote", c_double_free_remote},
    {"double-free-remote2", c_double_free_remote2},
    {"free-stack", c_free_stack},
    {"free-global", c_free_global},
    {"free-mmap", c_free_mmap},
    {"free-wild", c_free_wild},
    {"free-interior-small", c_free_interior_small},
    {"free-interior-large", c_free_interior_large},
    {"free-interior-large-page", c_free_interior_large_page},
    {"realloc-freed", c_realloc_freed},
    {"realloc-interior", c_realloc_interior},
    {"free-sized-wrong", c_free_sized_wrong},
    {"free-sized-wrong-large", c_free_sized_wrong_large},
    {"free-aligned-sized-wrong", c_free_aligned_sized_wrong},
    {"usable-size-foreign", c_usable_size_foreign},
    {"api-report", c_api_report},
    {"first-free-stack", c_free_stack},
    {"first-realloc-stack", c_first_realloc_stack},
    {"first-usable-size-stack", c_usable_size_foreign},
};

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: wrong CASE | --list\n");
    return 2;
  }
  /* stdout gets a static buffer: printing must not allocate (a stdio buffer
   * malloc'd between the two frees of a double free would take the slot) */
  static char outbuf[4096];
  setvbuf(stdout, outbuf, _IOLBF, sizeof outbuf);
  size_t nc = sizeof cases / sizeof cases[0];
  if (strcmp(argv[1], "--list") == 0) {
    for (size_t i = 0; i < nc; i++) puts(cases[i].name);
    return 0;
  }
  for (size_t i = 0; i < nc; i++) {
    if (strcmp(argv[1], cases[i].name) != 0) continue;
    int first = strncmp(cases[i].name, "first-", 6) == 0;
    uint64_t before = 0;
    if (!first) {
      /* warm the heap up, so the bad call is not the first one */
      free(launder(malloc(10)));
      before = gh_error_count();
    }
    cases[i].fn();
    uint64_t after = gh_error_count();
    if (after == before) {
      printf("NOT DETECTED (error count unchanged)\n");
      return 3;
    }
    if (first) {
      /* the bad call must have been the first: goheap had no heap yet */
      gh_stats st;
      memset(&st, 0, sizeof st);
      st.size = sizeof st;
      gh_read_stats(&st);
      if (st.num_arenas != 0 || st.heap_sys != 0) {
        printf("SETUP: something allocated before the bad call (num_arenas %llu, heap_sys %llu)\n",
               (unsigned long long)st.num_arenas, (unsigned long long)st.heap_sys);
        return 5;
      }
    }
    if (!keep_working()) {
      printf("heap broken after the reported call\n");
      return 4;
    }
    printf("survived (errors reported: %llu)\n", (unsigned long long)(after - before));
    return 0;
  }
  fprintf(stderr, "wrong: unknown case %s\n", argv[1]);
  return 2;
}
