/*
 * test_api.c -- the malloc-family contract, edge case by edge case.
 *
 * Tests every function of the malloc family twice, once through the plain
 * names (malloc, free, ...: goheap's static overrides in this binary) and once
 * through the gh_ twins of include/goheap.h, against the contract users rely
 * on (glibc semantics; reference/user-asks.md sections 2.4 and 2.5):
 *
 *   malloc(0) unique and freeable; free(NULL); 8/16-byte alignment; huge
 *   sizes and overflows fail with NULL + ENOMEM; calloc zeroes (also on reuse)
 *   and checks overflow; realloc(NULL,n), realloc(p,0), contents preserved
 *   across small/large transitions, same pointer within a size class;
 *   reallocarray overflow; posix_memalign / aligned_alloc / memalign / valloc
 *   / pvalloc alignment, errors and errno; malloc_usable_size; sized frees;
 *   free preserves errno; malloc_trim; many sizes written and checked; a
 *   100 MB block; memory given back to the OS.
 *
 * Plain-name only: the symbols are goheap's and not libc's (dladdr), cfree,
 * mallopt, mallinfo/mallinfo2, malloc_stats, the __libc_* and
 * __posix_memalign aliases; goheap only: gh_read_stats, gh_print_stats,
 * gh_set_error_mode, gh_error_count, gh_free_os_memory.
 *
 * The test runs in GH_ERROR_REPORT mode and checks gh_error_count() after
 * every section, so a false "bad pointer" report fails a check instead of
 * aborting the whole binary. Every call goes through a function pointer read
 * through a volatile pointer, so the compiler cannot fold malloc semantics
 * (distinct results, calloc zeroes, malloc+free elision) into the tests.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "goheap.h"
#include "testhelper.h"

/* Not declared by glibc 2.36's headers (or only as compat symbols). Weak, so
 * a missing export fails a check instead of the link. */
extern void cfree(void *p) __attribute__((weak));
extern void free_sized(void *p, size_t size) __attribute__((weak));
extern void free_aligned_sized(void *p, size_t alignment, size_t size) __attribute__((weak));
extern void *__libc_malloc(size_t size) __attribute__((weak));
extern void __libc_free(void *p) __attribute__((weak));
extern void *__libc_calloc(size_t n, size_t size) __attribute__((weak));
extern void *__libc_realloc(void *p, size_t size) __attribute__((weak));
extern void *__libc_memalign(size_t alignment, size_t size) __attribute__((weak));
extern void *__libc_valloc(size_t size) __attribute__((weak));
extern void *__libc_pvalloc(size_t size) __attribute__((weak));
extern int __posix_memalign(void **out, size_t alignment, size_t size) __attribute__((weak));

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)

/* ---- the two ways in ------------------------------------------------------ */

typedef struct api {
  const char *name;
  void *(*malloc_)(size_t);
  void (*free_)(void *);
  void *(*calloc_)(size_t, size_t);
  void *(*realloc_)(void *, size_t);
  void *(*reallocarray_)(void *, size_t, size_t);
  int (*posix_memalign_)(void **, size_t, size_t);
  void *(*aligned_alloc_)(size_t, size_t);
  void *(*memalign_)(size_t, size_t);
  void *(*valloc_)(size_t);
  void *(*pvalloc_)(size_t);
  size_t (*usable_)(void *);
  void (*free_sized_)(void *, size_t);
  void (*free_aligned_sized_)(void *, size_t, size_t);
  int (*trim_)(size_t);
} api_t;

static api_t plain_api, gh_api;
static const api_t *volatile api_cur; /* read through this: opaque to the optimizer */

static void init_apis(void) {
  plain_api = (api_t){"plain", malloc, free, calloc, realloc, reallocarray, posix_memalign,
                      aligned_alloc, memalign, valloc, pvalloc, malloc_usable_size,
                      free_sized, free_aligned_sized, malloc_trim};
  gh_api = (api_t){"gh", gh_malloc, gh_free, gh_calloc, gh_realloc, gh_reallocarray,
                   gh_posix_memalign, gh_aligned_alloc, gh_memalign, gh_valloc, gh_pvalloc,
                   gh_malloc_usable_size, gh_free_sized, gh_free_aligned_sized,
                   gh_malloc_trim};
}

/* ---- helpers --------------------------------------------------------------- */

/* Check names: "plain: malloc(0) ..." built in a small ring of buffers. */
static const char *nm(const char *fmt, ...) {
  static char ring[8][200];
  static int next;
  char *b = ring[next++ & 7];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(b, sizeof ring[0], fmt, ap);
  va_end(ap);
  return b;
}

static void *launder(void *p) {
  __asm__ volatile("" : "+r"(p));
  return p;
}

static unsigned char pat(size_t i, unsigned seed) {
  return (unsigned char)(seed * 131u + i * 7u + (i >> 9) + 1u);
}

static void fill(void *p, size_t n, unsigned seed) {
  unsigned char *c = p;
  for (size_t i = 0; i < n; i++) c[i] = pat(i, seed);
}

/* Returns n if all n bytes hold the pattern, else the first bad index. */
static size_t check_fill(const void *p, size_t n, unsigned seed) {
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++)
    if (c[i] != pat(i, seed)) return i;
  return n;
}

static int all_zero(const void *p, size_t n) {
  const unsigned char *c = launder((void *)p);
  for (size_t i = 0; i < n; i++)
    if (c[i]) return 0;
  return 1;
}

static int aligned(const void *p, size_t a) { return ((uintptr_t)p & (a - 1)) == 0; }

static size_t round_up(size_t n, size_t a) { return (n + a - 1) & ~(a - 1); }

static uint64_t errors_before;
/* Each section ends with this: goheap must not have reported a bad call. */
static void no_reports(const char *section) {
  uint64_t e = gh_error_count();
  CHECKF(nm("%s: no goheap error reports", section), e == errors_before,
         "%llu new reports", (unsigned long long)(e - errors_before));
  errors_before = e;
}

static void read_stats(gh_stats *s) {
  memset(s, 0, sizeof *s);
  s->size = sizeof *s;
  gh_read_stats(s);
}

static size_t rss_bytes(void) {
  long pages = 0, res = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return 0;
  if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
  fclose(f);
  return (size_t)res * (size_t)sysconf(_SC_PAGESIZE);
}

/* Runs fn with fd 2 redirected to a temporary file; returns what it wrote. */
static size_t capture_stderr(void (*fn)(void), char *buf, size_t cap) {
  char path[] = "/tmp/gh_api_stderr_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return 0;
  unlink(path);
  fflush(stderr);
  int saved = dup(2);
  dup2(fd, 2);
  fn();
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  ssize_t n = pread(fd, buf, cap - 1, 0);
  close(fd);
  if (n < 0) n = 0;
  buf[n] = 0;
  return (size_t)n;
}

/* ---- sections, run for both APIs ------------------------------------------ */

static void t_malloc0(const api_t *A) {
  enum { N = 64 };
  void *p[N];
  int nonnull = 1, distinct = 1;
  for (int i = 0; i < N; i++) {
    p[i] = A->malloc_(0);
    if (!p[i]) nonnull = 0;
  }
  for (int i = 0; i < N; i++)
    for (int j = i + 1; j < N; j++)
      if (p[i] && p[i] == p[j]) distinct = 0;
  CHECK(nm("%s: malloc(0) returns non-NULL", A->name), nonnull);
  CHECK(nm("%s: malloc(0) returns unique pointers", A->name), distinct);
  for (int i = 0; i < N; i++) A->free_(p[i]);
  CHECK(nm("%s: malloc(0) blocks are freeable", A->name), 1);

  void *a = A->calloc_(0, 0), *b = A->calloc_(0, 17), *c = A->calloc_(17, 0);
  CHECK(nm("%s: calloc(0,0)/(0,n)/(n,0) non-NULL", A->name), a && b && c);
  CHECK(nm("%s: calloc zero-size pointers unique", A->name), a != b && b != c && a != c);
  A->free_(a);
  A->free_(b);
  A->free_(c);
  void *r = A->realloc_(NULL, 0);
  CHECK(nm("%s: realloc(NULL,0) == malloc(0), non-NULL", A->name), r != NULL);
  A->free_(r);
  no_reports(nm("%s malloc0", A->name));
}

