/*
 * fuzz_api.c -- libFuzzer harness: random sequences of goheap's whole public
 * API, checked against a reference model after every operation.
 *
 * Build (tests/suites/fuzz.sh does this; the engine without src/override.c,
 * so the plain malloc stays glibc's, which libFuzzer uses, and goheap is
 * reachable only through gh_*: this harness is the only user of its heap):
 *
 *   clang -g -O1 -fsanitize=fuzzer,undefined -fno-sanitize-recover=undefined \
 *     -DGH_NO_OVERRIDE -DGH_DEBUG=1 -Iinclude -Isrc <src/ and src/os/ sources \
 *     but src/override.c> tests/fuzz/fuzz_api.c -lpthread -o fuzz_api
 *
 * ---- Input format -----------------------------------------------------------
 * The input is a sequence of 8-byte records (a short last one is zero-padded),
 * one operation each, at most MAX_OPS per input:
 *
 *   byte 0  op       % NOPS, see the OP_ list (keep tests/fuzz/make_corpus.py in sync)
 *   byte 1  sub      the variant of the operation (which free, which error, ...)
 *   byte 2  aux      alignment selector / low bits of big sizes / seed
 *   byte 3-4 idx     little-endian: which live object (idx % count)
 *   byte 5  sizesel  the size's range, biased toward small (gen_size)
 *   byte 6-7 raw     little-endian: the size within that range
 *
 * ---- The model -----------------------------------------------------------------
 * At most MAX_OBJS live objects, in a static array (never in glibc-malloc'd
 * memory: the collector scans the program's data segments as roots but not
 * glibc's heap, so collected objects referenced only from there would be,
 * correctly, collected). Each has its pointer, requested size, promised
 * alignment, kind (manual / collected scan / collected noscan), how it was
 * allocated (which sized frees are legal for it), a pattern seed, and
 * optionally:
 *   - a finalizer (an entry in the static finalizer table, below);
 *   - a child: a collected object whose only pointer is in the object's first
 *     word (the model keeps it hidden, with the top bit flipped, so the model
 *     is not a root for it): the child survives only if goheap scans its
 *     parent (a scan object, or a malloc'd one: malloc'd objects are roots);
 *   - "rooted": its only pointer is in an mmap'd page registered with
 *     gh_add_roots (the model keeps it hidden): it survives only if
 *     goheap scans that range. Unregistering the range first puts the
 *     pointers back in the model.
 * Every byte of an object (except the child pointer) holds pattern(seed,
 * offset). After every operation the touched objects are checked whole, and
 * every FULL_CHECK_EVERY operations (and after gh_collect, malloc_trim,
 * error calls, and at the end of the input) all of them: contents, alignment,
 * gh_malloc_usable_size >= requested, gh_base of the first and last byte,
 * gh_is_collected, and no two live objects (children included) overlapping
 * (sorted by address). A newly allocated object is also checked against all
 * others for overlap, and for zeroes where the API promises them.
 *
 * Tiny objects (README, "The collector"): collected noscan objects under 16
 * bytes share 16-byte blocks: gh_free on them is ignored (the model just drops
 * them), interior pointers into them are not errors, gh_base gives the
 * block's start and gh_malloc_usable_size the room left in the block.
 *
 * Errors: gh_set_error_mode(GH_ERROR_REPORT) once; gh_error_count() must stay
 * equal to the model's count after every operation. Deliberate errors (free
 * of a stack/global/glibc/mmap address, of an interior pointer, an immediate
 * double free, free_sized with a wrong size, gh_set_finalizer of a malloc'd
 * object, each through free, realloc, malloc_usable_size, the sized frees or
 * gh_set_finalizer) must raise it by exactly one, print exactly the README's
 * one line (captured through a memfd swapped onto fd 2 for the call), return
 * what report mode promises (realloc: NULL + EINVAL; malloc_usable_size: 0),
 * and leave every live object intact.
 *
 * Finalizers run on goheap's finalizer thread. Each registration gets a
 * token (its argument) naming an entry of a static table with a state:
 * LIVE (object in the model), DROPPED (the model forgot it without freeing it:
 * the finalizer may run, once), CANCELLED (freed with gh_free/realloc, or
 * the finalizer removed or replaced: must never run), RAN. The finalizer
 * itself checks: its token is current, its state is DROPPED (not LIVE: a
 * finalizer must never run for an object still in the model; not RAN: never
 * twice; not CANCELLED), obj is the object, and the object's contents (and its
 * child's) are intact (it is kept alive until the finalizer returns). A
 * violation prints a message and aborts from that thread.
 *
 * At the end of each input everything is freed or dropped, roots removed and
 * the GC percent restored, so inputs are independent (apart from garbage and
 * pending finalizers left to the collector).
 *
 * Any mismatch prints "fuzz_api: MODEL MISMATCH: ..." with the last
 * operations, and aborts, so libFuzzer records the input as a crash.
 * Environment: GH_FUZZ_TRACE=1 prints every operation; GH_FUZZ_NOCAPTURE=1
 * leaves goheap's error lines on stderr (their text is then not checked);
 *
 * Speed: a collection scans the program's writable data, ~10 MiB here (the
 * UBSan runtime's stack depot), so forced collections are capped per input
 * (MAX_COLLECTS), and tests/fuzz/coverage_ignore.txt keeps the hot loops
 * (pattern checks, the collector's scan) out of the coverage instrumentation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "goheap.h"

#define MAX_OBJS 512
#define MAX_OPS 1024
#define LIVE_BUDGET ((size_t)24 << 20) /* bytes of live objects in the model */
#define GARBAGE_BUDGET ((size_t)64 << 20) /* dropped collected bytes while GC is off */
#define FULL_CHECK_EVERY 64
/* A collection scans the program's writable data, here about 10 MiB (mostly
 * the UBSan runtime's stack depot): ~10 ms of CPU each, so forced ones are
 * capped per input (further OP_COLLECTs only verify). Automatic collections,
 * paced by the heap's growth, are not capped. */
#define MAX_COLLECTS 3
#define ROOT_WORDS 512 /* the mmap'd root page */
#define STATIC_ROOT_WORDS 256
#define MAX_STATIC_RANGES 16
#define FIN_N 4096 /* finalizer table (power of two) */
#define HIDE_BIT ((uintptr_t)1 << 63)
#define HIDE(p) ((uintptr_t)(p) ^ HIDE_BIT)
#define UNHIDE(h) ((void *)((uintptr_t)(h) ^ HIDE_BIT))
#define HUGE_MIN ((size_t)1 << 47) /* never satisfiable in a 47-bit address space */

enum op {
  OP_MALLOC, OP_CALLOC, OP_REALLOC, OP_REALLOCARRAY, OP_POSIX_MEMALIGN, OP_ALIGNED_ALLOC,
  OP_MEMALIGN, OP_VALLOC, OP_PVALLOC, OP_FREE, OP_FREE_SIZED, OP_FREE_ALIGNED_SIZED,
  OP_USABLE, OP_GH_ALLOC, OP_GH_ALLOC_NOSCAN, OP_GH_FREE, OP_DROP, OP_COLLECT,
  OP_FINALIZER, OP_ROOTS, OP_BASE, OP_TRIM, OP_ERR_FOREIGN, OP_ERR_INTERIOR,
  OP_ERR_DOUBLE, OP_ERR_SIZED, OP_CHILD, OP_GC_PERCENT, OP_STATS, OP_VERIFY,
  OP_WRITE, OP_FAIL_ALLOC,
  NOPS
};
static const char *const op_names[NOPS] = {
  "malloc", "calloc", "realloc", "reallocarray", "posix_memalign", "aligned_alloc",
  "memalign", "valloc", "pvalloc", "free", "free_sized", "free_aligned_sized",
  "usable_size", "gh_alloc", "gh_alloc_noscan", "gh_free", "drop", "collect",
  "finalizer", "roots", "base", "trim", "err_foreign", "err_interior",
  "err_double", "err_sized", "child", "gc_percent", "stats", "verify",
  "write", "fail_alloc",
};

enum kind { K_MANUAL, K_SCAN, K_NOSCAN };
static const char *const kind_names[] = {"manual", "scan", "noscan"};
/* How a manual object was allocated: which frees are legal (C23). */
enum origin {
  O_MALLOC,   /* malloc, calloc, realloc, reallocarray: free, free_sized(size) */
  O_ALIGNED,  /* aligned_alloc, posix_memalign: free, free_aligned_sized(align, size) */
  O_OTHER,    /* memalign, valloc, pvalloc: free only */
  O_COLLECTED /* gh_alloc, gh_alloc_noscan: gh_free */
};

typedef struct obj {
  uintptr_t ptr;     /* the pointer (a root), or HIDE(pointer) when rooted */
  size_t size;       /* requested bytes */
  size_t align;      /* alignment the API promises */
  size_t fa_align;   /* O_ALIGNED: the alignment given (for free_aligned_sized) */
  uint64_t seed;     /* contents: pattern(seed, offset) */
  uint8_t kind, origin, tiny, rooted, has_child, child_kind, child_tiny;
  uint32_t root_idx; /* rooted: its word in root_area */
  uint32_t fin;      /* finalizer table index + 1, or 0 */
  uintptr_t child;   /* HIDE(child pointer); the real one is in the first word */
  size_t child_size;
  uint64_t child_seed;
} obj;

static obj objs[MAX_OBJS];
static size_t nobjs, live_bytes, garbage_bytes;

/* ---- finalizer table (see the header) ---------------------------------------- */
enum { F_FREE, F_LIVE, F_DROPPED, F_CANCELLED, F_RUNNING, F_RAN };
static const char *const fin_state_names[] = {"free", "live (still in the model)", "dropped",
                                              "cancelled (freed, removed or replaced)", "running", "ran"};
