/*
 * mprof.c -- the heap profile: sampled allocations, their call stacks, and
 * buckets of counts per stack. (Go: mprof.go, malloc.go:profilealloc,
 * nextSample, fastexprand.)
 *
 * Sampling, as Go: each mcache counts down `next_sample` by the bytes each
 * allocation requests (malloc.c, on the fast path: one subtraction and a
 * branch); when it goes negative, the allocation is sampled and the next
 * distance is drawn from an exponential distribution with mean
 * GOHEAP_PROFILE_RATE bytes, so every byte has the same chance to be sampled
 * whatever the allocation pattern. Rate 1 samples every allocation (the leak
 * check uses that); 0 turns sampling off (next_sample = INT64_MAX).
 *
 * The default is 2 MiB (tcmalloc's), not Go's 512 KiB: Go unwinds by frame
 * pointers, goheap through DWARF tables, about 14,000 instructions a sample
 * (callgrind, sh6bench). At 512 KiB the samples cost 7% of sh6bench's
 * instructions, 5.7% of larson's and 2.5% of alloc-test's; at 2 MiB 2.1%,
 * 1.7% and 0.6%. A profile of a program that allocates little is sparser;
 * GOHEAP_PROFILE_RATE=524288 gives Go's density back.
 *
 * A sampled allocation records its call stack, found by the C library's
 * unwinder (backtrace(3): DWARF unwind tables, which every Debian binary
 * has, so programs built without frame pointers unwind too). backtrace
 * loads its unwinder on its first call, which may allocate, so goheap calls
 * it once from a constructor, outside any allocation; samples taken before
 * that record only the allocation's caller. The frames of goheap itself are
 * cut off: the allocation entry passes its own return address (`ra`), the
 * stack starts at that frame, and when goheap is a shared object of its own
 * any frame left in its code goes too (realloc's malloc, posix_memalign's
 * inlined paths). Linked into the program, goheap cannot tell its frames
 * from the program's beyond `ra`; the profile's drop_frames names them.
 *
 * A bucket holds one stack and its counts (Go: bucket, memRecord): objects
 * and bytes allocated and freed since the start, updated with atomic adds.
 * Buckets live in a hash table of chains and on one list of all buckets,
 * both pushed to with compare-and-swap, never removed: no lock. A sampled
 * object carries a profile special (mfinal.c) that reports its free when a
 * sweep frees it or its large span dies, for manual and collected objects
 * alike. Departure from Go: Go publishes counts per collection cycle so that
 * its in-use figures are those of the last mark; malloc'd objects have no
 * cycle, so goheap's counts are current (frees count once swept: writers of
 * the profile sweep queued frees first).
 *
 * Reentrancy: the unwinder may call malloc; `sampling` on the mcache keeps
 * those nested allocations from being sampled.
 */
#include "internal.h"

#define HASH_SIZE ((uintptr_t)1 << 16) /* chains; the table is 512 KiB, mapped at the first sample */

static GH_DATA gh_bucket **xhash;     /* HASH_SIZE chain heads, or NULL before the first sample */
static GH_DATA gh_bucket *xall;       /* every bucket, newest first (allnext) */
static GH_DATA int64_t xrate = -1;    /* GOHEAP_PROFILE_RATE; -1 until read */
static GH_DATA uint32_t xunwinder_ready;
static GH_DATA uintptr_t own_lo, own_hi; /* libgoheap.so's code (set before xunwinder_ready), or empty */

int64_t gh_mprof_rate(void) {
  int64_t r = gh_atomic_load_relaxed(&xrate);
  if (gh_unlikely(r < 0)) {
    r = gh_option_get(GH_OPT_LEAKCHECK) ? 1 : gh_option_get(GH_OPT_PROFILE_RATE);
    gh_atomic_store_relaxed(&xrate, r);
  }
  return r;
}

static void warm_unwinder(void);

/* Also redraws the calling thread's distance, so the new rate applies to it at once. */
int64_t gh_set_profile_rate(int64_t bytes) {
  gh_ensure_init();
  int64_t old = gh_mprof_rate();
  if (bytes < 0) return old;
  gh_atomic_store_relaxed(&xrate, bytes);
  if (bytes > 0) warm_unwinder();
  gh_mcache *c = gh_mcache_get_slow();
  if (c) c->next_sample = 0; /* the next allocation draws (gh_mprof_malloc) */
  return old;
}

gh_bucket *gh_mprof_buckets(void) { return gh_atomic_load_acquire(&xall); }

/* ---- the sampling distance (Go: malloc.go:nextSample, fastexprand) ------------------- */

/* xorshift64* (Go: fastrand); the state is never 0 once seeded. */
static uint64_t next_random(gh_mcache *c) {
  uint64_t x = c->sample_rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  c->sample_rng = x;
  return x * 0x2545F4914F6CDD1Dull;
}