static void t_free_null(const api_t *A) {
  errno = 777;
  A->free_(NULL);
  CHECK(nm("%s: free(NULL) is a no-op and keeps errno", A->name), errno == 777);
  if (A->free_sized_) {
    A->free_sized_(NULL, 0);
    A->free_sized_(NULL, 100);
  }
  if (A->free_aligned_sized_) A->free_aligned_sized_(NULL, 64, 100);
  CHECK(nm("%s: free_sized(NULL,..)/free_aligned_sized(NULL,..) are no-ops", A->name),
        errno == 777);
  no_reports(nm("%s free(NULL)", A->name));
}

static void t_alignment(const api_t *A) {
  size_t bad8 = 0, bad16 = 0, badc = 0, badr = 0;
  for (size_t n = 1; n <= 4096; n++) {
    size_t want = n <= 8 ? 8 : 16;
    void *p[3];
    for (int k = 0; k < 3; k++) {
      p[k] = A->malloc_(n);
      if (!p[k] || !aligned(p[k], want)) {
        if (n <= 8) { if (!bad8) bad8 = n; }
        else if (!bad16) bad16 = n;
      }
      if (p[k]) memset(p[k], 0x5a, n);
    }
    void *c = A->calloc_(1, n);
    if (!c || !aligned(c, want)) { if (!badc) badc = n; }
    void *r = A->realloc_(p[0], n + 8);
    if (r) p[0] = r;
    if (!r || !aligned(r, 16)) { if (!badr) badr = n; }
    for (int k = 0; k < 3; k++) A->free_(p[k]);
    A->free_(c);
  }
  CHECKF(nm("%s: malloc(1..8) is 8-byte aligned", A->name), bad8 == 0, "first bad size %zu", bad8);
  CHECKF(nm("%s: malloc(9..4096) is 16-byte aligned", A->name), bad16 == 0,
         "first bad size %zu", bad16);
  CHECKF(nm("%s: calloc(1, 1..4096) is 8/16-byte aligned", A->name), badc == 0,
         "first bad size %zu", badc);
  CHECKF(nm("%s: realloc results are 8/16-byte aligned", A->name), badr == 0,
         "first bad size %zu", badr);
  no_reports(nm("%s alignment", A->name));
}

static void t_huge(const api_t *A) {
  const size_t huge[] = {SIZE_MAX,          SIZE_MAX - 1,           SIZE_MAX - 15,
                         SIZE_MAX - 4095,   SIZE_MAX - 8191,        SIZE_MAX - 65535,
                         SIZE_MAX - MiB,    (size_t)PTRDIFF_MAX + 1, (size_t)PTRDIFF_MAX,
                         SIZE_MAX / 2 + 4096, (size_t)1 << 62};
  for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
    errno = 0;
    void *p = A->malloc_(huge[i]);
    int e = errno;
    CHECKF(nm("%s: malloc(%#zx) -> NULL, ENOMEM", A->name, huge[i]), p == NULL && e == ENOMEM,
           "p=%p errno=%d", p, e);
    if (p) A->free_(p);
  }
  /* The heap still works after the failures. */
  void *p = A->malloc_(100);
  CHECK(nm("%s: malloc works after ENOMEM failures", A->name), p != NULL);
  A->free_(p);

  errno = 0;
  p = A->valloc_(SIZE_MAX - 100);
  CHECK(nm("%s: valloc(SIZE_MAX-100) -> NULL, ENOMEM", A->name), p == NULL && errno == ENOMEM);
  if (p) A->free_(p);
  errno = 0;
  p = A->pvalloc_(SIZE_MAX - 100); /* rounding up to a page must not wrap to 0 */
  CHECK(nm("%s: pvalloc(SIZE_MAX-100) -> NULL, ENOMEM (no wrap)", A->name),
        p == NULL && errno == ENOMEM);
  if (p) A->free_(p);
  errno = 0;
  p = A->memalign_(4096, SIZE_MAX - 100);
  CHECK(nm("%s: memalign(4096, SIZE_MAX-100) -> NULL, ENOMEM", A->name),
        p == NULL && errno == ENOMEM);
  if (p) A->free_(p);
  errno = 0;
  p = A->aligned_alloc_(2 * MiB, SIZE_MAX - MiB);
  CHECK(nm("%s: aligned_alloc(2MiB, SIZE_MAX-1MiB) -> NULL, ENOMEM", A->name),
        p == NULL && errno == ENOMEM);
  if (p) A->free_(p);
  no_reports(nm("%s huge", A->name));
}

static void t_calloc(const api_t *A) {
  static const size_t sizes[] = {1,     8,      15,      16,       24,      100,
                                 1000,  4096,   8000,    20000,    32768,   32769,
                                 40000, 100000, 1 << 20, 3 << 20 | 7};
  size_t bad_fresh = 0, bad_reuse = 0, bad_many = 0;
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = sizes[i];
    unsigned char *c = A->calloc_(n, 1);
    if (!c || !all_zero(c, n)) bad_fresh = n;
    A->free_(c);
    /* fill, free, calloc the same size: the reused slot must come back zeroed */
    for (int rep = 0; rep < (n > 100000 ? 8 : 64); rep++) {
      unsigned char *p = A->malloc_(n);
      if (p) memset(p, 0xA7, n);
      A->free_(p);
      unsigned char *q = A->calloc_(1, n);
      if (!q || !all_zero(q, n)) bad_reuse = n;
      if (q) memset(q, 0xB3, n);
      A->free_(q);
    }
    /* many at once: fill a batch, free it, calloc a batch of the same size */
    if (n <= 100000) {
      enum { B = 32 };
      void *v[B];
      for (int k = 0; k < B; k++) {
        v[k] = A->malloc_(n);
        if (v[k]) memset(v[k], 0xC5, n);
      }
      for (int k = 0; k < B; k++) A->free_(v[k]);
      for (int k = 0; k < B; k++) {
        v[k] = A->calloc_(n, 1);
        if (!v[k] || !all_zero(v[k], n)) bad_many = n;
      }
      for (int k = 0; k < B; k++) A->free_(v[k]);
    }
  }
  CHECKF(nm("%s: calloc returns zeroed memory", A->name), !bad_fresh, "size %zu", bad_fresh);
  CHECKF(nm("%s: calloc zeroes a reused block (fill, free, calloc)", A->name), !bad_reuse,
         "size %zu", bad_reuse);
  CHECKF(nm("%s: calloc zeroes a reused batch", A->name), !bad_many, "size %zu", bad_many);

  unsigned char *c2 = A->calloc_(1000, 40); /* n*size, both > 1 */
  CHECK(nm("%s: calloc(1000,40) zeroed, 40000 bytes", A->name),
        c2 && all_zero(c2, 40000) && A->usable_(c2) >= 40000);
  A->free_(c2);

  const size_t ov[][2] = {{SIZE_MAX / 2 + 1, 2},
                          {2, SIZE_MAX / 2 + 1},
                          {(size_t)1 << 32, (size_t)1 << 32},
                          {SIZE_MAX, SIZE_MAX},
                          {SIZE_MAX / 16 + 1, 16},
                          {65537, (size_t)1 << 48}};
  for (size_t i = 0; i < sizeof ov / sizeof ov[0]; i++) {
    errno = 0;
    void *p = A->calloc_(ov[i][0], ov[i][1]);
    int e = errno;
    CHECKF(nm("%s: calloc(%#zx, %#zx) overflow -> NULL, ENOMEM", A->name, ov[i][0], ov[i][1]),
           p == NULL && e == ENOMEM, "p=%p errno=%d", p, e);
    if (p) A->free_(p);
  }
  errno = 0;
  void *p = A->calloc_(1, SIZE_MAX);
  CHECK(nm("%s: calloc(1, SIZE_MAX) -> NULL, ENOMEM", A->name), p == NULL && errno == ENOMEM);
  if (p) A->free_(p);
  no_reports(nm("%s calloc", A->name));
}

