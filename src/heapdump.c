/*
 * heapdump.c -- gh_dump_heap: the heap's layout as text, the input of
 * `goheap map`. (Go: heapdump.go, which writes every object in a binary
 * format; this dump stops at spans and pages.)
 *
 * Format, version 1: one record per line, fields separated by one space,
 * numbers in decimal, addresses in 0x hex:
 *   goheap-heapdump 1
 *   pid PID
 *   pagesize 8192
 *   arena BASE SIZE                     every arena, in address order
 *   then each arena's pages in address order, one record per run:
 *   span START NPAGES STATE SPANCLASS SIZECLASS KIND ELEMSIZE NELEMS ALLOCATED SWEPT
 *   free START NPAGES RELEASED          a maximal run of free pages, all released
 *                                       to the OS (1) or all not (0)
 *   reserved START NPAGES               pages neither free nor in a span: not
 *                                       committed yet (the page allocator's alloc
 *                                       bit without a span; also, for a moment,
 *                                       pages that a thread not stopped is
 *                                       returning to the OS)
 *   end
 * STATE is gh_span_state_names[]; KIND manual, scan or noscan; ALLOCATED the
 * objects allocated by I1 (explicit frees not yet swept are not counted; a
 * collection's garbage is, until its sweep); SWEPT is 1 for manual spans and
 * for collected spans swept in this cycle (I5), 0 for those still to sweep
 * (none today: the dump finishes the sweep first, see below).
 * A span larger than an arena is written once, in the arena where it starts.
 *
 * Consistency: the records are written with the world stopped, between two
 * collections (mgc.c:gh_gc_stop_and_run, which first finishes the last
 * cycle's sweep): every registered thread is parked at a safe point, where
 * no span, mcache or page map is mid-update. The page bitmaps are also
 * copied under the heap lock, one arena at a time, since a thread that never
 * allocated is not stopped and may still free a large block.
 *
 * No allocation: records are built in a stack buffer with gh_buf and written
 * with gh_os_write_fd as it fills. The world stays stopped while they are
 * written, so fd must not be a pipe that a thread of this process drains.
 */
#include <errno.h>

#include "internal.h"

#define DUMP_VERSION "1"
#define RECORD_ROOM 256 /* more than the longest record */

typedef struct dump_out {
  int fd;
  gh_buf b;
  char buf[8192];
} dump_out;

/* The page allocator's bits of one arena, copied under the heap lock. */
typedef struct page_bits {
  uint64_t alloc[GH_PAGES_PER_ARENA / 64];
  uint64_t scav[GH_PAGES_PER_ARENA / 64];
} page_bits;

static const char *const kind_names[3] = {"manual", "scan", "noscan"};

/* ---- output ------------------------------------------------------------------- */

static void out_flush(dump_out *o) {
  gh_os_write_fd(o->fd, o->buf, (size_t)(o->b.p - o->buf));
  o->b.p = o->buf;
}

/* Starts a record: its name, at the start of a line. */
static void out_record(dump_out *o, const char *name) { gh_buf_str(&o->b, name); }

static void out_u64(dump_out *o, uint64_t v) {
  gh_buf_str(&o->b, " ");
  gh_buf_u64(&o->b, v);
}

static void out_hex(dump_out *o, uint64_t v) {
  gh_buf_str(&o->b, " ");
  gh_buf_hex(&o->b, v);
}

static void out_str(dump_out *o, const char *s) {
  gh_buf_str(&o->b, " ");
  gh_buf_str(&o->b, s);
}

/* Ends a record; writes the buffer out once it has no room for another. */
static void out_end(dump_out *o) {
  gh_buf_str(&o->b, "\n");
  if (o->b.end - o->b.p < RECORD_ROOM) out_flush(o);
}

/* ---- spans ---------------------------------------------------------------------- */

/* I1: slots handed out (below freeindex or set in alloc_bits) and not freed since. */
static uint32_t span_allocated(const gh_mspan *s) {
  if (gh_spanclass_is_large(s->spanclass)) return gh_atomic_load_relaxed(&s->xstate) == GH_SPAN_IN_USE;
  uint32_t n = 0;
  for (uint32_t w = 0; w < gh_span_bitmap_words(s); w++) {
    uint64_t freed = s->free_bits[w] | gh_atomic_load_relaxed(&s->xremote_free_bits[w]);
    n += gh_popcount64((s->alloc_bits[w] | gh_mspan_allocated_below(s->freeindex, w)) & ~freed);
  }
  return n;
}

/* I5: h (swept) or h+3 (swept, then cached); manual spans are never swept by a collection. */
static bool span_swept(const gh_mspan *s) {
  if (!gh_spanclass_collected(s->spanclass)) return true;
  uint32_t sg = gh_atomic_load_relaxed(&s->xsweepgen), h = gh_atomic_load_relaxed(&gh_heap.xsweepgen);
  return sg == h || sg == h + 3;
}