/* ln(u) for u in (0, 1], without libm: u = m * 2^e with m in [1, 2), and
 * ln(m) = 2 atanh(t), t = (m-1)/(m+1) <= 1/3, by its series (error < 1e-7). */
static double ln(double u) {
  union { double d; uint64_t b; } v = {u};
  int e = (int)((v.b >> 52) & 0x7ff) - 1023;
  v.b = (v.b & ~(0x7ffull << 52)) | (1023ull << 52);
  double t = (v.d - 1) / (v.d + 1), t2 = t * t;
  double series = t * (1 + t2 * (1.0 / 3 + t2 * (1.0 / 5 + t2 * (1.0 / 7 + t2 * (1.0 / 9 + t2 / 11)))));
  return e * 0.69314718055994530942 + 2 * series;
}

/* Bytes until the next sample: exponential with mean `rate`. */
static int64_t next_distance(gh_mcache *c, int64_t rate) {
  if (rate <= 0) return INT64_MAX;
  if (rate == 1) return -1; /* every allocation */
  double u = (double)((next_random(c) >> 11) + 1) * (1.0 / 9007199254740992.0); /* (0, 1] */
  double d = -ln(u) * (double)rate;
  return d >= 9.2e18 ? INT64_MAX : (int64_t)d;
}

/* ---- stacks and buckets --------------------------------------------------------------- */

/* The allocation's stack, innermost first, starting at `ra` (the caller of
 * goheap's entry point): the frames of goheap itself are cut off. */
static uint32_t capture(uintptr_t *out, uintptr_t ra) {
  uintptr_t raw[GH_PROF_MAX_STACK + 8];
  int n = gh_atomic_load_acquire(&xunwinder_ready) ? gh_os_backtrace(raw, GH_PROF_MAX_STACK + 8) : 0;
  int i = 0;
  while (i < n && raw[i] != ra) i++;
  if (i == n) { /* the unwinder lost the frame: all but goheap's own, if they can be told */
    i = 0;
    if (own_hi == own_lo) n = 0;
  }
  while (i < n && raw[i] - own_lo < own_hi - own_lo) i++;
  uint32_t k = 0;
  for (; i < n && k < GH_PROF_MAX_STACK; i++) out[k++] = raw[i];
  if (k == 0) out[k++] = ra; /* the unwinder is not ready, or found nothing */
  return k;
}

static uint64_t stack_hash(const uintptr_t *stk, uint32_t n) {
  uint64_t h = 14695981039346656037ull; /* FNV-1a over the words */
  for (uint32_t i = 0; i < n; i++) h = (h ^ stk[i]) * 1099511628211ull;
  return h ^ n;
}

static gh_bucket *find(gh_bucket *b, uint64_t h, const uintptr_t *stk, uint32_t n) {
  for (; b; b = gh_atomic_load_acquire(&b->hnext))
    if (b->hash == h && b->nstk == n && __builtin_memcmp(b->stk, stk, n * sizeof *stk) == 0) return b;
  return NULL;
}

static gh_bucket **hash_table(void) {
  gh_bucket **t = gh_atomic_load_acquire(&xhash);
  if (gh_likely(t != NULL)) return t;
  gh_bucket **fresh = gh_persistent_alloc(HASH_SIZE * sizeof *fresh);
  if (!fresh || gh_atomic_cas(&xhash, NULL, fresh)) return fresh; /* a loser's table is left unused */
  return gh_atomic_load_acquire(&xhash);
}

/* Go: mprof.go:stkbucket. The bucket of this stack, made if need be; NULL if
 * out of memory. Lock-free: a new bucket is pushed on its chain by CAS; on a
 * lost race the chain is searched again. */
static gh_bucket *bucket_for(const uintptr_t *stk, uint32_t n) {
  gh_bucket **t = hash_table();
  if (!t) return NULL;
  uint64_t h = stack_hash(stk, n);
  gh_bucket **head = &t[h % HASH_SIZE], *fresh = NULL;
  for (;;) {
    gh_bucket *first = gh_atomic_load_acquire(head);
    gh_bucket *b = find(first, h, stk, n);
    if (b) return b; /* a fresh one that lost the race stays unused (rare) */
    if (!fresh) {
      fresh = gh_persistent_alloc(sizeof *fresh + n * sizeof *stk);
      if (!fresh) return NULL;
      fresh->hash = h;
      fresh->nstk = n;
      __builtin_memcpy(fresh->stk, stk, n * sizeof *stk);
    }
    fresh->hnext = first;
    if (gh_atomic_cas(head, first, fresh)) break;
  }
  gh_bucket *all;
  do {
    all = gh_atomic_load_acquire(&xall);
    fresh->allnext = all;
  } while (!gh_atomic_cas(&xall, all, fresh));
  return fresh;
}