static void t_realloc(const api_t *A) {
  gh_stats s0, s1;
  /* realloc(NULL, n) is malloc(n) */
  unsigned char *p = A->realloc_(NULL, 100);
  CHECK(nm("%s: realloc(NULL,100) returns a usable block", A->name),
        p && A->usable_(p) >= 100 && aligned(p, 16));
  if (p) {
    fill(p, 100, 1);
    CHECK(nm("%s: realloc(NULL,100) block holds data", A->name), check_fill(p, 100, 1) == 100);
  }
  A->free_(p);
  p = A->realloc_(NULL, 100000);
  CHECK(nm("%s: realloc(NULL,100000) returns a usable block", A->name),
        p && A->usable_(p) >= 100000);
  A->free_(p);

  /* realloc(p, 0) frees and returns NULL (glibc) */
  const size_t zs[] = {100, 100000};
  for (int i = 0; i < 2; i++) {
    p = A->malloc_(zs[i]);
    gh_malloc_trim(0);
    read_stats(&s0);
    void *r = A->realloc_(p, 0);
    gh_malloc_trim(0);
    read_stats(&s1);
    CHECK(nm("%s: realloc(p[%zu],0) returns NULL", A->name, zs[i]), r == NULL);
    CHECKF(nm("%s: realloc(p[%zu],0) frees p (frees counter)", A->name, zs[i]),
           s1.frees > s0.frees, "frees %llu -> %llu", (unsigned long long)s0.frees,
           (unsigned long long)s1.frees);
    if (r) A->free_(r);
  }

  /* contents preserved across every kind of move */
  static const size_t tr[][2] = {
      {24, 100},       {100, 24},        {100, 1000},       {1000, 100},    {8, 9},
      {16, 17},        {4096, 4097},     {20000, 32768},    {100, 100000},  {3000, 40000},
      {32768, 32769},  {100000, 100},    {40000, 30000},    {32769, 32768}, {100000, MiB},
      {MiB, 100000},   {40000, 40961},   {5 * MiB, 9 * MiB}, {9 * MiB, 5 * MiB},
      {1, 3 * MiB},    {3 * MiB, 1}};
  for (size_t i = 0; i < sizeof tr / sizeof tr[0]; i++) {
    size_t a = tr[i][0], b = tr[i][1], m = a < b ? a : b;
    const char *kind = a <= 32768 ? (b <= 32768 ? "small->small" : "small->large")
                                  : (b <= 32768 ? "large->small" : "large->large");
    unsigned char *x = A->malloc_(a);
    if (!x) {
      CHECK(nm("%s: realloc %s %zu->%zu: malloc", A->name, kind, a, b), 0);
      continue;
    }
    fill(x, a, (unsigned)i);
    unsigned char *y = A->realloc_(x, b);
    CHECKF(nm("%s: realloc %s %zu->%zu preserves contents", A->name, kind, a, b),
           y && check_fill(y, m, (unsigned)i) == m, "y=%p bad at %zu", (void *)y,
           y ? check_fill(y, m, (unsigned)i) : 0);
    if (!y) {
      A->free_(x);
      continue;
    }
    CHECK(nm("%s: realloc %s %zu->%zu usable/aligned", A->name, kind, a, b),
          A->usable_(y) >= b && aligned(y, b > 8 ? 16 : 8));
    fill(y, b, 99); /* the whole new size is writable */
    CHECK(nm("%s: realloc %s %zu->%zu writable", A->name, kind, a, b),
          check_fill(y, b, 99) == b);
    A->free_(y);
  }

  /* growth chain 1 B -> 8 MiB and back, content kept all the way */
  {
    size_t n = 1, bad = 0;
    unsigned char *c = A->malloc_(1);
    fill(c, 1, 7);
    while (n < 8 * MiB) {
      size_t nn = n * 2 + 3;
      unsigned char *d = A->realloc_(c, nn);
      if (!d) { bad = nn; break; }
      if (check_fill(d, n, 7) != n) { if (!bad) bad = nn; }
      c = d;
      fill(c, nn, 7);
      n = nn;
    }
    while (n > 1 && c) {
      size_t nn = n / 2;
      unsigned char *d = A->realloc_(c, nn);
      if (!d) { bad = nn; break; }
      if (check_fill(d, nn, 7) != nn) { if (!bad) bad = nn; }
      c = d;
      n = nn;
    }
    CHECKF(nm("%s: realloc chain 1B->8MiB->1B keeps contents", A->name), bad == 0,
           "first bad size %zu", bad);
    A->free_(c);
  }

  /* within the same size class the block stays where it is */
  static const size_t same[] = {1,     8,      9,       17,      100,      1000,
                                1025,  5000,   20000,   32768,   32769,    40000,
                                100000, MiB,   MiB + 1, 10 * MiB + 5};
  for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
    size_t n = same[i];
    unsigned char *x = A->malloc_(n);
    size_t u = A->usable_(x);
    fill(x, n, 3);
    unsigned char *y = A->realloc_(x, u);
    CHECKF(nm("%s: realloc(p[%zu], usable=%zu) returns the same pointer", A->name, n, u), y == x,
           "p=%p got %p", (void *)x, (void *)y);
    if (!y) y = x;
    unsigned char *z = A->realloc_(y, n);
    CHECKF(nm("%s: realloc back to %zu (same class) returns the same pointer", A->name, n),
           z == y, "p=%p got %p", (void *)y, (void *)z);
    if (!z) z = y;
    CHECK(nm("%s: same-class realloc of %zu keeps contents", A->name, n),
          check_fill(z, n, 3) == n);
    A->free_(z);
  }
  unsigned char *q = A->malloc_(100);
  unsigned char *q2 = A->realloc_(q, 100);
  CHECK(nm("%s: realloc to the same size returns the same pointer", A->name), q2 == q);
  A->free_(q2 ? q2 : q);

  /* realloc to an impossible size: NULL, ENOMEM, the original intact */
  const size_t big[] = {100, 100000};
  for (int i = 0; i < 2; i++) {
    unsigned char *x = A->malloc_(big[i]);
    fill(x, big[i], 11);
    errno = 0;
    void *y = A->realloc_(x, SIZE_MAX - 4096);
    int e = errno;
    CHECKF(nm("%s: realloc(p[%zu], SIZE_MAX-4096) -> NULL, ENOMEM", A->name, big[i]),
           y == NULL && e == ENOMEM, "y=%p errno=%d", y, e);
    CHECK(nm("%s: failed realloc leaves p[%zu] intact", A->name, big[i]),
          check_fill(x, big[i], 11) == big[i]);
    A->free_(y ? y : x);
  }

  /* realloc of over-aligned blocks */
  static const size_t al[][3] = {{4096, 3000, 50000}, {2 * MiB, 100, 4 * MiB},
                                 {64, 1000, 10},      {256, 100000, 300},
                                 {MiB, 5 * MiB, 40},  {4096, 0, 100}};
  for (size_t i = 0; i < sizeof al / sizeof al[0]; i++) {
    unsigned char *x = A->memalign_(al[i][0], al[i][1]);
    size_t m = al[i][1] < al[i][2] ? al[i][1] : al[i][2];
    fill(x, al[i][1], 21);
    unsigned char *y = A->realloc_(x, al[i][2]);
    CHECK(nm("%s: realloc of memalign(%zu,%zu) to %zu keeps contents", A->name, al[i][0],
             al[i][1], al[i][2]),
          y && check_fill(y, m, 21) == m);
    A->free_(y ? y : x);
  }
  no_reports(nm("%s realloc", A->name));
}