typedef struct fin_entry {
  _Atomic uint64_t token;
  _Atomic uint32_t state;
  /* written before state becomes F_DROPPED: what the finalizer checks */
  uintptr_t obj;         /* hidden */
  size_t size;
  uint64_t seed;
  uint32_t skip;         /* 8 if the first word holds the child pointer */
  uintptr_t child;       /* hidden, or 0 */
  size_t child_size;
  uint64_t child_seed;
} fin_entry;
static fin_entry fins[FIN_N];
static uint64_t fin_gen;
static uint32_t fin_cursor;
static _Atomic uint64_t fin_runs;

/* ---- roots ------------------------------------------------------------------------ */
static uintptr_t *root_area;     /* mmap'd: a root only while registered */
static int root_registered;
static uintptr_t static_roots[STATIC_ROOT_WORDS];
static struct { uint32_t lo, hi; } static_ranges[MAX_STATIC_RANGES];
static uint32_t nstatic_ranges;

/* ---- misc state -------------------------------------------------------------------- */
static char global_junk[64];
static void *glibc_block;        /* a glibc malloc'd block: foreign to goheap */
static uint64_t expected_errors;
static int gc_percent_now = 100;
static uint64_t seed_counter, last_num_gc, collects_this_input;
static size_t page_size;
static int trace_ops, capture_on = 1;
static int cap_fd = -1, err_fd = 2;
static volatile sig_atomic_t capturing;
static uint64_t total_inputs, total_ops, total_checks, total_errors_provoked, total_collects;
static uint64_t total_fin_set;

/* sort buffer for the overlap check: hidden addresses, so it is no root */
static struct span_rec { uintptr_t lo, hi; uint32_t who; } sorted[2 * MAX_OBJS];

/* ---- the last operations, for reports -------------------------------------------- */
typedef struct trace_rec { uint64_t n; uint8_t op, sub; uintptr_t p; size_t a, b; } trace_rec;
#define TRACE_N 24
static trace_rec trace_ring[TRACE_N];
static uint64_t trace_count;
static trace_rec *cur;

static void note(uint8_t op, uint8_t sub, const void *p, size_t a, size_t b) {
  trace_rec *t = &trace_ring[trace_count % TRACE_N];
  *t = (trace_rec){trace_count, op, sub, HIDE(p), a, b};
  cur = t;
  trace_count++;
  if (trace_ops)
    fprintf(stderr, "fuzz_api: op %llu %s sub=%u p=%#lx a=%zu b=%zu\n", (unsigned long long)t->n,
            op_names[op], sub, (unsigned long)HIDE(t->p), a, b);
}
/* Completes the current record once the result is known. */
static void note_result(const void *p, size_t a, size_t b) {
  if (!cur) return;
  cur->p = HIDE(p); /* hidden: the ring must not be a root */
  cur->a = a;
  cur->b = b;
}

static void dprint(int fd, const char *fmt, ...) {
  char buf[2304];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof buf - 1) n = (int)sizeof buf - 1;
  if (n > 0 && write(fd, buf, (size_t)n) < 0) { /* nothing to do */
  }
}

static void end_capture_raw(void);

__attribute__((noreturn, format(printf, 1, 2))) static void fail(const char *fmt, ...) {
  char buf[2048];
  va_list ap;
  end_capture_raw();
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  dprint(err_fd, "fuzz_api: MODEL MISMATCH: %s\n", buf);
  dprint(err_fd, "fuzz_api: last operations of this input (newest last; p/a/b: pointer and sizes):\n");
  uint64_t first = trace_count > TRACE_N ? trace_count - TRACE_N : 0;
  for (uint64_t i = first; i < trace_count; i++) {
    trace_rec *t = &trace_ring[i % TRACE_N];
    dprint(err_fd, "  #%llu %-18s sub=%-3u p=%#lx a=%zu b=%zu\n", (unsigned long long)t->n, op_names[t->op],
           t->sub, (unsigned long)HIDE(t->p), t->a, t->b);
  }
  dprint(err_fd, "fuzz_api: %zu live objects in the model, %llu errors expected, %llu counted\n", nobjs,
         (unsigned long long)expected_errors, (unsigned long long)gh_error_count());
  abort();
}

/* ---- patterns ------------------------------------------------------------------------ */
static inline uint64_t pat_word(uint64_t seed, size_t k) {
  uint64_t x = (seed + k) * 0x9E3779B97F4A7C15ull;
  return x ^ (x >> 29);
}
static inline uint8_t pat_byte(uint64_t seed, size_t i) { return (uint8_t)(pat_word(seed, i >> 3) >> ((i & 7) * 8)); }

static void pat_fill(unsigned char *p, size_t from, size_t to, uint64_t seed) {
  size_t i = from;
  for (; i < to && (i & 7); i++) p[i] = pat_byte(seed, i);
  for (; i + 8 <= to; i += 8) {
    uint64_t w = pat_word(seed, i >> 3);
    memcpy(p + i, &w, 8);
  }
  for (; i < to; i++) p[i] = pat_byte(seed, i);
}

/* Offset of the first byte not matching the pattern (or zero, if zero), or SIZE_MAX. */
static size_t pat_check(const unsigned char *p, size_t from, size_t to, uint64_t seed, int zero) {
  size_t i = from;
  total_checks++;
  for (; i < to && (i & 7); i++)
    if (p[i] != (zero ? 0 : pat_byte(seed, i))) return i;
  for (; i + 8 <= to; i += 8) {
    uint64_t w, want = zero ? 0 : pat_word(seed, i >> 3);
    memcpy(&w, p + i, 8);
    if (w != want) {
      for (size_t j = i;; j++)
        if (p[j] != (zero ? 0 : pat_byte(seed, j))) return j;
    }
  }
  for (; i < to; i++)
    if (p[i] != (zero ? 0 : pat_byte(seed, i))) return i;
  return SIZE_MAX;
}

static uint64_t next_seed(void) {
  uint64_t z = (seed_counter++ + 0x9E3779B97F4A7C15ull) * 0xBF58476D1CE4E5B9ull;
  return z ^ (z >> 31);
}

/* ---- input ------------------------------------------------------------------------ */
typedef struct rec { uint8_t op, sub, aux; uint16_t idx; uint8_t sel; uint16_t raw; } rec;

static const size_t interesting[] = {
  0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 24, 31, 32, 33, 47, 48, 63, 64, 65, 127, 128, 129,
  255, 256, 257, 511, 512, 513, 1023, 1024, 1025, 2047, 2048, 2049, 4095, 4096, 4097, 8191,
  8192, 8193, 16383, 16384, 24576, 32767, 32768, 32769, 40960, 65535, 65536, 65537, 131072,
  262144, 1 << 20, (1 << 20) + 1, 2 << 20, (4 << 20) - 1, 4 << 20,
};
#define NINTERESTING (sizeof interesting / sizeof interesting[0])

/* 0 .. a few MiB, biased toward small. */
static size_t gen_size(const rec *r) {
  uint8_t s = r->sel;
  size_t raw = r->raw;
  if (s < 100) return raw % 33;
  if (s < 160) return raw % 513;
  if (s < 200) return raw % 4097;
  if (s < 220) return raw % 32801;
  if (s < 236) return interesting[raw % NINTERESTING];
  if (s < 250) return ((raw << 4) | (r->aux & 15)) % ((size_t)1 << 20);
  return ((raw << 6) | (r->aux & 63)) % (((size_t)4 << 20) + 1);
}

/* Keeps the model's live bytes under LIVE_BUDGET. */
static size_t budget(size_t size) {
  if (live_bytes + size > LIVE_BUDGET) size %= 4096;
  return size;
}

/* A power of two up to 4 MiB, small ones more often. */
static size_t gen_align(uint8_t a) {
  if (a < 200) return (size_t)1 << (a % 13); /* 1 .. 4096 */
  return (size_t)1 << (13 + a % 10);         /* 8 KiB .. 4 MiB */
}

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* ---- capturing goheap's error line --------------------------------------------------- */
static char cap_buf[1024];

static void begin_capture(void) {
  if (!capture_on) return;
  if (ftruncate(cap_fd, 0) != 0 || lseek(cap_fd, 0, SEEK_SET) != 0) fail("memfd reset failed");
  capturing = 1;
  dup2(cap_fd, 2);
}

static void end_capture_raw(void) {
  if (capturing) {
    dup2(err_fd, 2);
    capturing = 0;
  }
}

static const char *end_capture(void) {
  if (!capture_on) return NULL;
  end_capture_raw();
  ssize_t n = pread(cap_fd, cap_buf, sizeof cap_buf - 1, 0);
  cap_buf[n > 0 ? n : 0] = 0;
  return cap_buf;
}

/* A crash while fd 2 is the memfd: put stderr back, show what was captured,
 * then let libFuzzer's handler (installed before the first input) report. */
static struct sigaction old_handlers[32];
static atomic_int crash_owner;
static void crash_handler(int sig, siginfo_t *si, void *uc) {
  /* One crash at a time: libFuzzer lets only the first thread report (and write
   * the input); a second one (say goheap's sweeper hitting a fatal error while
   * the model fails on the main thread) would otherwise fall back to abort()'s
   * default action and kill the process before the input is saved. */
  if (atomic_exchange(&crash_owner, 1))
    for (;;) pause();
  if (capturing) {
    dup2(err_fd, 2);
    capturing = 0;
    char buf[512];
    ssize_t n = pread(cap_fd, buf, sizeof buf, 0);
    static const char hdr[] = "fuzz_api: crashed inside a deliberate-error call; goheap printed:\n";
    if (write(2, hdr, sizeof hdr - 1) < 0 || (n > 0 && write(2, buf, (size_t)n) < 0)) { /* ignore */
    }
  }
  struct sigaction *o = &old_handlers[sig];
  if (o->sa_flags & SA_SIGINFO) {
    o->sa_sigaction(sig, si, uc);
  } else if (o->sa_handler != SIG_IGN && o->sa_handler != SIG_DFL) {
    o->sa_handler(sig);
  } else {
    signal(sig, SIG_DFL);
    raise(sig);
  }
}