/* ---- recording ------------------------------------------------------------------------ */

/* Go: mprof.go:mProf_Malloc. The stack goes in a bucket, the object gets a
 * profile special; counted only if both could be had. */
static void record(void *p, size_t size, uintptr_t ra) {
  uintptr_t stk[GH_PROF_MAX_STACK];
  uint32_t n = capture(stk, ra);
  gh_mcache *c = gh_enter();
  gh_bucket *b = bucket_for(stk, n);
  gh_mspan *s = gh_span_of((uintptr_t)p);
  if (b && s && gh_special_add_profile(s, (uintptr_t)p, b, size)) {
    gh_atomic_add(&b->xalloc_objects, 1);
    gh_atomic_add(&b->xalloc_bytes, size);
  }
  gh_leave(c);
}

/* The allocation p (of `size` requested bytes) made the thread's countdown
 * negative: sample it, and draw the next distance. Returns p. The caller is
 * a goheap entry point and `ra` its return address. */
GH_NOINLINE void *gh_mprof_malloc(void *p, size_t size, uintptr_t ra) {
  gh_mcache *c = gh_tls_mcache;
  if (!p || !c || c->sampling) return p;
  int64_t rate = gh_mprof_rate();
  if (c->outer_ra) ra = c->outer_ra;
  bool seeded = c->sample_rng != 0;
  if (!seeded) c->sample_rng = ((c->thread_id * 0x9E3779B97F4A7C15ull) ^ gh_os_nanotime() ^ (uintptr_t)c) | 1;
  c->next_sample = next_distance(c, rate);
  if (!seeded && rate != 1) return p; /* a new thread's first countdown was 0, not a draw */
  if (rate <= 0) return p;
  int saved = gh_os_get_errno();
  c->sampling = 1;
  record(p, size, ra);
  c->sampling = 0;
  gh_os_set_errno(saved);
  return p;
}

/* realloc kept p where it was, at `size` bytes: its span has specials, or
 * the thread's countdown (charged with the bytes it grew by) ran out. A
 * record it has follows the new size; with every allocation sampled (the
 * leak check) the block is attributed to realloc's call instead, as
 * valgrind and LeakSanitizer do. A block without a record is sampled if
 * the countdown ran out. */
void gh_mprof_resized(void *p, size_t size, uintptr_t ra) {
  gh_mspan *s = gh_span_of((uintptr_t)p);
  gh_mcache *c = gh_enter();
  bool every = gh_mprof_rate() == 1, found = false;
  gh_bucket *b = NULL;
  uint64_t old = 0;
  if (s && gh_span_has_specials(s)) {
    found = every ? gh_special_take_profile(s, (uintptr_t)p, &b, &old)
                  : gh_special_resize_profile(s, (uintptr_t)p, size, &b, &old);
  }
  gh_leave(c);
  if (found && every) gh_mprof_free(b, old);
  if (found && !every) { /* the same object: only its bytes change */
    gh_atomic_add(size > old ? &b->xalloc_bytes : &b->xfree_bytes, size > old ? size - old : old - size);
    return;
  }
  if (c && (every || c->next_sample < 0)) gh_mprof_malloc(p, size, ra);
}

/* Go: mProf_Free. A sampled object was freed (from its special). */
void gh_mprof_free(gh_bucket *b, uint64_t size) {
  gh_atomic_add(&b->xfree_objects, 1);
  gh_atomic_add(&b->xfree_bytes, size);
}

/* ---- writing ------------------------------------------------------------------------------ */

/* Frees become visible to the profile when swept: the calling thread's cached
 * spans and every span frees queued are swept first (as malloc_trim does). */
static void settle_frees(void) {
  gh_mcache *c = gh_enter();
  if (c) gh_mcache_release_all(c);
  gh_mheap_reclaim(UINTPTR_MAX);
  gh_leave(c);
}

int gh_write_heap_profile(int fd) {
  gh_ensure_init();
  settle_frees();
  return gh_pprof_write_heap(fd, gh_mprof_rate());
}

/* Loads the unwinder outside any allocation (see the header comment). Its
 * own allocations are sampled with their caller only (not ready yet). */
static void warm_unwinder(void) {
  if (gh_atomic_load_acquire(&xunwinder_ready)) return;
  if (!gh_os_own_text(&own_lo, &own_hi)) own_lo = own_hi = 0;
  uintptr_t pcs[4];
  gh_os_backtrace(pcs, 4);
  gh_atomic_store_release(&xunwinder_ready, 1);
}

/* Options only: a program that allocates nothing before main must find the heap untouched. */
__attribute__((constructor)) static void warm_at_start(void) {
  gh_options_init();
  if (gh_mprof_rate() > 0) warm_unwinder();
}