static void t_reallocarray(const api_t *A) {
  unsigned char *p = A->reallocarray_(NULL, 10, 10);
  CHECK(nm("%s: reallocarray(NULL,10,10) allocates", A->name), p && A->usable_(p) >= 100);
  fill(p, 100, 5);
  unsigned char *q = A->reallocarray_(p, 50, 20);
  CHECK(nm("%s: reallocarray grow keeps contents", A->name), q && check_fill(q, 100, 5) == 100);
  if (q) p = q;
  fill(p, 1000, 6);
  const size_t ov[][2] = {{SIZE_MAX / 2 + 1, 2}, {(size_t)1 << 33, (size_t)1 << 33}, {SIZE_MAX, 3}};
  for (int i = 0; i < 3; i++) {
    errno = 0;
    void *r = A->reallocarray_(p, ov[i][0], ov[i][1]);
    int e = errno;
    CHECKF(nm("%s: reallocarray(p, %#zx, %#zx) overflow -> NULL, ENOMEM", A->name, ov[i][0],
              ov[i][1]),
           r == NULL && e == ENOMEM, "r=%p errno=%d", r, e);
    if (r) p = r;
  }
  CHECK(nm("%s: reallocarray overflow leaves the original intact", A->name),
        check_fill(p, 1000, 6) == 1000);
  errno = 0;
  void *r = A->reallocarray_(NULL, SIZE_MAX / 4, 8);
  CHECK(nm("%s: reallocarray(NULL, overflow) -> NULL, ENOMEM", A->name),
        r == NULL && errno == ENOMEM);
  r = A->reallocarray_(p, 0, 10); /* = realloc(p, 0): frees, NULL */
  CHECK(nm("%s: reallocarray(p,0,10) frees and returns NULL", A->name), r == NULL);
  if (r) A->free_(r);
  no_reports(nm("%s reallocarray", A->name));
}

static void t_posix_memalign(const api_t *A) {
  const size_t badal[] = {0, 1, 2, 3, 4, 12, 24, 48, 4096 + 8, SIZE_MAX};
  for (size_t i = 0; i < sizeof badal / sizeof badal[0]; i++) {
    void *p = (void *)0x1234;
    errno = 4321;
    int rc = A->posix_memalign_(&p, badal[i], 100);
    CHECKF(nm("%s: posix_memalign(align=%zu) -> EINVAL, errno untouched", A->name, badal[i]),
           rc == EINVAL && errno == 4321, "rc=%d errno=%d", rc, errno);
    CHECK(nm("%s: posix_memalign(align=%zu) failure leaves *out unchanged or NULL", A->name,
             badal[i]),
          p == (void *)0x1234 || p == NULL);
    if (rc == 0 && p) A->free_(p);
  }
  const size_t sizes[] = {0, 1, 100, 10000, 100000};
  enum { NS = sizeof sizes / sizeof sizes[0] };
  for (size_t al = 8; al <= 4 * MiB; al *= 2) {
    void *ps[NS];
    int ok = 1, errno_ok = 1, fill_ok = 1, usable_ok = 1;
    for (int i = 0; i < NS; i++) {
      ps[i] = NULL;
      errno = 4321;
      int rc = A->posix_memalign_(&ps[i], al, sizes[i]);
      if (errno != 4321) errno_ok = 0;
      if (rc != 0 || !ps[i] || !aligned(ps[i], al)) ok = 0;
      if (rc != 0) ps[i] = NULL;
      if (ps[i]) {
        if (A->usable_(ps[i]) < sizes[i]) usable_ok = 0;
        fill(ps[i], sizes[i], (unsigned)i);
      }
    }
    for (int i = 0; i < NS; i++)
      if (ps[i] && check_fill(ps[i], sizes[i], (unsigned)i) != sizes[i]) fill_ok = 0;
    CHECK(nm("%s: posix_memalign(align=%zu) returns 0 and an aligned pointer", A->name, al), ok);
    CHECK(nm("%s: posix_memalign(align=%zu) does not set errno", A->name, al), errno_ok);
    CHECK(nm("%s: posix_memalign(align=%zu) usable >= size", A->name, al), usable_ok);
    CHECK(nm("%s: posix_memalign(align=%zu) blocks writable, no overlap", A->name, al), fill_ok);
    errno = 4321;
    for (int i = 0; i < NS; i++) A->free_(ps[i]);
    CHECK(nm("%s: free of posix_memalign(align=%zu) blocks keeps errno", A->name, al),
          errno == 4321);
  }
  void *p = (void *)0x1234;
  int rc = A->posix_memalign_(&p, 64, SIZE_MAX - 4096);
  CHECKF(nm("%s: posix_memalign(64, SIZE_MAX-4096) -> ENOMEM", A->name), rc == ENOMEM,
         "rc=%d", rc);
  CHECK(nm("%s: posix_memalign ENOMEM leaves *out unchanged or NULL", A->name),
        p == (void *)0x1234 || p == NULL);
  p = (void *)0x1234;
  rc = A->posix_memalign_(&p, (size_t)1 << 62, 1);
  CHECKF(nm("%s: posix_memalign(1<<62, 1) fails with ENOMEM or EINVAL", A->name),
         rc == ENOMEM || rc == EINVAL, "rc=%d", rc);
  if (rc == 0) A->free_(p);
  no_reports(nm("%s posix_memalign", A->name));
}

/* aligned_alloc and memalign share the loop */
static void t_aligned_family(const api_t *A, const char *fn, void *(*f)(size_t, size_t)) {
  const size_t sizes[] = {0, 1, 3, 100, 10000, 100000, 1 << 20};
  enum { NS = sizeof sizes / sizeof sizes[0] };
  for (size_t al = 1; al <= 4 * MiB; al *= 2) {
    void *ps[NS];
    int ok = 1, fill_ok = 1, usable_ok = 1;
    for (int i = 0; i < NS; i++) {
      ps[i] = f(al, sizes[i]);
      if (!ps[i] || !aligned(ps[i], al)) ok = 0;
      if (ps[i]) {
        if (A->usable_(ps[i]) < sizes[i]) usable_ok = 0;
        fill(ps[i], sizes[i], (unsigned)i + 40);
      }
    }
    for (int i = 0; i < NS; i++)
      if (ps[i] && check_fill(ps[i], sizes[i], (unsigned)i + 40) != sizes[i]) fill_ok = 0;
    CHECK(nm("%s: %s(align=%zu) non-NULL and aligned", A->name, fn, al), ok);
    CHECK(nm("%s: %s(align=%zu) usable >= size", A->name, fn, al), usable_ok);
    CHECK(nm("%s: %s(align=%zu) blocks writable, no overlap", A->name, fn, al), fill_ok);
    for (int i = 0; i < NS; i++) A->free_(ps[i]);
  }
  errno = 0;
  void *p = f(64, SIZE_MAX - 4096);
  CHECK(nm("%s: %s(64, SIZE_MAX-4096) -> NULL, ENOMEM", A->name, fn),
        p == NULL && errno == ENOMEM);
  if (p) A->free_(p);
  no_reports(nm("%s %s", A->name, fn));
}