/* One error expected from the call just made: count +1, and the line one of
 * the n alternatives. */
static void expect_error_lines(const char *const *want, int n) {
  const char *got = end_capture();
  expected_errors++;
  total_errors_provoked++;
  uint64_t c = gh_error_count();
  if (c != expected_errors)
    fail("error count %llu after a deliberate error, want %llu (wanted a line like \"%.*s\")", (unsigned long long)c,
         (unsigned long long)expected_errors, (int)strlen(want[0]) - 1, want[0]);
  if (!got) return;
  size_t len = strlen(got);
  int ok = len > 0 && got[len - 1] == '\n' && memchr(got, '\n', len - 1) == NULL;
  int match = 0;
  for (int k = 0; ok && k < n && !match; k++) match = want[k] && strcmp(got, want[k]) == 0;
  if (!match) {
    char alts[1200];
    size_t used = 0;
    for (int k = 0; k < n && want[k] && used < sizeof alts; k++)
      used += (size_t)snprintf(alts + used, sizeof alts - used, "%s  \"%.*s\"", k ? "\nor\n" : "", (int)strlen(want[k]) - 1, want[k]);
    fail("goheap's error line is\n  \"%.*s\"\nwant\n%s", (int)(len && got[len - 1] == '\n' ? len - 1 : len), got, alts);
  }
}

static void expect_error_line(const char *want1, const char *want2) {
  const char *w[2] = {want1, want2};
  expect_error_lines(w, want2 ? 2 : 1);
}

static void expect_no_error(const char *what) {
  uint64_t n = gh_error_count();
  if (n != expected_errors)
    fail("%s: error count %llu, want %llu (goheap reported an error for a valid call)", what,
         (unsigned long long)n, (unsigned long long)expected_errors);
}

/* ---- object helpers --------------------------------------------------------------- */
static void *obj_ptr(const obj *o) { return o->rooted ? UNHIDE(o->ptr) : (void *)o->ptr; }

static void obj_set_ptr(obj *o, void *p) {
  if (o->rooted) {
    root_area[o->root_idx] = (uintptr_t)p;
    o->ptr = HIDE(p);
  } else {
    o->ptr = (uintptr_t)p;
  }
}

/* goheap.h: noscan objects of 16 bytes or less live in the tiny allocator's spans. */
static int is_tiny(int kind, size_t size) { return kind == K_NOSCAN && size <= 16; }

/* The alignment malloc and gh_alloc promise (README: 16 above 8 bytes, 8 for
 * 1..8; a tiny object: its size's largest power-of-two divisor up to 8). */
static size_t natural_align(int kind, size_t size) {
  if (is_tiny(kind, size)) {
    size_t s = size ? size : 1;
    size_t a = s & (~s + 1);
    return a > 8 ? 8 : a;
  }
  return size > 8 ? 16 : 8;
}

static size_t child_bytes(const obj *o) { return o->has_child ? o->child_size : 0; }

/* Checks one object whole: contents, alignment, usable size, gh_base, gh_is_collected. */
static void check_obj(const obj *o, const char *when) {
  unsigned char *p = obj_ptr(o);
  uintptr_t a = (uintptr_t)p;
  if (o->rooted && root_area[o->root_idx] != a)
    fail("%s: root word %u holds %#lx, want %#lx", when, o->root_idx, (unsigned long)root_area[o->root_idx],
         (unsigned long)a);
  if (a % o->align) fail("%s: %s object %p (size %zu) not aligned to %zu", when, kind_names[o->kind], (void *)p, o->size, o->align);
  size_t skip = o->has_child ? 8 : 0;
  size_t bad = pat_check(p, skip, o->size, o->seed, 0);
  if (bad != SIZE_MAX)
    fail("%s: %s object %p (size %zu%s): byte %zu is %#x, want %#x", when, kind_names[o->kind], (void *)p, o->size,
         o->tiny ? ", tiny" : "", bad, p[bad], pat_byte(o->seed, bad));
  void *want_base = o->tiny ? (void *)(a & ~(uintptr_t)15) : (void *)p;
  /* A 0-byte object has no byte inside it: gh_base(p) is checked from 1 byte on
   * (a large 0-byte block, from an alignment above 8 KiB, answers NULL). */
  void *b = o->size ? gh_base(p) : want_base;
  if (b != want_base) fail("%s: gh_base(%p) = %p, want %p (%s, size %zu)", when, (void *)p, b, want_base, kind_names[o->kind], o->size);
  if (o->size > 1 && (b = gh_base(p + o->size - 1)) != want_base)
    fail("%s: gh_base(%p + %zu) = %p, want %p (%s, size %zu)", when, (void *)p, o->size - 1, b, want_base,
         kind_names[o->kind], o->size);
  size_t u = gh_malloc_usable_size(p);
  if (u < o->size) fail("%s: gh_malloc_usable_size(%p) = %zu < requested %zu", when, (void *)p, u, o->size);
  if (o->tiny && u != 16 - (a & 15))
    fail("%s: tiny object %p: gh_malloc_usable_size %zu, want the room left in its block, %zu", when, (void *)p, u,
         (size_t)(16 - (a & 15)));
  int coll = o->size ? gh_is_collected(p) : 0;
  int want_coll = o->size && o->kind != K_MANUAL && want_base == (void *)p;
  if (coll != want_coll) fail("%s: gh_is_collected(%p) = %d, want %d (%s)", when, (void *)p, coll, want_coll, kind_names[o->kind]);
  if (o->has_child) {
    uintptr_t w;
    memcpy(&w, p, 8);
    unsigned char *c = UNHIDE(o->child);
    if (w != (uintptr_t)c) fail("%s: object %p: the child pointer in its first word is %#lx, want %p", when, (void *)p, (unsigned long)w, (void *)c);
    bad = pat_check(c, 0, o->child_size, o->child_seed, 0);
    if (bad != SIZE_MAX)
      fail("%s: child %p (%s, size %zu) of %s object %p: byte %zu is %#x, want %#x (freed while its parent points to it?)",
           when, (void *)c, kind_names[o->child_kind], o->child_size, kind_names[o->kind], (void *)p, bad, c[bad],
           pat_byte(o->child_seed, bad));
    void *cb = gh_base(c);
    void *cwant = o->child_tiny ? (void *)((uintptr_t)c & ~(uintptr_t)15) : (void *)c;
    if (cb != cwant) fail("%s: gh_base(child %p) = %p, want %p", when, (void *)c, cb, cwant);
  }
}