static void dump_span(dump_out *o, const gh_mspan *s) {
  out_record(o, "span");
  out_hex(o, s->start_addr);
  out_u64(o, s->npages);
  out_str(o, gh_span_state_names[gh_atomic_load_relaxed(&s->xstate)]);
  out_u64(o, s->spanclass);
  out_u64(o, gh_spanclass_sizeclass(s->spanclass));
  out_str(o, kind_names[gh_spanclass_kind(s->spanclass)]);
  out_u64(o, s->elemsize);
  out_u64(o, s->nelems);
  out_u64(o, span_allocated(s));
  out_u64(o, span_swept(s));
  out_end(o);
}

/* ---- pages ---------------------------------------------------------------------- */

static bool page_bit(const uint64_t *bits, uint32_t pg) { return bits[pg / 64] >> (pg % 64) & 1; }

static uintptr_t page_addr(const gh_heaparena *a, uint32_t pg) { return a->base + ((uintptr_t)pg << GH_PAGE_SHIFT); }

static void copy_page_bits(const gh_heaparena *a, page_bits *pb) {
  gh_mutex_lock(&gh_heap.lock);
  __builtin_memcpy(pb->alloc, a->pages.alloc, sizeof pb->alloc);
  __builtin_memcpy(pb->scav, a->pages.scav, sizeof pb->scav);
  gh_mutex_unlock(&gh_heap.lock);
}

/* Pages from pg on that have no span and the same alloc and scav bits as pg. */
static uint32_t spanless_run(const gh_heaparena *a, const page_bits *pb, uint32_t pg) {
  bool alloc = page_bit(pb->alloc, pg), scav = page_bit(pb->scav, pg);
  uint32_t end = pg + 1;
  while (end < GH_PAGES_PER_ARENA && !a->spans[end] && page_bit(pb->alloc, end) == alloc &&
         page_bit(pb->scav, end) == scav)
    end++;
  return end - pg;
}

/* The pages of span s from the one at addr to its end or the arena's (I6:
 * every page of an in-use span maps it; 1 if s does not hold addr). */
static uint32_t span_pages_from(const gh_heaparena *a, const gh_mspan *s, uintptr_t addr) {
  uintptr_t end = s->start_addr + ((uintptr_t)s->npages << GH_PAGE_SHIFT);
  uintptr_t arena_end = a->base + GH_ARENA_SIZE;
  if (end > arena_end) end = arena_end;
  return end > addr ? (uint32_t)((end - addr) >> GH_PAGE_SHIFT) : 1;
}

/* Writes the record of the run that starts at page pg; returns its pages in this arena. */
static uint32_t dump_run(dump_out *o, const gh_heaparena *a, const page_bits *pb, uint32_t pg) {
  uintptr_t addr = page_addr(a, pg);
  const gh_mspan *s = a->spans[pg];
  if (s) {
    if (s->start_addr == addr) dump_span(o, s); /* else it started in an earlier arena */
    return span_pages_from(a, s, addr);
  }
  uint32_t n = spanless_run(a, pb, pg);
  out_record(o, page_bit(pb->alloc, pg) ? "reserved" : "free");
  out_hex(o, addr);
  out_u64(o, n);
  if (!page_bit(pb->alloc, pg)) out_u64(o, page_bit(pb->scav, pg));
  out_end(o);
  return n;
}

static void dump_arena_pages(dump_out *o, const gh_heaparena *a) {
  page_bits pb;
  copy_page_bits(a, &pb);
  for (uint32_t pg = 0; pg < GH_PAGES_PER_ARENA;) pg += dump_run(o, a, &pb, pg);
}

/* ---- the dump --------------------------------------------------------------------- */

static void dump_header(dump_out *o) {
  out_record(o, "goheap-heapdump " DUMP_VERSION);
  out_end(o);
  out_record(o, "pid");
  out_u64(o, (uint64_t)gh_os_getpid());
  out_end(o);
  out_record(o, "pagesize");
  out_u64(o, GH_PAGE_SIZE);
  out_end(o);
}

/* gh_gc_stop_and_run's fn, with the world stopped; fdp points to the fd. */
static void write_dump(void *fdp) {
  dump_out o = {.fd = *(int *)fdp};
  o.b = (gh_buf){o.buf, o.buf + sizeof o.buf};
  dump_header(&o);
  for (uint32_t i = 0; i < gh_heap.narenas; i++) {
    out_record(&o, "arena");
    out_hex(&o, gh_heap.all_arenas[i]->base);
    out_u64(&o, GH_ARENA_SIZE);
    out_end(&o);
  }
  for (uint32_t i = 0; i < gh_heap.narenas; i++) dump_arena_pages(&o, gh_heap.all_arenas[i]);
  out_record(&o, "end");
  out_end(&o);
  out_flush(&o);
}

int gh_dump_heap(int fd) {
  gh_ensure_init();
  if (gh_gc_stop_and_run(NULL, write_dump, &fd)) return 0;
  errno = EAGAIN; /* a thread did not stop (reported on stderr) */
  return -1;
}