static void t_valloc(const api_t *A) {
  const size_t page = 4096;
  const size_t sizes[] = {0, 1, 100, 4095, 4096, 4097, 100000, MiB, 3 * MiB + 1};
  enum { NS = sizeof sizes / sizeof sizes[0] };
  void *ps[NS];
  int ok = 1, usable_ok = 1, fill_ok = 1;
  for (int i = 0; i < NS; i++) {
    ps[i] = A->valloc_(sizes[i]);
    if (!ps[i] || !aligned(ps[i], page) || !aligned(ps[i], (size_t)sysconf(_SC_PAGESIZE))) ok = 0;
    if (ps[i]) {
      if (A->usable_(ps[i]) < sizes[i]) usable_ok = 0;
      fill(ps[i], sizes[i], (unsigned)i);
    }
  }
  for (int i = 0; i < NS; i++)
    if (ps[i] && check_fill(ps[i], sizes[i], (unsigned)i) != sizes[i]) fill_ok = 0;
  CHECK(nm("%s: valloc is page (4096) aligned", A->name), ok);
  CHECK(nm("%s: valloc usable >= size", A->name), usable_ok);
  CHECK(nm("%s: valloc blocks writable, no overlap", A->name), fill_ok);
  for (int i = 0; i < NS; i++) A->free_(ps[i]);

  const size_t psz[] = {1, 100, 4095, 4096, 4097, 8191, 100000, MiB + 1};
  enum { NP = sizeof psz / sizeof psz[0] };
  ok = 1, usable_ok = 1, fill_ok = 1;
  for (int i = 0; i < NP; i++) {
    size_t r = round_up(psz[i], page);
    ps[i] = A->pvalloc_(psz[i]);
    if (!ps[i] || !aligned(ps[i], page)) ok = 0;
    if (ps[i]) {
      if (A->usable_(ps[i]) < r) usable_ok = 0;
      else fill(ps[i], r, (unsigned)i + 9); /* the rounded-up size is ours */
    }
  }
  for (int i = 0; i < NP; i++) {
    size_t r = round_up(psz[i], page);
    if (ps[i] && A->usable_(ps[i]) >= r && check_fill(ps[i], r, (unsigned)i + 9) != r)
      fill_ok = 0;
  }
  CHECK(nm("%s: pvalloc is page aligned", A->name), ok);
  CHECK(nm("%s: pvalloc usable >= size rounded up to 4096", A->name), usable_ok);
  CHECK(nm("%s: pvalloc rounded-up blocks writable, no overlap", A->name), fill_ok);
  for (int i = 0; i < NP; i++) A->free_(ps[i]);
  void *z = A->pvalloc_(0);
  CHECK(nm("%s: pvalloc(0) non-NULL, page aligned", A->name), z && aligned(z, page));
  A->free_(z);
  no_reports(nm("%s valloc/pvalloc", A->name));
}

static void t_usable(const api_t *A) {
  CHECK(nm("%s: malloc_usable_size(NULL) == 0", A->name), A->usable_(NULL) == 0);
  size_t bad_ge = 0, bad_waste = 0, bad_write = 0;
  for (size_t n = 0; n <= 70000; n += (n < 1100 ? 1 : n < 9000 ? 7 : 97)) {
    void *p[3];
    size_t u[3];
    for (int k = 0; k < 3; k++) {
      p[k] = A->malloc_(n);
      u[k] = A->usable_(p[k]);
      if (u[k] < n && !bad_ge) bad_ge = n ? n : SIZE_MAX;
      size_t lim = n <= 32768 ? n + n / 4 + 32 : n + 8192;
      if (u[k] > lim && !bad_waste) bad_waste = n ? n : SIZE_MAX;
    }
    /* neighbours written over their whole usable size must not overlap */
    for (int k = 0; k < 3; k++) fill(p[k], u[k], (unsigned)(k + n));
    for (int k = 0; k < 3; k++)
      if (check_fill(p[k], u[k], (unsigned)(k + n)) != u[k] && !bad_write) bad_write = n ? n : SIZE_MAX;
    for (int k = 0; k < 3; k++) A->free_(p[k]);
  }
  CHECKF(nm("%s: malloc_usable_size >= requested for 0..70000", A->name), !bad_ge,
         "first bad size %zu", bad_ge);
  CHECKF(nm("%s: malloc_usable_size not absurdly large (<= n+n/4+32 small, n+8K large)", A->name),
         !bad_waste, "first bad size %zu", bad_waste);
  CHECKF(nm("%s: whole usable size writable, neighbours intact", A->name), !bad_write,
         "first bad size %zu", bad_write);
  const size_t large[] = {MiB, MiB + 1, 7 * MiB + 3};
  int lok = 1;
  for (int i = 0; i < 3; i++) {
    void *p = A->malloc_(large[i]);
    size_t u = A->usable_(p);
    if (u < large[i]) lok = 0;
    else memset(p, 1, u);
    A->free_(p);
  }
  CHECK(nm("%s: malloc_usable_size of large blocks >= size, writable", A->name), lok);
  no_reports(nm("%s usable_size", A->name));
}

static void t_sized(const api_t *A) {
  if (!A->free_sized_ || !A->free_aligned_sized_) {
    CHECK(nm("%s: free_sized/free_aligned_sized exist", A->name), 0);
    return;
  }
  const size_t sizes[] = {0, 1, 8, 9, 100, 1000, 4097, 32768, 32769, 100000, MiB + 5};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    void *p = A->malloc_(sizes[i]);
    errno = 555;
    A->free_sized_(p, sizes[i]);
    CHECK(nm("%s: free_sized(malloc(%zu), %zu) accepted, errno kept", A->name, sizes[i], sizes[i]),
          errno == 555);
  }
  void *c = A->calloc_(30, 7);
  A->free_sized_(c, 210);
  /* after realloc the size to give is realloc's size, even when p stayed */
  const size_t rs[][2] = {{100, 50}, {50, 60}, {100, 97}, {100000, 90000}, {1000, 100},
                          {40000, 33000}, {1 << 20, 1 << 19}};
  for (size_t i = 0; i < sizeof rs / sizeof rs[0]; i++) {
    void *p = A->malloc_(rs[i][0]);
    void *q = A->realloc_(p, rs[i][1]);
    A->free_sized_(q, rs[i][1]);
    CHECK(nm("%s: free_sized after realloc %zu->%zu with the new size", A->name, rs[i][0],
             rs[i][1]), 1);
    no_reports(nm("%s free_sized after realloc %zu->%zu", A->name, rs[i][0], rs[i][1]));
  }
  const size_t asz[] = {1, 16, 100, 5000, 100000};
  for (size_t al = 16; al <= 2 * MiB; al *= 4) {
    for (size_t i = 0; i < sizeof asz / sizeof asz[0]; i++) {
      void *p = A->aligned_alloc_(al, asz[i]);
      A->free_aligned_sized_(p, al, asz[i]);
    }
    no_reports(nm("%s free_aligned_sized(aligned_alloc(%zu, ...))", A->name, al));
  }
  no_reports(nm("%s sized frees", A->name));
}