static int cmp_span(const void *x, const void *y) {
  const struct span_rec *a = x, *b = y;
  return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* Everything, and no two objects overlapping. */
static void verify_all(const char *when) {
  size_t n = 0;
  for (size_t i = 0; i < nobjs; i++) {
    const obj *o = &objs[i];
    check_obj(o, when);
    uintptr_t p = (uintptr_t)obj_ptr(o);
    sorted[n++] = (struct span_rec){HIDE(p), HIDE(p + (o->size ? o->size : 1)), (uint32_t)i};
    if (o->has_child) {
      uintptr_t c = (uintptr_t)UNHIDE(o->child);
      sorted[n++] = (struct span_rec){HIDE(c), HIDE(c + (o->child_size ? o->child_size : 1)), (uint32_t)i | 0x80000000u};
    }
  }
  qsort(sorted, n, sizeof sorted[0], cmp_span);
  for (size_t i = 1; i < n; i++)
    if (sorted[i].lo < sorted[i - 1].hi)
      fail("%s: objects overlap: [%#lx, %#lx) (object %u%s) and [%#lx, %#lx) (object %u%s)", when,
           (unsigned long)HIDE(sorted[i - 1].lo), (unsigned long)HIDE(sorted[i - 1].hi), sorted[i - 1].who & 0x7fffffff,
           sorted[i - 1].who >> 31 ? "'s child" : "", (unsigned long)HIDE(sorted[i].lo),
           (unsigned long)HIDE(sorted[i].hi), sorted[i].who & 0x7fffffff, sorted[i].who >> 31 ? "'s child" : "");
  memset(sorted, 0, n * sizeof sorted[0]);
  expect_no_error(when);
}

/* A new block [p, p+size) must not overlap any live object (or child). */
static void check_fresh(const void *p, size_t size, const char *what) {
  uintptr_t lo = (uintptr_t)p, hi = lo + (size ? size : 1);
  for (size_t i = 0; i < nobjs; i++) {
    const obj *o = &objs[i];
    uintptr_t olo = (uintptr_t)obj_ptr(o), ohi = olo + (o->size ? o->size : 1);
    if (lo < ohi && olo < hi)
      fail("%s returned %p (size %zu), overlapping live %s object %p (size %zu)", what, p, size, kind_names[o->kind],
           (void *)olo, o->size);
    if (o->has_child) {
      uintptr_t clo = (uintptr_t)UNHIDE(o->child), chi = clo + (o->child_size ? o->child_size : 1);
      if (lo < chi && clo < hi)
        fail("%s returned %p (size %zu), overlapping live child %p (size %zu) of object %p", what, p, size, (void *)clo,
             o->child_size, (void *)olo);
    }
  }
}

/* ---- finalizers ------------------------------------------------------------------ */
static void fin_fail(const char *fmt, ...) {
  char buf[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  dprint(err_fd, "fuzz_api: MODEL MISMATCH (finalizer thread): %s\n", buf);
  abort();
}

static void finalizer(void *objp, void *arg) {
  uint64_t t = (uint64_t)(uintptr_t)arg;
  fin_entry *e = &fins[t & (FIN_N - 1)];
  atomic_fetch_add(&fin_runs, 1);
  uint64_t now = atomic_load(&e->token);
  if (now != t)
    fin_fail("finalizer with token %#llx ran for %p, but that registration is gone (entry now %#llx, %s): "
             "it ran twice, or after it was cancelled, or for a rejected gh_set_finalizer call",
             (unsigned long long)t, objp, (unsigned long long)now, fin_state_names[atomic_load(&e->state)]);
  uint32_t st = F_DROPPED;
  if (!atomic_compare_exchange_strong(&e->state, &st, F_RUNNING))
    fin_fail("finalizer %#llx ran for %p in state %s", (unsigned long long)t, objp, fin_state_names[st]);
  unsigned char *p = UNHIDE(e->obj);
  if ((void *)p != objp) fin_fail("finalizer %#llx got obj %p, want %p", (unsigned long long)t, objp, (void *)p);
  size_t bad = pat_check(p, e->skip, e->size, e->seed, 0);
  if (bad != SIZE_MAX)
    fin_fail("finalizer %#llx: object %p (size %zu) byte %zu is %#x, want %#x: the object was not kept intact",
             (unsigned long long)t, (void *)p, e->size, bad, p[bad], pat_byte(e->seed, bad));
  if (e->child) {
    uintptr_t w;
    memcpy(&w, p, 8);
    unsigned char *c = UNHIDE(e->child);
    if (w != (uintptr_t)c) fin_fail("finalizer %#llx: object %p: child pointer %#lx, want %p", (unsigned long long)t, (void *)p, (unsigned long)w, (void *)c);
    bad = pat_check(c, 0, e->child_size, e->child_seed, 0);
    if (bad != SIZE_MAX)
      fin_fail("finalizer %#llx: child %p (size %zu) of %p: byte %zu is %#x, want %#x: what a finalizable object "
               "references must stay alive",
               (unsigned long long)t, (void *)c, e->child_size, (void *)p, bad, c[bad], pat_byte(e->child_seed, bad));
  }
  atomic_store(&e->state, F_RAN);
}

/* A free entry, or -1 when all are live or pending. */
static int fin_new(void) {
  for (uint32_t k = 0; k < FIN_N; k++) {
    uint32_t i = (fin_cursor + k) % FIN_N;
    uint32_t st = atomic_load(&fins[i].state);
    if (st == F_FREE || st == F_CANCELLED || st == F_RAN) {
      fin_cursor = i + 1;
      fins[i].obj = fins[i].child = 0;
      atomic_store(&fins[i].state, F_LIVE);
      atomic_store(&fins[i].token, HIDE_BIT | (++fin_gen << 12) | i);
      return (int)i;
    }
  }
  return -1;
}

/* The object leaves the model: its finalizer may now run (dropped) or must not (cancelled). */
static void fin_release(obj *o, int dropped) {
  if (!o->fin) return;
  fin_entry *e = &fins[o->fin - 1];
  if (dropped) {
    e->obj = HIDE(obj_ptr(o));
    e->size = o->size;
    e->seed = o->seed;
    e->skip = o->has_child ? 8 : 0;
    e->child = o->has_child ? o->child : 0;
    e->child_size = o->child_size;
    e->child_seed = o->child_seed;
    atomic_store(&e->state, F_DROPPED);
  } else {
    atomic_store(&e->state, F_CANCELLED);
  }
  o->fin = 0;
}

/* ---- adding and removing objects ---------------------------------------------------- */
static obj *add_obj(void *p, size_t size, int kind, int origin, size_t align, size_t fa_align, int zeroed,
                    const char *what) {
  if (nobjs >= MAX_OBJS) fail("internal: model full");
  uintptr_t a = (uintptr_t)p;
  if (a % align) fail("%s(%zu) returned %p, not aligned to %zu", what, size, p, align);
  check_fresh(p, size, what);
  if (zeroed) {
    size_t bad = pat_check(p, 0, size, 0, 1);
    if (bad != SIZE_MAX) fail("%s(%zu) returned %p whose byte %zu is %#x, want 0", what, size, p, bad, ((unsigned char *)p)[bad]);
  }
  size_t u = gh_malloc_usable_size(p);
  if (u < size) fail("%s(%zu) returned %p with gh_malloc_usable_size %zu", what, size, p, u);
  obj *o = &objs[nobjs++];
  *o = (obj){.ptr = a, .size = size, .align = align, .fa_align = fa_align, .seed = next_seed(), .kind = (uint8_t)kind,
             .origin = (uint8_t)origin, .tiny = (uint8_t)is_tiny(kind, size)};
  pat_fill(p, 0, size, o->seed);
  live_bytes += size;
  check_obj(o, what);
  expect_no_error(what);
  return o;
}

/* Removes objs[i] from the model (the caller freed or dropped it). */
static void remove_obj(size_t i) {
  obj *o = &objs[i];
  live_bytes -= o->size + child_bytes(o);
  if (o->rooted) root_area[o->root_idx] = 0;
  objs[i] = objs[--nobjs];
  memset(&objs[nobjs], 0, sizeof objs[nobjs]);
}

static void drop_child(obj *o) {
  if (!o->has_child) return;
  live_bytes -= o->child_size;
  if (o->child_kind != K_MANUAL) garbage_bytes += o->child_size;
  o->has_child = 0;
  o->child = 0;
}

/* idx-th object passing the filter (scanning from idx % n), or -1. */
enum { F_ANY, F_MANUAL, F_COLLECTED, F_NONTINY, F_PARENT, F_MANUAL_SIZED };
static int filter_ok(const obj *o, int f) {
  switch (f) {
  case F_MANUAL: return o->kind == K_MANUAL;
  case F_COLLECTED: return o->kind != K_MANUAL;
  case F_NONTINY: return !o->tiny;
  case F_PARENT: return o->kind != K_NOSCAN && o->size >= 8;
  case F_MANUAL_SIZED: return o->kind == K_MANUAL && o->origin != O_OTHER;
  default: return 1;
  }
}
static int pick(uint16_t idx, int f) {
  if (!nobjs) return -1;
  for (size_t k = 0; k < nobjs; k++) {
    size_t i = (idx + k) % nobjs;
    if (filter_ok(&objs[i], f)) return (int)i;
  }
  return -1;
}

/* ---- freeing (valid calls) ------------------------------------------------------------- */
enum { FREE_PLAIN, FREE_SIZED, FREE_ALIGNED_SIZED, FREE_REALLOC0 };

/* The model's side of a free the caller already made (free_obj, realloc to 0). */
static void model_freed(size_t i, void *p) {
  obj *o = &objs[i];
  drop_child(o);
  if (o->tiny) { /* gh_free of a tiny object is ignored: it is simply no longer used */
    fin_release(o, 1);
    garbage_bytes += o->size;
  } else {
    fin_release(o, 0);
    void *b = gh_base(p);
    if (b != NULL) fail("gh_base(%p) = %p just after it was freed (%s, size %zu), want NULL", p, b, kind_names[o->kind], o->size);
  }
  remove_obj(i);
}

/* Frees objs[i] validly with the chosen call (falling back to free where the
 * call is not legal for the object) and removes it from the model. */
static void free_obj(size_t i, int how) {
  obj *o = &objs[i];
  void *p = obj_ptr(o);
  if (how == FREE_SIZED && !(o->kind == K_MANUAL && o->origin == O_MALLOC)) how = FREE_PLAIN;
  if (how == FREE_ALIGNED_SIZED && !(o->kind == K_MANUAL && o->origin == O_ALIGNED)) how = FREE_PLAIN;
  errno = 4242;
  switch (how) {
  case FREE_SIZED: gh_free_sized(p, o->size); break;
  case FREE_ALIGNED_SIZED: gh_free_aligned_sized(p, o->fa_align, o->size); break;
  case FREE_REALLOC0: {
    void *r = gh_realloc(p, 0);
    if (r != NULL) fail("realloc(%p, 0) returned %p, want NULL (it frees)", p, r);
    errno = 4242;
    break;
  }
  default: gh_free(p); break;
  }
  if (errno != 4242) fail("free (variant %d) of %p changed errno to %d", how, p, errno);
  expect_no_error("valid free");
  model_freed(i, p);
}

/* Forgets a collected object without freeing it (the collector's job now). */
static void drop_obj(size_t i) {
  obj *o = &objs[i];
  fin_release(o, 1);
  garbage_bytes += o->size + child_bytes(o);
  drop_child(o);
  remove_obj(i);
}

static void make_room(uint16_t idx) {
  if (nobjs < MAX_OBJS) return;
  size_t i = idx % nobjs;
  if (objs[i].kind == K_MANUAL) free_obj(i, FREE_PLAIN);
  else drop_obj(i);
}

/* gh_collect, within the per-input cap; then everything is verified. */
static void collect(const char *when) {
  if (collects_this_input < MAX_COLLECTS) {
    collects_this_input++;
    gh_collect();
    total_collects++;
    garbage_bytes = 0;
  }
  verify_all(when);
}

static void maybe_collect_garbage(void) {
  if (gc_percent_now < 0 && garbage_bytes > GARBAGE_BUDGET) {
    gh_collect(); /* GC off: the garbage would grow without bound */
    total_collects++;
    garbage_bytes = 0;
  }
}

/* ---- operations ---------------------------------------------------------------------- */
static void op_alloc(const rec *r) {
  make_room(r->idx);
  size_t size = budget(gen_size(r));
  void *p;
  errno = 0;
  switch (r->op) {
  case OP_MALLOC:
    p = gh_malloc(size);
    note_result(p, size, 0);
    if (!p) fail("malloc(%zu) returned NULL (errno %d)", size, errno);
    add_obj(p, size, K_MANUAL, O_MALLOC, natural_align(K_MANUAL, size), 0, 0, "malloc");
    break;
  case OP_CALLOC: {
    size_t n = (size_t)1 << (r->sub % 5), m;
    if (n > size) n = size ? size : (r->sub & 1);
    m = n ? size / n : size;
    if (r->sub >= 240) { /* one factor zero */
      n = r->sub & 1 ? 0 : size;
      m = r->sub & 1 ? size : 0;
    }
    size_t bytes = n * m;
    p = gh_calloc(n, m);
    note_result(p, n, m);
    if (!p) fail("calloc(%zu, %zu) returned NULL (errno %d)", n, m, errno);
    add_obj(p, bytes, K_MANUAL, O_MALLOC, natural_align(K_MANUAL, bytes), 0, 1, "calloc");
    break;
  }
  case OP_GH_ALLOC:
  case OP_GH_ALLOC_NOSCAN: {
    int kind = r->op == OP_GH_ALLOC ? K_SCAN : K_NOSCAN;
    p = kind == K_SCAN ? gh_alloc(size) : gh_alloc_noscan(size);
    note_result(p, size, 0);
    if (!p) fail("%s(%zu) returned NULL (errno %d)", op_names[r->op], size, errno);
    add_obj(p, size, kind, O_COLLECTED, natural_align(kind, size), 0, 1, op_names[r->op]);
    break;
  }
  }
  maybe_collect_garbage();
}

/* posix_memalign, aligned_alloc, memalign, valloc, pvalloc: good and bad alignments. */
static void op_aligned(const rec *r) {
  make_room(r->idx);
  size_t size = budget(gen_size(r));
  size_t align = gen_align(r->aux);
  int bad = r->sub >= 224;
  static const size_t bad_aligns[] = {0, 3, 12, 24, 48, 100, 4097, (1 << 20) + 8, 1 | ((size_t)1 << 40)};
  if (bad) align = bad_aligns[r->sub % (sizeof bad_aligns / sizeof bad_aligns[0])];
  void *p = NULL;
  switch (r->op) {
  case OP_POSIX_MEMALIGN: {
    if (!bad && align < sizeof(void *)) { /* 1, 2, 4: not a multiple of sizeof(void *) */
      bad = 1;
    }
    void *out = (void *)0x5a5a;
    errno = 777;
    int rc = gh_posix_memalign(&out, align, size);
    note_result(out, align, size);
    if (errno != 777) fail("posix_memalign(%zu, %zu) changed errno to %d", align, size, errno);
    if (bad) {
      if (rc != EINVAL || out != (void *)0x5a5a)
        fail("posix_memalign(align %zu, %zu) = %d, out %p; want EINVAL and out untouched", align, size, rc, out);
      expect_no_error("posix_memalign with a bad alignment");
      return;
    }
    if (rc != 0) fail("posix_memalign(%zu, %zu) = %d", align, size, rc);
    add_obj(out, size, K_MANUAL, O_ALIGNED, align, align, 0, "posix_memalign");
    return;
  }
  case OP_ALIGNED_ALLOC:
    if (bad && align && !(align & (align - 1))) bad = 0;
    errno = 0;
    p = gh_aligned_alloc(align, size);
    note_result(p, align, size);
    if (bad) {
      if (p != NULL || errno != EINVAL) fail("aligned_alloc(%zu, %zu) = %p errno %d; want NULL, EINVAL", align, size, p, errno);
      expect_no_error("aligned_alloc with a bad alignment");
      return;
    }
    if (!p) fail("aligned_alloc(%zu, %zu) returned NULL (errno %d)", align, size, errno);
    add_obj(p, size, K_MANUAL, O_ALIGNED, align, align, 0, "aligned_alloc");
    return;
  case OP_MEMALIGN: {
    /* any alignment: rounded up to a power of two */
    size_t want = 1;
    if (bad && align > ((size_t)1 << 30)) align = 1 + (r->aux << 4); /* keep it reasonable */
    while (want < align) want <<= 1;
    errno = 0;
    p = gh_memalign(align, size);
    note_result(p, align, size);
    if (!p) fail("memalign(%zu, %zu) returned NULL (errno %d)", align, size, errno);
    add_obj(p, size, K_MANUAL, O_OTHER, want, 0, 0, "memalign");
    return;
  }
  case OP_VALLOC:
    p = gh_valloc(size);
    note_result(p, size, 0);
    if (!p) fail("valloc(%zu) returned NULL", size);
    add_obj(p, size, K_MANUAL, O_OTHER, page_size, 0, 0, "valloc");
    return;
  case OP_PVALLOC: {
    size_t rounded = size ? (size + page_size - 1) & ~(page_size - 1) : page_size;
    p = gh_pvalloc(size);
    note_result(p, size, rounded);
    if (!p) fail("pvalloc(%zu) returned NULL", size);
    add_obj(p, rounded, K_MANUAL, O_OTHER, page_size, 0, 0, "pvalloc");
    return;
  }
  }
}

/* realloc / reallocarray: grow, shrink, to 0, from NULL, to a size that fails, overflow. */
static void op_realloc(const rec *r) {
  int is_array = r->op == OP_REALLOCARRAY;
  const char *name = op_names[r->op];
  uint8_t v = r->sub % 8;
  if (v == 6 || nobjs == 0) { /* from NULL: a malloc */
    make_room(r->idx);
    size_t size = budget(gen_size(r));
    void *p = is_array ? gh_reallocarray(NULL, 1, size) : gh_realloc(NULL, size);
    note_result(p, size, 0);
    if (!p) fail("%s(NULL, %zu) returned NULL", name, size);
    add_obj(p, size, K_MANUAL, O_MALLOC, natural_align(K_MANUAL, size), 0, 0, name);
    return;
  }
  int i = pick(r->idx, F_ANY);
  obj *o = &objs[i];
  void *p = obj_ptr(o);
  if (v == 7) { /* fails: too big, or n * size overflows; the object stays */
    errno = 0;
    void *q;
    size_t a = 0, b = 0;
    if (is_array) {
      a = ((size_t)1 << 62) + r->raw;
      b = 4 + (r->aux & 3);
      q = gh_reallocarray(p, a, b);
    } else {
      a = HUGE_MIN << (r->aux % 16);
      if (r->aux >= 240) a = SIZE_MAX - r->raw;
      q = gh_realloc(p, a);
    }
    note_result(q, a, b);
    if (q != NULL || errno != ENOMEM) fail("%s(%p, %zu, %zu) = %p errno %d; want NULL, ENOMEM", name, p, a, b, q, errno);
    check_obj(o, "after a failed realloc");
    expect_no_error("failed realloc");
    return;
  }
  size_t old = o->size;
  size_t size = v == 4 ? old : v == 5 ? 0 : gen_size(r);
  if (size > old && live_bytes + (size - old) > LIVE_BUDGET) size %= 4096;
  size_t n = 1, m = size;
  if (is_array && (r->aux & 3) && size) {
    n = (size_t)1 << (r->aux & 3);
    if (n > size) n = 1;
    m = size / n;
    size = n * m;
  } else if (is_array && r->aux >= 128) {
    n = size;
    m = 1;
  }
  int tiny_before = o->tiny;
  errno = 4242;
  void *q = is_array ? gh_reallocarray(p, n, m) : gh_realloc(p, size);
  note_result(q, old, size);
  if (size == 0) { /* realloc(p, 0) frees p and returns NULL (glibc) */
    if (q != NULL) fail("%s(%p, 0) returned %p, want NULL (it frees)", name, p, q);
    expect_no_error(name);
    model_freed((size_t)i, p);
    return;
  }
  if (!q) fail("%s(%p, %zu -> %zu) returned NULL (errno %d)", name, p, old, size, errno);
  expect_no_error(name);
  /* documented: in place while the size class is unchanged; large blocks shrink in place */
  if (!tiny_before && q != p) {
    if (size == old && (o->origin == O_MALLOC || o->origin == O_COLLECTED))
      fail("%s(%p, same size %zu) moved the object to %p (the size class is unchanged)", name, p, size, q);
    if (old > 32768 && size > 32768 && size <= old)
      fail("%s(%p, %zu -> %zu) moved a large block to %p (large blocks shrink in place)", name, p, old, size, q);
  }
  if (q != p) check_fresh(q, size, name); /* p itself is still in the model */
  /* contents preserved up to the smaller size */
  size_t keep = min_sz(old, size);
  size_t skip = o->has_child ? 8 : 0;
  if (keep > skip) {
    size_t bad = pat_check(q, skip, keep, o->seed, 0);
    if (bad != SIZE_MAX)
      fail("%s(%p, %zu -> %zu) = %p: byte %zu is %#x, want %#x (contents not preserved)", name, p, old, size, q, bad,
           ((unsigned char *)q)[bad], pat_byte(o->seed, bad));
  }
  if (o->has_child && size >= 8) {
    uintptr_t w;
    memcpy(&w, q, 8);
    if (w != (uintptr_t)UNHIDE(o->child)) fail("%s(%p -> %p): the child pointer in the first word was not preserved", name, p, q);
  }
  /* the model follows: a moved object's old copy was gh_free'd (ignored if tiny) */
  if (q != p) {
    fin_release(o, tiny_before);
    if (tiny_before) garbage_bytes += old;
  }
  obj_set_ptr(o, q);
  live_bytes = live_bytes - old + size;
  o->size = size;
  o->tiny = (uint8_t)is_tiny(o->kind, size);
  o->align = natural_align(o->kind, size);
  if (o->kind == K_MANUAL) {
    o->origin = O_MALLOC;
    o->fa_align = 0;
  }
  if (o->has_child && size < 8) { /* the pointer is cut: the child is garbage */
    drop_child(o);
    pat_fill(q, 0, size, o->seed);
  } else if (size > keep) {
    pat_fill(q, keep, size, o->seed);
  }
  check_obj(o, name);
  int coll = gh_is_collected(q);
  if (o->kind != K_MANUAL && !o->tiny && !coll) fail("%s of a collected object returned %p, not collected (it keeps its kind)", name, q);
  if (o->kind == K_MANUAL && coll) fail("%s of a malloc'd object returned %p, a collected one", name, q);
  maybe_collect_garbage();
}

static void op_free(const rec *r) {
  int f = r->op == OP_FREE ? F_ANY : r->op == OP_GH_FREE ? F_COLLECTED : F_MANUAL_SIZED;
  int i = pick(r->idx, f);
  if (i < 0) return;
  note_result(obj_ptr(&objs[i]), objs[i].size, 0);
  int how = r->op == OP_FREE_SIZED ? FREE_SIZED : r->op == OP_FREE_ALIGNED_SIZED ? FREE_ALIGNED_SIZED : FREE_PLAIN;
  if (r->op == OP_FREE_SIZED && objs[i].origin == O_ALIGNED) how = FREE_ALIGNED_SIZED;
  if (r->op == OP_FREE_ALIGNED_SIZED && objs[i].origin == O_MALLOC) how = FREE_SIZED;
  free_obj((size_t)i, how);
}

static void op_drop(const rec *r) {
  int i = pick(r->idx, F_COLLECTED);
  if (i < 0) return;
  note_result(obj_ptr(&objs[i]), objs[i].size, 0);
  drop_obj((size_t)i);
  maybe_collect_garbage();
}

static void op_usable(const rec *r) {
  if (gh_malloc_usable_size(NULL) != 0) fail("malloc_usable_size(NULL) != 0");
  int i = pick(r->idx, F_ANY);
  if (i < 0) return;
  obj *o = &objs[i];
  void *p = obj_ptr(o);
  size_t u1 = gh_malloc_usable_size(p), u2 = gh_malloc_usable_size(p);
  note_result(p, o->size, u1);
  if (u1 != u2) fail("malloc_usable_size(%p) changed between two calls: %zu then %zu", p, u1, u2);
  check_obj(o, "usable_size");
}

static void op_collect(const rec *r) {
  if (r->sub % 4 == 3) {
    /* a pattern of "drop some, collect": the collector must keep everything in the model */
    for (int k = 0; k < 4 && nobjs; k++) {
      int i = pick((uint16_t)(r->idx + k * 7), F_COLLECTED);
      if (i < 0) break;
      drop_obj((size_t)i);
    }
  }
  note_result(NULL, nobjs, collects_this_input);
  collect("after gh_collect");
}

static void fin_set(obj *o, void *p) {
  int e = fin_new();
  if (e < 0) return;
  if (o->fin) fin_release(o, 0); /* replaced: the old one must never run */
  gh_set_finalizer(p, finalizer, (void *)(uintptr_t)atomic_load(&fins[e].token));
  o->fin = (uint32_t)e + 1;
  total_fin_set++;
}

static void op_finalizer(const rec *r) {
  int i = pick(r->idx, F_COLLECTED);
  if (i < 0) return;
  obj *o = &objs[i];
  void *p = obj_ptr(o);
  note_result(p, o->size, o->fin);
  if (r->sub % 4 == 3) { /* remove (also harmless when there is none) */
    gh_set_finalizer(p, NULL, NULL);
    if (o->fin) fin_release(o, 0);
  } else {
    fin_set(o, p);
  }
  expect_no_error("gh_set_finalizer");
  if (r->sub >= 200) { /* and let it go at once */
    drop_obj((size_t)i);
    if (r->sub >= 240) collect("collect after dropping a finalizable object");
  }
}

static void unroot_all(void) {
  for (size_t i = 0; i < nobjs; i++) {
    obj *o = &objs[i];
    if (!o->rooted) continue;
    void *p = obj_ptr(o);
    o->rooted = 0;
    o->ptr = (uintptr_t)p;
    root_area[o->root_idx] = 0;
  }
}

static void op_roots(const rec *r) {
  switch (r->sub % 6) {
  case 0: /* register / unregister the mmap'd page */
    if (root_registered) {
      unroot_all();
      gh_remove_roots(root_area, root_area + ROOT_WORDS);
      root_registered = 0;
    } else {
      gh_add_roots(root_area, root_area + ROOT_WORDS);
      root_registered = 1;
    }
    break;
  case 1:
  case 2: { /* move an object's only pointer into the registered page */
    if (!root_registered) {
      gh_add_roots(root_area, root_area + ROOT_WORDS);
      root_registered = 1;
    }
    int i = pick(r->idx, F_COLLECTED);
    if (i < 0 || objs[i].rooted) break;
    for (uint32_t k = 0; k < ROOT_WORDS; k++) {
      uint32_t w = (r->raw + k) % ROOT_WORDS;
      if (root_area[w]) continue;
      obj *o = &objs[i];
      void *p = obj_ptr(o);
      root_area[w] = (uintptr_t)p;
      o->root_idx = w;
      o->rooted = 1;
      o->ptr = HIDE(p);
      note_result(p, w, 0);
      break;
    }
    break;
  }
  case 3: { /* and back */
    int i = pick(r->idx, F_ANY);
    if (i < 0 || !objs[i].rooted) break;
    obj *o = &objs[i];
    void *p = obj_ptr(o);
    o->rooted = 0;
    o->ptr = (uintptr_t)p;
    root_area[o->root_idx] = 0;
    break;
  }
  case 4: { /* add a range of a static buffer (already a root: the bookkeeping) */
    if (nstatic_ranges >= MAX_STATIC_RANGES) break;
    uint32_t lo = r->raw % STATIC_ROOT_WORDS, hi = lo + r->aux % (STATIC_ROOT_WORDS - lo + 1);
    gh_add_roots(&static_roots[lo], &static_roots[hi]);
    static_ranges[nstatic_ranges].lo = lo;
    static_ranges[nstatic_ranges++].hi = hi;
    note_result(&static_roots[lo], lo, hi);
    break;
  }
  case 5: { /* remove one added before */
    if (!nstatic_ranges) break;
    uint32_t k = r->raw % nstatic_ranges;
    gh_remove_roots(&static_roots[static_ranges[k].lo], &static_roots[static_ranges[k].hi]);
    static_ranges[k] = static_ranges[--nstatic_ranges];
    break;
  }
  }
  expect_no_error("roots");
}

static void op_base(const rec *r) {
  char local[16];
  __asm__ volatile("" ::"r"(local) : "memory");
  void *b;
  if ((b = gh_base(&local[r->aux % 16])) != NULL) fail("gh_base(stack address) = %p, want NULL", b);
  if ((b = gh_base(&global_junk[r->aux % 64])) != NULL) fail("gh_base(global address) = %p, want NULL", b);
  if ((b = gh_base(NULL)) != NULL) fail("gh_base(NULL) = %p", b);
  if (gh_is_collected(&local[0]) || gh_is_collected(global_junk)) fail("gh_is_collected(non-heap address) != 0");
  int i = pick(r->idx, F_ANY);
  if (i < 0) return;
  obj *o = &objs[i];
  unsigned char *p = obj_ptr(o);
  if (o->size == 0) return; /* no byte inside (check_obj) */
  size_t off = ((size_t)r->raw << 8 | r->aux) % o->size;
  if (r->sub & 1) off = o->size - 1 - off / 2;
  void *want = o->tiny ? (void *)((uintptr_t)p & ~(uintptr_t)15) : (void *)p;
  b = gh_base(p + off);
  note_result(p, off, (size_t)b);
  if (b != want) fail("gh_base(%p + %zu) = %p, want %p (%s, size %zu%s)", (void *)p, off, b, want, kind_names[o->kind], o->size, o->tiny ? ", tiny" : "");
  int c = gh_is_collected(p + off);
  int wantc = o->kind != K_MANUAL && (void *)(p + off) == want;
  if (c != wantc) fail("gh_is_collected(%p + %zu) = %d, want %d (%s)", (void *)p, off, c, wantc, kind_names[o->kind]);
  if (o->has_child) {
    unsigned char *ch = UNHIDE(o->child);
    size_t coff = o->child_size ? off % o->child_size : 0;
    void *cw = o->child_tiny ? (void *)((uintptr_t)ch & ~(uintptr_t)15) : (void *)ch;
    if ((b = gh_base(ch + coff)) != cw) fail("gh_base(child %p + %zu) = %p, want %p", (void *)ch, coff, b, cw);
  }
}

static void op_trim(const rec *r) {
  int rc;
  if (r->sub & 1) {
    gh_free_os_memory();
    rc = 0;
  } else {
    rc = gh_malloc_trim(r->raw);
  }
  note_result(NULL, (size_t)rc, 0);
  if (rc != 0 && rc != 1) fail("malloc_trim returned %d, want 0 or 1", rc);
  verify_all("after malloc_trim");
}

/* ---- deliberate errors ------------------------------------------------------------------ */
static char want1[320];

static void op_err_foreign(const rec *r) {
  char local[32];
  __asm__ volatile("" ::"r"(local) : "memory");
  void *p;
  switch (r->sub % 4) {
  case 0: p = &local[r->aux % 32]; break;
  case 1: p = &global_junk[r->aux % 64]; break;
  case 2: p = (char *)glibc_block + r->aux % 64; break;
  default: p = (char *)root_area + 8 * (r->aux % 64) + 4096 * 0; break;
  }
  __asm__ volatile("" : "+r"(p));
  static const char *const opn[] = {"free", "realloc", "malloc_usable_size", "free_sized", "free_aligned_sized", "gh_set_finalizer"};
  int v = (r->sub / 4) % 6;
  note_result(p, (size_t)v, 0);
  snprintf(want1, sizeof want1, "goheap: %s of %#lx: pointer not allocated by goheap\n", opn[v], (unsigned long)p);
  begin_capture();
  errno = 4343;
  switch (v) {
  case 0: gh_free(p); break;
  case 1: {
    void *q = gh_realloc(p, 16);
    int e = errno;
    end_capture_raw();
    if (q != NULL || e != EINVAL) fail("realloc(foreign %p) = %p errno %d; want NULL, EINVAL", p, q, e);
    break;
  }
  case 2: {
    size_t u = gh_malloc_usable_size(p);
    end_capture_raw();
    if (u != 0) fail("malloc_usable_size(foreign %p) = %zu, want 0", p, u);
    errno = 4343;
    break;
  }
  case 3: gh_free_sized(p, 16); break;
  case 4: gh_free_aligned_sized(p, 64, 16); break;
  default: gh_set_finalizer(p, finalizer, (void *)(uintptr_t)(HIDE_BIT | 7)); break;
  }
  int e = errno;
  if (v != 1 && e != 4343) fail("%s(foreign %p) changed errno to %d", opn[v], p, e);
  expect_error_line(want1, NULL);
}

/* The free-family calls for the error cases on heap pointers. */
enum { E_FREE, E_REALLOC, E_USABLE, E_FREE_SIZED, E_FREE_ALIGNED_SIZED, E_GH_SET_FINALIZER, E_N };
static const char *const e_names[E_N] = {"free", "realloc", "malloc_usable_size", "free_sized", "free_aligned_sized", "gh_set_finalizer"};

static void call_bad(int v, void *p, size_t size, size_t align) {
  errno = 4343;
  switch (v) {
  case E_FREE: gh_free(p); break;
  case E_REALLOC: {
    void *q = gh_realloc(p, size + 1);
    int e = errno;
    end_capture_raw();
    if (q != NULL || e != EINVAL) fail("realloc(bad %p) = %p errno %d; want NULL, EINVAL", p, q, e);
    return;
  }
  case E_USABLE: {
    size_t u = gh_malloc_usable_size(p);
    end_capture_raw();
    if (u != 0) fail("malloc_usable_size(bad %p) = %zu, want 0", p, u);
    return;
  }
  case E_FREE_SIZED: gh_free_sized(p, size); break;
  case E_FREE_ALIGNED_SIZED: gh_free_aligned_sized(p, align, size); break;
  default: gh_set_finalizer(p, finalizer, (void *)(uintptr_t)(HIDE_BIT | 7)); break;
  }
  int e = errno;
  if (e != 4343) {
    end_capture_raw();
    fail("%s(bad %p) changed errno to %d", e_names[v], p, e);
  }
}

static void op_err_interior(const rec *r) {
  int i = pick(r->idx, F_NONTINY);
  if (i < 0) return;
  obj *o = &objs[i];
  unsigned char *p = obj_ptr(o);
  size_t u = gh_malloc_usable_size(p);
  if (u < 2) return;
  int v = r->sub % E_N;
  if (v == E_GH_SET_FINALIZER && (o->kind == K_MANUAL || o->size < 2)) v = E_FREE;
  /* inside the object's slot; for gh_set_finalizer inside the requested bytes */
  size_t off = 1 + ((size_t)r->raw << 8 | r->aux) % (v == E_GH_SET_FINALIZER ? o->size - 1 : u - 1);
  void *q = p + off;
  note_result(q, off, (size_t)v);
  size_t fsize = o->size, falign = o->fa_align ? o->fa_align : 1;
  snprintf(want1, sizeof want1, "goheap: %s of %#lx: points into the middle of the %zu-byte object at %#lx\n",
           e_names[v], (unsigned long)q, u, (unsigned long)p);
  begin_capture();
  call_bad(v, q, fsize, falign);
  expect_error_line(want1, NULL);
  check_obj(o, "after an interior-pointer error");
}

/* On malloc'd objects only: a double free of a collected object may race the
 * background sweeper sweeping the first free and then be reported by the
 * next sweep rather than at the call (README; tests/gc/test_hardening.c C).
 * This thread alone sweeps manual spans, so their double frees are
 * reported at the call. */
static void op_err_double(const rec *r) {
  int i = pick(r->idx, F_MANUAL);
  if (i < 0) return;
  obj *o = &objs[i];
  void *p = obj_ptr(o);
  size_t u = gh_malloc_usable_size(p), size = o->size, align = o->fa_align ? o->fa_align : 1;
  int kind = o->kind, origin = o->origin;
  int first = r->sub % 4; /* how it is freed first */
  int v = (r->sub / 4) % E_N; /* the second call */
  if (v == E_FREE_SIZED && !(kind == K_MANUAL && origin == O_MALLOC)) v = E_FREE;
  if (v == E_FREE_ALIGNED_SIZED && !(kind == K_MANUAL && origin == O_ALIGNED)) v = E_FREE;
  if (v == E_GH_SET_FINALIZER && kind == K_MANUAL) v = E_FREE;
  note_result(p, (size_t)first, (size_t)v);
  free_obj((size_t)i, first);
  /* no allocation in between: the slot is still free */
  /* Either documented line: "already free" while the span exists, "no object is
   * allocated there" once its pages went back to the heap (a large object; or a
   * span a sweep emptied). */
  static char alt[2][320];
  snprintf(alt[0], sizeof alt[0], "goheap: double free of %#lx (%s): the %zu-byte object there is already free\n",
           (unsigned long)p, e_names[v], u);
  snprintf(alt[1], sizeof alt[1],
           "goheap: double free of %#lx (%s): no object is allocated there (goheap owns this memory, but it is free)\n",
           (unsigned long)p, e_names[v]);
  const char *alts[2] = {alt[0], alt[1]};
  begin_capture();
  call_bad(v, p, size, align);
  expect_error_lines(alts, 2);
  if (r->sub >= 128) verify_all("after a double free");
}

static void op_err_sized(const rec *r) {
  int i = pick(r->idx, F_MANUAL_SIZED);
  if (i < 0) return;
  obj *o = &objs[i];
  void *p = obj_ptr(o);
  size_t u = gh_malloc_usable_size(p);
  size_t wrong = u + 1 + r->raw % 4096;
  if ((r->sub & 1) && u >= 32 && o->origin == O_MALLOC) wrong = 1; /* a smaller class */
  int aligned = o->origin == O_ALIGNED;
  note_result(p, o->size, wrong);
  snprintf(want1, sizeof want1, "goheap: %s of %#lx: size mismatch: given %zu, the object is %zu bytes\n",
           aligned ? "free_aligned_sized" : "free_sized", (unsigned long)p, wrong, u);
  begin_capture();
  errno = 4343;
  if (aligned) gh_free_aligned_sized(p, o->fa_align, wrong);
  else gh_free_sized(p, wrong);
  int e = errno;
  end_capture_raw();
  if (e != 4343) fail("sized free with a wrong size changed errno to %d", e);
  expect_error_line(want1, NULL);
  check_obj(o, "after a sized free with the wrong size");
}

/* gh_set_finalizer on a malloc'd object: reported, and never run. */
static void op_err_finalizer(obj *o) {
  void *p = obj_ptr(o);
  snprintf(want1, sizeof want1, "goheap: gh_set_finalizer of %#lx: not a collected object (allocate it with gh_alloc)\n",
           (unsigned long)p);
  begin_capture();
  gh_set_finalizer(p, finalizer, (void *)(uintptr_t)(HIDE_BIT | 7));
  expect_error_line(want1, NULL);
  check_obj(o, "after gh_set_finalizer of a malloc'd object");
}

/* ---- children ------------------------------------------------------------------------- */
static void op_child(const rec *r) {
  int i = pick(r->idx, F_PARENT);
  if (i < 0) return;
  obj *o = &objs[i];
  unsigned char *p = obj_ptr(o);
  if (o->has_child) {
    if (r->sub & 1) { /* drop it: it becomes garbage */
      drop_child(o);
      pat_fill(p, 0, 8, o->seed);
      check_obj(o, "after dropping a child");
    } else if (o->kind == K_MANUAL && (r->sub & 2)) {
      op_err_finalizer(o);
    }
    return;
  }
  if (o->kind == K_MANUAL && (r->sub & 6) == 6) {
    op_err_finalizer(o);
    return;
  }
  size_t size = gen_size(r) % 65536;
  size = budget(size);
  int kind = r->sub & 2 ? K_NOSCAN : K_SCAN;
  unsigned char *c = kind == K_SCAN ? gh_alloc(size) : gh_alloc_noscan(size);
  note_result(c, size, (size_t)kind);
  if (!c) fail("child %s(%zu) returned NULL", kind_names[kind], size);
  if ((uintptr_t)c % natural_align(kind, size)) fail("child %p (size %zu) misaligned", (void *)c, size);
  check_fresh(c, size, "child allocation");
  size_t bad = pat_check(c, 0, size, 0, 1);
  if (bad != SIZE_MAX) fail("child %s(%zu) = %p: byte %zu not zero", kind_names[kind], size, (void *)c, bad);
  o->child_seed = next_seed();
  pat_fill(c, 0, size, o->child_seed);
  memcpy(p, &c, 8);
  o->child = HIDE(c);
  o->child_size = size;
  o->child_kind = (uint8_t)kind;
  o->child_tiny = (uint8_t)is_tiny(kind, size);
  o->has_child = 1;
  live_bytes += size;
  c = NULL;
  check_obj(o, "after attaching a child");
  expect_no_error("child");
}

static void op_gc_percent(const rec *r) {
  static const int values[] = {-1, 25, 100, 100, 300, 1000};
  int v = values[r->sub % 6];
  int old = gh_set_gc_percent(v);
  note_result(NULL, (size_t)old, (size_t)v);
  if (old != gc_percent_now) fail("gh_set_gc_percent returned %d, want the previous value %d", old, gc_percent_now);
  gc_percent_now = v;
}

static void op_stats(const rec *r) {
  static gh_stats st, part;
  (void)r;
  memset(&st, 0, sizeof st);
  st.size = sizeof st;
  gh_read_stats(&st);
  if (st.version != GH_STATS_VERSION || st.size != sizeof st)
    fail("gh_read_stats: version %u size %u, want %u and %zu", st.version, st.size, GH_STATS_VERSION, sizeof st);
  if (st.gc_percent != (gc_percent_now < 0 ? -1 : gc_percent_now))
    fail("gh_read_stats: gc_percent %lld, want %d", (long long)st.gc_percent, gc_percent_now);
  if (st.num_gc < last_num_gc) fail("gh_read_stats: num_gc went back from %llu to %llu", (unsigned long long)last_num_gc, (unsigned long long)st.num_gc);
  last_num_gc = st.num_gc;
  uint64_t bytes = 0, count = 0;
  for (size_t i = 0; i < nobjs; i++) {
    const obj *o = &objs[i];
    if (!o->tiny) {
      bytes += gh_malloc_usable_size(obj_ptr(o));
      count++;
    }
    if (o->has_child && !o->child_tiny) {
      bytes += gh_malloc_usable_size(UNHIDE(o->child));
      count++;
    }
  }
  note_result(NULL, st.heap_alloc, bytes);
  if (st.heap_alloc < bytes || st.heap_objects < count)
    fail("gh_read_stats: heap_alloc %llu, heap_objects %llu; the model has %llu bytes in %llu objects allocated",
         (unsigned long long)st.heap_alloc, (unsigned long long)st.heap_objects, (unsigned long long)bytes,
         (unsigned long long)count);
  /* a caller that knows fewer fields: nothing beyond them is written */
  memset(&part, 0xAB, sizeof part);
  part.size = (uint32_t)offsetof(gh_stats, heap_inuse);
  gh_read_stats(&part);
  const unsigned char *tail = (const unsigned char *)&part + offsetof(gh_stats, heap_inuse);
  for (size_t k = 0; k < sizeof part - offsetof(gh_stats, heap_inuse); k++)
    if (tail[k] != 0xAB) fail("gh_read_stats with size %u wrote byte %zu beyond it", part.size, offsetof(gh_stats, heap_inuse) + k);
  expect_no_error("stats");
}

static void op_write(const rec *r) {
  int i = pick(r->idx, F_ANY);
  if (i < 0) return;
  obj *o = &objs[i];
  unsigned char *p = obj_ptr(o);
  o->seed = next_seed();
  pat_fill(p, o->has_child ? 8 : 0, o->size, o->seed);
  check_obj(o, "write");
}

/* Requests that cannot be satisfied: NULL with ENOMEM (EINVAL is not expected here). */
static void op_fail_alloc(const rec *r) {
  size_t huge = HUGE_MIN << (r->aux % 16);
  if (r->aux >= 240) huge = SIZE_MAX - r->raw;
  void *p = (void *)1;
  int rc = 0;
  errno = 0;
  switch (r->sub % 10) {
  case 0: p = gh_malloc(huge); break;
  case 1: p = gh_calloc(((size_t)1 << 62) + r->raw, 4 + (r->aux & 7)); break; /* overflows */
  case 2: p = gh_calloc(huge, 1); break;
  case 3: p = gh_alloc(huge); break;
  case 4: p = gh_alloc_noscan(huge); break;
  case 5: p = gh_aligned_alloc(gen_align(r->aux), huge); break;
  case 6: {
    void *out = (void *)0x5a5a;
    errno = 0;
    rc = gh_posix_memalign(&out, r->sub & 16 ? HUGE_MIN << (r->aux % 16) : 64, r->sub & 16 ? 16 : huge);
    note_result(out, (size_t)rc, huge);
    if (rc != ENOMEM || out != (void *)0x5a5a || errno != 0)
      fail("posix_memalign that cannot be satisfied: %d, out %p, errno %d; want ENOMEM, out untouched, errno untouched", rc, out, errno);
    expect_no_error("posix_memalign ENOMEM");
    return;
  }
  case 7: p = gh_memalign(r->sub & 16 ? (size_t)1 << 63 : 4096, r->sub & 16 ? 16 : huge); break;
  case 8: p = r->sub & 16 ? gh_pvalloc(huge) : gh_valloc(huge); break;
  default: p = r->sub & 16 ? gh_reallocarray(NULL, ((size_t)1 << 62) + r->raw, 8) : gh_realloc(NULL, huge); break;
  }
  note_result(p, huge, (size_t)errno);
  if (p != NULL || errno != ENOMEM)
    fail("an allocation that cannot be satisfied (variant %u, size %zu) returned %p errno %d; want NULL, ENOMEM", r->sub % 10, huge, p, errno);
  expect_no_error("failed allocation");
}

/* ---- the driver --------------------------------------------------------------------- */
static void print_totals(void) {
  dprint(err_fd,
         "fuzz_api: totals: %llu inputs, %llu operations, %llu content checks, %llu deliberate errors, "
         "%llu forced collections, %llu finalizers set, %llu run\n",
         (unsigned long long)total_inputs, (unsigned long long)total_ops, (unsigned long long)total_checks,
         (unsigned long long)total_errors_provoked, (unsigned long long)total_collects,
         (unsigned long long)total_fin_set, (unsigned long long)atomic_load(&fin_runs));
}

static void init_once(void) {
  static int done;
  if (done) return;
  done = 1;
  page_size = (size_t)sysconf(_SC_PAGESIZE);
  trace_ops = getenv("GH_FUZZ_TRACE") && *getenv("GH_FUZZ_TRACE") != '0';
  capture_on = !(getenv("GH_FUZZ_NOCAPTURE") && *getenv("GH_FUZZ_NOCAPTURE") != '0');
  err_fd = dup(2);
  if (err_fd < 0) err_fd = 2;
  cap_fd = memfd_create("goheap-fuzz-stderr", MFD_CLOEXEC);
  if (cap_fd < 0) capture_on = 0;
  /* libFuzzer's handlers are installed by now: chain after them */
  static const int sigs[] = {SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP};
  for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = crash_handler;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(sigs[k], &sa, &old_handlers[sigs[k]]);
  }
  root_area = mmap(NULL, ROOT_WORDS * sizeof(uintptr_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (root_area == MAP_FAILED) {
    perror("mmap");
    abort();
  }
  glibc_block = malloc(128); /* glibc's: LLVMFuzzer builds use -DGH_NO_OVERRIDE */
  gh_set_error_mode(GH_ERROR_REPORT);
  gc_percent_now = gh_set_gc_percent(100);
  if (gc_percent_now != 100) gh_set_gc_percent(gc_percent_now = 100);
  atexit(print_totals);
}

static void end_input(void) {
  verify_all("end of input");
  unroot_all();
  if (root_registered) {
    gh_remove_roots(root_area, root_area + ROOT_WORDS);
    root_registered = 0;
  }
  while (nstatic_ranges) {
    nstatic_ranges--;
    gh_remove_roots(&static_roots[static_ranges[nstatic_ranges].lo], &static_roots[static_ranges[nstatic_ranges].hi]);
  }
  while (nobjs) {
    obj *o = &objs[nobjs - 1];
    if (o->kind == K_MANUAL) free_obj(nobjs - 1, (int)(nobjs % 3));
    else if (nobjs & 1) free_obj(nobjs - 1, FREE_PLAIN);
    else drop_obj(nobjs - 1);
  }
  if (gc_percent_now != 100) {
    gh_set_gc_percent(100);
    gc_percent_now = 100;
  }
  expect_no_error("end of input");
  live_bytes = 0;
  garbage_bytes = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  init_once();
  total_inputs++;
  expected_errors = gh_error_count();
  seed_counter = 0;
  collects_this_input = 0;
  trace_count = 0;
  cur = NULL;
  if (trace_ops) dprint(err_fd, "fuzz_api: input of %zu bytes\n", size);
  for (size_t off = 0, nops = 0; off < size && nops < MAX_OPS; off += 8, nops++) {
    uint8_t b[8] = {0};
    memcpy(b, data + off, min_sz(8, size - off));
    rec r = {.op = (uint8_t)(b[0] % NOPS), .sub = b[1], .aux = b[2], .idx = (uint16_t)(b[3] | b[4] << 8),
             .sel = b[5], .raw = (uint16_t)(b[6] | b[7] << 8)};
    note(r.op, r.sub, NULL, r.idx, r.raw);
    total_ops++;
    switch (r.op) {
    case OP_MALLOC: case OP_CALLOC: case OP_GH_ALLOC: case OP_GH_ALLOC_NOSCAN: op_alloc(&r); break;
    case OP_REALLOC: case OP_REALLOCARRAY: op_realloc(&r); break;
    case OP_POSIX_MEMALIGN: case OP_ALIGNED_ALLOC: case OP_MEMALIGN: case OP_VALLOC: case OP_PVALLOC: op_aligned(&r); break;
    case OP_FREE: case OP_FREE_SIZED: case OP_FREE_ALIGNED_SIZED: case OP_GH_FREE: op_free(&r); break;
    case OP_USABLE: op_usable(&r); break;
    case OP_DROP: op_drop(&r); break;
    case OP_COLLECT: op_collect(&r); break;
    case OP_FINALIZER: op_finalizer(&r); break;
    case OP_ROOTS: op_roots(&r); break;
    case OP_BASE: op_base(&r); break;
    case OP_TRIM: op_trim(&r); break;
    case OP_ERR_FOREIGN: op_err_foreign(&r); break;
    case OP_ERR_INTERIOR: op_err_interior(&r); break;
    case OP_ERR_DOUBLE: op_err_double(&r); break;
    case OP_ERR_SIZED: op_err_sized(&r); break;
    case OP_CHILD: op_child(&r); break;
    case OP_GC_PERCENT: op_gc_percent(&r); break;
    case OP_STATS: op_stats(&r); break;
    case OP_VERIFY: verify_all("verify"); break;
    case OP_WRITE: op_write(&r); break;
    case OP_FAIL_ALLOC: op_fail_alloc(&r); break;
    }
    expect_no_error(op_names[r.op]);
    if ((nops + 1) % FULL_CHECK_EVERY == 0) verify_all("periodic check");
  }
  end_input();
  return 0;
}