static void t_free_errno(const api_t *A) {
  const size_t sizes[] = {1, 100, 32768, 40000, MiB, 64 * MiB};
  int ok = 1;
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    void *p = A->malloc_(sizes[i]);
    memset(p, 1, sizes[i]);
    errno = 1234;
    A->free_(p);
    if (errno != 1234) ok = 0;
  }
  /* a batch whose frees empty whole spans */
  enum { B = 2000 };
  static void *v[B];
  for (int i = 0; i < B; i++) v[i] = A->malloc_(512);
  for (int i = 0; i < B; i++) {
    errno = 1234;
    A->free_(v[i]);
    if (errno != 1234) ok = 0;
  }
  void *p = A->memalign_(MiB, 100);
  errno = 1234;
  A->free_(p);
  if (errno != 1234) ok = 0;
  CHECK(nm("%s: free preserves errno (small, large, aligned, batches)", A->name), ok);
  errno = 1234;
  A->trim_(0);
  p = A->malloc_(100);
  errno = 1234;
  A->free_(p);
  CHECK(nm("%s: free preserves errno after trim", A->name), errno == 1234);
  no_reports(nm("%s free errno", A->name));
}

static void t_trim(const api_t *A) {
  void *v[200];
  for (int i = 0; i < 200; i++) v[i] = A->malloc_((size_t)(i % 20 + 1) * 5000);
  for (int i = 0; i < 200; i++) A->free_(v[i]);
  int r0 = A->trim_(0);
  int r1 = A->trim_(MiB);
  CHECKF(nm("%s: malloc_trim returns 0 or 1", A->name), (r0 == 0 || r0 == 1) && (r1 == 0 || r1 == 1),
         "r0=%d r1=%d", r0, r1);
  int ok = 1;
  for (int i = 0; i < 200; i++) {
    v[i] = A->malloc_((size_t)(i % 37 + 1) * 900);
    if (!v[i]) ok = 0;
    else fill(v[i], (size_t)(i % 37 + 1) * 900, (unsigned)i);
  }
  for (int i = 0; i < 200; i++)
    if (v[i] && check_fill(v[i], (size_t)(i % 37 + 1) * 900, (unsigned)i) != (size_t)(i % 37 + 1) * 900)
      ok = 0;
  for (int i = 0; i < 200; i++) A->free_(v[i]);
  CHECK(nm("%s: heap works after malloc_trim", A->name), ok);
  no_reports(nm("%s trim", A->name));
}

static void t_many_sizes(const api_t *A) {
  enum { B = 16 };
  void *v[B];
  size_t sz[B];
  int nb = 0;
  size_t bad_null = 0, bad_align = 0, bad_data = 0, count = 0;
  for (size_t n = 0; n <= 70000; n += (n < 1024 ? 1 : n < 8192 ? 3 : 17)) {
    void *p = A->malloc_(n);
    count++;
    if (!p) { if (!bad_null) bad_null = n + 1; continue; }
    if (!aligned(p, n > 8 ? 16 : 8) && !bad_align) bad_align = n + 1;
    fill(p, n, (unsigned)n);
    v[nb] = p;
    sz[nb++] = n;
    if (nb == B) {
      for (int k = 0; k < B; k++)
        if (check_fill(v[k], sz[k], (unsigned)sz[k]) != sz[k] && !bad_data) bad_data = sz[k] + 1;
      for (int k = 0; k < B; k++) A->free_(v[k]);
      nb = 0;
    }
  }
  for (int k = 0; k < nb; k++) {
    if (check_fill(v[k], sz[k], (unsigned)sz[k]) != sz[k] && !bad_data) bad_data = sz[k] + 1;
    A->free_(v[k]);
  }
  CHECKF(nm("%s: every size 0..70000 (%zu sizes) allocates", A->name, count), !bad_null,
         "size %zu", bad_null - 1);
  CHECKF(nm("%s: every size 0..70000 aligned", A->name), !bad_align, "size %zu", bad_align - 1);
  CHECKF(nm("%s: every size 0..70000 keeps its pattern in batches of 16", A->name), !bad_data,
         "size %zu", bad_data - 1);
  no_reports(nm("%s many sizes", A->name));
}

static void t_big_block(const api_t *A) {
  const size_t n = 100 * MiB;
  unsigned char *p = A->malloc_(n);
  CHECK(nm("%s: malloc(100 MB) succeeds", A->name), p != NULL);
  if (p) {
    CHECK(nm("%s: malloc(100 MB) usable >= 100 MB", A->name), A->usable_(p) >= n);
    for (size_t i = 0; i < n; i += 4096) p[i] = (unsigned char)(i >> 12);
    p[n - 1] = 0xEE;
    int ok = p[n - 1] == 0xEE;
    for (size_t i = 0; i < n; i += 4096)
      if (p[i] != (unsigned char)(i >> 12)) ok = 0;
    CHECK(nm("%s: 100 MB block writable on every page", A->name), ok);
    A->free_(p);
  }
  p = A->calloc_(n, 1);
  CHECK(nm("%s: calloc(100 MB) succeeds", A->name), p != NULL);
  if (p) {
    int ok = p[n - 1] == 0;
    for (size_t i = 0; i < n; i += 4093) ok &= p[i] == 0;
    CHECK(nm("%s: calloc(100 MB) reads zero", A->name), ok);
    A->free_(p);
  }
  no_reports(nm("%s big block", A->name));
}

static void run_api(const api_t *A) {
  t_malloc0(A);
  t_free_null(A);
  t_alignment(A);
  t_huge(A);
  t_calloc(A);
  t_realloc(A);
  t_reallocarray(A);
  t_posix_memalign(A);
  t_aligned_family(A, "aligned_alloc", A->aligned_alloc_);
  t_aligned_family(A, "memalign", A->memalign_);
  t_valloc(A);
  t_usable(A);
  t_sized(A);
  t_free_errno(A);
  t_trim(A);
  t_many_sizes(A);
  t_big_block(A);
}

/* ---- plain-name only -------------------------------------------------------- */

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static void t_exported(void) {
  struct {
    const char *name;
    void *addr;
  } syms[] = {
#define SYM(s) {#s, (void *)(uintptr_t)&s}
      SYM(malloc),         SYM(free),           SYM(calloc),         SYM(realloc),
      SYM(reallocarray),   SYM(posix_memalign), SYM(aligned_alloc),  SYM(memalign),
      SYM(valloc),         SYM(pvalloc),        SYM(malloc_usable_size), SYM(malloc_trim),
      SYM(mallopt),        SYM(mallinfo),       SYM(mallinfo2),      SYM(malloc_stats),
      SYM(cfree),          SYM(free_sized),     SYM(free_aligned_sized), SYM(__libc_malloc),
      SYM(__libc_free),    SYM(__libc_calloc),  SYM(__libc_realloc), SYM(__libc_memalign),
      SYM(__libc_valloc),  SYM(__libc_pvalloc), SYM(__posix_memalign),
#undef SYM
  };
  for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
    Dl_info info;
    memset(&info, 0, sizeof info);
    int found = syms[i].addr && dladdr(syms[i].addr, &info);
    const char *from = found && info.dli_fname ? info.dli_fname : "(missing)";
    CHECKF(nm("exported: %s is goheap's, not libc's", syms[i].name),
           syms[i].addr && found && !strstr(from, "libc.so"), "defined by %s", from);
  }
  /* And the plain names really reach goheap. */
  gh_stats s0, s1;
  read_stats(&s0);
  void *volatile p = malloc(100);
  read_stats(&s1);
  CHECK("plain malloc is counted in gh_read_stats (mallocs)", s1.mallocs > s0.mallocs);
  free(p);
}
#pragma GCC diagnostic pop

static void t_cfree_aliases(void) {
  if (cfree) {
    void *p = launder(malloc(100));
    errno = 99;
    cfree(p);
    cfree(NULL);
    CHECK("cfree frees a malloc block and keeps errno", errno == 99);
  } else {
    CHECK("cfree is exported", 0);
  }
  if (!__libc_malloc || !__libc_free || !__libc_calloc || !__libc_realloc || !__libc_memalign ||
      !__libc_valloc || !__libc_pvalloc || !__posix_memalign) {
    CHECK("all __libc_* / __posix_memalign aliases exist", 0);
    return;
  }
  unsigned char *p = __libc_malloc(100);
  fill(p, 100, 1);
  CHECK("__libc_malloc works", p && check_fill(p, 100, 1) == 100 && malloc_usable_size(p) >= 100);
  unsigned char *q = __libc_realloc(p, 5000);
  CHECK("__libc_realloc keeps contents", q && check_fill(q, 100, 1) == 100);
  free(q); /* mixed: __libc_malloc'd memory freed with free */
  q = malloc(300);
  __libc_free(q); /* and the reverse */
  unsigned char *c = __libc_calloc(100, 10);
  CHECK("__libc_calloc zeroes", c && all_zero(c, 1000));
  __libc_free(c);
  void *m = __libc_memalign(256, 100);
  CHECK("__libc_memalign aligns", m && aligned(m, 256));
  __libc_free(m);
  void *v = __libc_valloc(10);
  CHECK("__libc_valloc page aligned", v && aligned(v, 4096));
  __libc_free(v);
  void *pv = __libc_pvalloc(10);
  CHECK("__libc_pvalloc page aligned, usable >= 4096",
        pv && aligned(pv, 4096) && malloc_usable_size(pv) >= 4096);
  free(pv);
  void *pm = NULL;
  errno = 321;
  int rc = __posix_memalign(&pm, 1024, 100);
  CHECK("__posix_memalign works, keeps errno", rc == 0 && pm && aligned(pm, 1024) && errno == 321);
  __libc_free(pm);
  CHECK("__posix_memalign(align=3) -> EINVAL", __posix_memalign(&pm, 3, 100) == EINVAL);
  /* The aliases and the gh_ twins share one heap. */
  void *g = gh_malloc(64);
  __libc_free(g);
  g = __libc_malloc(64);
  gh_free(g);
  no_reports("cfree and __libc_* aliases");
}

static void t_mallopt_mallinfo(void) {
  CHECK("mallopt(M_ARENA_MAX, 2) returns 1", mallopt(M_ARENA_MAX, 2) == 1);
  CHECK("mallopt(M_MMAP_THRESHOLD, 128K) returns 1", mallopt(M_MMAP_THRESHOLD, 128 * 1024) == 1);
  int r = mallopt(M_TRIM_THRESHOLD, 256 * 1024);
  CHECK("mallopt(M_TRIM_THRESHOLD) returns 0 or 1", r == 0 || r == 1);
  r = mallopt(M_TOP_PAD, 0);
  CHECK("mallopt(M_TOP_PAD) returns 0 or 1", r == 0 || r == 1);

  gh_malloc_trim(0);
  struct mallinfo2 m0 = mallinfo2();
  enum { N = 10240 };
  static void *v[N];
  for (int i = 0; i < N; i++) v[i] = malloc(1024);
  struct mallinfo2 m1 = mallinfo2();
  CHECKF("mallinfo2: uordblks grows by ~10 MB after 10240 x 1 KiB",
         m1.uordblks >= m0.uordblks + 9 * MiB, "%zu -> %zu", m0.uordblks, m1.uordblks);
  CHECKF("mallinfo2: arena + hblkhd >= uordblks", m1.arena + m1.hblkhd >= m1.uordblks,
         "arena %zu hblkhd %zu uordblks %zu", m1.arena, m1.hblkhd, m1.uordblks);
  CHECK("mallinfo2: fields not absurd (< 1 TiB)",
        m1.arena < ((size_t)1 << 40) && m1.uordblks < ((size_t)1 << 40) &&
            m1.fordblks < ((size_t)1 << 40) && m1.hblkhd < ((size_t)1 << 40));
  for (int i = 0; i < N; i++) free(v[i]);
  gh_malloc_trim(0);
  struct mallinfo2 m2 = mallinfo2();
  CHECKF("mallinfo2: uordblks shrinks after freeing them", m2.uordblks + 5 * MiB <= m1.uordblks,
         "%zu -> %zu", m1.uordblks, m2.uordblks);
  void *big = launder(malloc(10 * MiB));
  struct mallinfo2 m3 = mallinfo2();
  CHECKF("mallinfo2: a 10 MB block shows in uordblks + hblkhd",
         m3.uordblks + m3.hblkhd >= m2.uordblks + m2.hblkhd + 10 * MiB, "%zu+%zu -> %zu+%zu",
         m2.uordblks, m2.hblkhd, m3.uordblks, m3.hblkhd);
  free(big);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  struct mallinfo mi = mallinfo();
#pragma GCC diagnostic pop
  CHECK("mallinfo (int fields) callable, non-negative", mi.uordblks >= 0 && mi.arena >= 0);
  no_reports("mallopt/mallinfo");
}

static void call_malloc_stats(void) { malloc_stats(); }
static void call_gh_print_stats(void) { gh_print_stats(2); }

static void t_stats(void) {
  static char buf[1 << 16];
  size_t n = capture_stderr(call_malloc_stats, buf, sizeof buf);
  CHECKF("malloc_stats writes to stderr", n > 0, "wrote %zu bytes", n);
  n = capture_stderr(call_gh_print_stats, buf, sizeof buf);
  CHECKF("gh_print_stats(2) writes a summary to fd 2", n > 20 && strchr(buf, '\n'),
         "wrote %zu bytes", n);

  gh_stats s0, s1, s2;
  gh_malloc_trim(0); /* sweeps pending frees: the counters are settled */
  read_stats(&s0);
  CHECK("gh_read_stats: version filled in", s0.version == GH_STATS_VERSION);
  enum { N = 1000, L = 10 };
  void *v[N], *l[L];
  for (int i = 0; i < N; i++) v[i] = gh_malloc(100);
  for (int i = 0; i < L; i++) l[i] = malloc(100000);
  read_stats(&s1);
  CHECKF("gh_read_stats: heap_sys >= heap_inuse >= heap_alloc > 0",
         s1.heap_sys >= s1.heap_inuse && s1.heap_inuse >= s1.heap_alloc && s1.heap_alloc > 0,
         "sys %llu inuse %llu alloc %llu", (unsigned long long)s1.heap_sys,
         (unsigned long long)s1.heap_inuse, (unsigned long long)s1.heap_alloc);
  CHECKF("gh_read_stats: heap_sys == heap_inuse + heap_idle",
         s1.heap_sys == s1.heap_inuse + s1.heap_idle, "sys %llu inuse %llu idle %llu",
         (unsigned long long)s1.heap_sys, (unsigned long long)s1.heap_inuse,
         (unsigned long long)s1.heap_idle);
  CHECK("gh_read_stats: heap_released <= heap_idle", s1.heap_released <= s1.heap_idle);
  CHECKF("gh_read_stats: heap_alloc grew by >= the 1,100,000 bytes allocated",
         s1.heap_alloc >= s0.heap_alloc + N * 100 + L * 100000, "%llu -> %llu",
         (unsigned long long)s0.heap_alloc, (unsigned long long)s1.heap_alloc);
  CHECK("gh_read_stats: heap_objects >= 1010", s1.heap_objects >= N + L);
  CHECKF("gh_read_stats: mallocs grew by >= 1010", s1.mallocs >= s0.mallocs + N + L,
         "%llu -> %llu", (unsigned long long)s0.mallocs, (unsigned long long)s1.mallocs);
  CHECKF("gh_read_stats: large_allocs grew by >= 10", s1.large_allocs >= s0.large_allocs + L,
         "%llu -> %llu", (unsigned long long)s0.large_allocs, (unsigned long long)s1.large_allocs);
  CHECK("gh_read_stats: num_arenas >= 1, num_threads >= 1, metadata_sys > 0",
        s1.num_arenas >= 1 && s1.num_threads >= 1 && s1.metadata_sys > 0);
  CHECK("gh_read_stats: mallocs >= frees", s1.mallocs >= s1.frees);
  for (int i = 0; i < N; i++) gh_free(v[i]);
  for (int i = 0; i < L; i++) free(l[i]);
  gh_malloc_trim(0);
  read_stats(&s2);
  CHECKF("gh_read_stats: frees grew by >= 1010 (after trim sweeps)", s2.frees >= s1.frees + N + L,
         "%llu -> %llu", (unsigned long long)s1.frees, (unsigned long long)s2.frees);
  CHECKF("gh_read_stats: heap_alloc shrank after freeing", s2.heap_alloc + 1000000 <= s1.heap_alloc,
         "%llu -> %llu", (unsigned long long)s1.heap_alloc, (unsigned long long)s2.heap_alloc);
  CHECK("gh_read_stats: heap_objects shrank after freeing", s2.heap_objects + N <= s1.heap_objects);

  /* A caller that knows a shorter struct: nothing past .size is written. */
  gh_stats t;
  memset(&t, 0xA5, sizeof t);
  t.size = (uint32_t)offsetof(gh_stats, heap_inuse);
  gh_read_stats(&t);
  CHECK("gh_read_stats: short .size fills the known fields",
        t.version == GH_STATS_VERSION && t.heap_alloc != 0xA5A5A5A5A5A5A5A5ull);
  CHECK("gh_read_stats: short .size writes nothing past it",
        t.heap_inuse == 0xA5A5A5A5A5A5A5A5ull && t.pause_ns[GH_STATS_NPAUSE - 1] == 0xA5A5A5A5A5A5A5A5ull);
  no_reports("stats");
}

static void t_memory_back(void) {
  enum { N = 32 };
  const size_t sz = 2 * MiB;
  void *v[N];
  gh_stats s0, s1, s2;
  gh_malloc_trim(0);
  read_stats(&s0);
  for (int i = 0; i < N; i++) {
    v[i] = gh_malloc(sz);
    if (v[i]) memset(v[i], 0x77, sz);
  }
  size_t rss1 = rss_bytes();
  for (int i = 0; i < N; i++) gh_free(v[i]);
  read_stats(&s1);
  int r = gh_malloc_trim(0);
  size_t rss2 = rss_bytes();
  read_stats(&s2);
  CHECKF("memory back: RSS drops by >= 32 MiB after freeing 64 MiB and gh_malloc_trim",
         rss2 + 32 * MiB <= rss1, "rss %zu -> %zu KiB", rss1 / KiB, rss2 / KiB);
  CHECKF("memory back: after gh_malloc_trim every idle page is released",
         s2.heap_released + MiB >= s2.heap_idle, "idle %llu released %llu",
         (unsigned long long)s2.heap_idle, (unsigned long long)s2.heap_released);
  CHECKF("memory back: the 64 MiB freed show as released (or heap_sys shrank)",
         s2.heap_released >= 32 * MiB || s2.heap_sys + 32 * MiB <= s1.heap_sys,
         "released %llu -> %llu, sys %llu -> %llu", (unsigned long long)s0.heap_released,
         (unsigned long long)s2.heap_released, (unsigned long long)s1.heap_sys,
         (unsigned long long)s2.heap_sys);
  int had_unreleased = s1.heap_idle >= s1.heap_released + MiB;
  CHECKF("memory back: gh_malloc_trim returns 1 when there was idle unreleased memory",
         !had_unreleased || r == 1, "r=%d idle %llu released %llu", r,
         (unsigned long long)s1.heap_idle, (unsigned long long)s1.heap_released);
  gh_free_os_memory();
  void *p = gh_malloc(3 * MiB);
  CHECK("memory back: the heap works after gh_free_os_memory", p != NULL);
  if (p) memset(p, 1, 3 * MiB);
  gh_free(p);
  no_reports("memory back");
}

/* ---- cross-thread ------------------------------------------------------------ */

enum { XN = 500 };
static void *xblocks[XN];

static void *thr_alloc(void *arg) {
  (void)arg;
  for (int i = 0; i < XN; i++) {
    size_t n = (size_t)(i * 37 % 3000) + 1 + (i % 50 == 0 ? 50000 : 0);
    xblocks[i] = malloc(n);
    if (xblocks[i]) fill(xblocks[i], n, (unsigned)i);
  }
  return NULL;
}

static void *thr_free(void *arg) {
  (void)arg;
  for (int i = 0; i < XN; i++) free(xblocks[i]);
  return NULL;
}

static void t_threads(void) {
  pthread_t t;
  /* allocated by a thread that then exits; freed here */
  pthread_create(&t, NULL, thr_alloc, NULL);
  pthread_join(t, NULL);
  int ok = 1;
  for (int i = 0; i < XN; i++) {
    size_t n = (size_t)(i * 37 % 3000) + 1 + (i % 50 == 0 ? 50000 : 0);
    if (!xblocks[i] || check_fill(xblocks[i], n, (unsigned)i) != n) ok = 0;
  }
  CHECK("threads: blocks of an exited thread keep their contents", ok);
  for (int i = 0; i < XN; i++) free(xblocks[i]);
  /* allocated here, freed by another thread */
  for (int i = 0; i < XN; i++) xblocks[i] = malloc((size_t)(i % 700) + 1);
  pthread_create(&t, NULL, thr_free, NULL);
  pthread_join(t, NULL);
  void *p = malloc(100);
  CHECK("threads: heap works after cross-thread frees", p != NULL);
  free(p);
  no_reports("threads");
}

/* gh_heap_range: encloses small and large objects, manual and collected;
 * neither bound is inside an object. */
static void t_heap_range(void) {
  void *a = malloc(40), *b = gh_alloc(3 << 20), *c = gh_alloc_noscan(100), *lo, *hi;
  gh_heap_range(&lo, &hi);
  uintptr_t l = (uintptr_t)lo, h = (uintptr_t)hi;
  CHECK("gh_heap_range encloses a malloc'd, a large and a noscan collected object",
        l <= (uintptr_t)a && (uintptr_t)a + 40 <= h && l <= (uintptr_t)b && (uintptr_t)b + (3 << 20) <= h &&
            l <= (uintptr_t)c && (uintptr_t)c + 100 <= h);
  CHECK("gh_heap_range: the bounds are not inside objects", gh_base((char *)lo - 1) == NULL && gh_base(hi) == NULL);
  free(a);
  gh_free(b);
  gh_free(c);
}

int main(void) {
  init_apis();
  const char *env = getenv("GOHEAP_ON_ERROR");
  CHECK("gh_error_count starts at 0", gh_error_count() == 0);
  gh_error_mode prev = gh_set_error_mode(GH_ERROR_REPORT);
  CHECK("gh_set_error_mode: default mode is abort", env || prev == GH_ERROR_ABORT);
  CHECK("gh_set_error_mode returns the previous mode",
        gh_set_error_mode(GH_ERROR_REPORT) == GH_ERROR_REPORT);
  errors_before = gh_error_count();

  t_exported();
  api_cur = &plain_api;
  run_api(api_cur);
  api_cur = &gh_api;
  run_api(api_cur);
  t_cfree_aliases();
  t_mallopt_mallinfo();
  t_stats();
  t_memory_back();
  t_threads();
  t_heap_range();
  return TEST_SUMMARY();
}
