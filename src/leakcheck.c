/*
 * leakcheck.c -- the leak check: which malloc'd blocks can the program no
 * longer reach? (LeakSanitizer's question, answered with the collector's
 * mark; Go has no explicit frees, so no counterpart.)
 *
 * With the world stopped between two collections (mgc.c:gh_gc_stop_and_run):
 *   1. mark from the roots with manual objects marked and scanned instead of
 *      being roots (mgcmark.c:gh_gc_mark_leaks; the roots also take in the
 *      program's own anonymous mappings);
 *   2. list every allocated manual object left unmarked (a freed object
 *      whose free is not swept yet is not allocated), with the stack and
 *      requested size its profile record holds (every allocation has one
 *      with GOHEAP_LEAKCHECK=1, which samples them all);
 *   3. mark from each listed object not marked yet, in turn, not counting
 *      its pointers to itself: a listed object some other listed one reaches
 *      is an "indirect" leak, the others "direct" (LeakSanitizer's terms: a
 *      lost list is one direct leak, its head, and indirect ones, its nodes;
 *      of a lost cycle the object at the lowest address is direct, as
 *      valgrind reports it, where LeakSanitizer calls the whole cycle
 *      indirect);
 *   4. add the objects up per (stack, direct or not), clear every mark bit
 *      (I7), and restart the world.
 * Then the report, largest groups first, direct before indirect, each stack
 * symbolized as far as the dynamic symbol tables go (function+offset and
 * object+offset; addr2line can take the object offsets further).
 *
 * At exit (GOHEAP_LEAKCHECK=1) the check is the last of goheap's exit-time
 * reports (malloc.c): it may end the process with GOHEAP_LEAKCHECK_EXITCODE.
 *
 * Memory: the lists live in metadata mappings, released before returning.
 */
#include "internal.h"

typedef struct leak {
  uintptr_t p;
  gh_bucket *b;   /* NULL: the allocation was not sampled */
  uint64_t size;  /* bytes requested, or the slot's size if unknown */
} leak;

typedef struct group {
  gh_bucket *b;
  bool direct;
  uint64_t count, bytes;
} group;

typedef struct leak_state {
  leak *leaks;
  uint32_t nleaks, leaks_cap;
  group *groups;         /* open addressing on (b, direct) */
  uint32_t groups_cap;
  uint64_t direct_bytes, indirect_bytes, direct_count, indirect_count;
  uint32_t span_first;   /* the current span's first entry in leaks */
  bool complete, out_of_memory;
} leak_state;

/* ---- steps 2-4, world stopped -------------------------------------------------------- */

static void add_leak(leak_state *st, uintptr_t p, uint64_t size) {
  if (st->nleaks == st->leaks_cap &&
      !gh_metadata_grow((void **)&st->leaks, &st->leaks_cap, st->nleaks, sizeof *st->leaks, 1024)) {
    st->out_of_memory = true;
    return;
  }
  st->leaks[st->nleaks++] = (leak){p, NULL, size};
}

/* A profile record of the current span: the leak at p, if listed, gets its
 * stack and size. Both go up in address order, so one pass merges them. */
static void attach_profile(uintptr_t p, gh_bucket *b, uint64_t size, void *arg) {
  leak_state *st = arg;
  while (st->span_first < st->nleaks && st->leaks[st->span_first].p < p) st->span_first++;
  if (st->span_first < st->nleaks && st->leaks[st->span_first].p == p) {
    st->leaks[st->span_first].b = b;
    st->leaks[st->span_first].size = size;
  }
}

static void list_span(gh_mspan *s, void *arg) {
  leak_state *st = arg;
  if (gh_spanclass_collected(s->spanclass)) return;
  uint32_t first = st->nleaks;
  if (gh_spanclass_is_large(s->spanclass)) {
    if (!gh_gc_is_marked(s, s->start_addr)) add_leak(st, s->start_addr, s->limit - s->start_addr);
  } else {
    for (uint32_t i = 0; i < s->nelems; i++) {
      uintptr_t p = s->start_addr + (uintptr_t)i * s->elemsize;
      if (gh_mspan_is_live(s, i) && !gh_gc_is_marked(s, p)) add_leak(st, p, s->elemsize);
    }
  }
  if (first == st->nleaks || !s->specials) return;
  st->span_first = first;
  gh_special_each_profile(s, attach_profile, st);
}

static uintptr_t object_end(const gh_mspan *s, uintptr_t p) {
  return gh_spanclass_is_large(s->spanclass) ? s->limit : p + s->elemsize;
}

static void add_to_group(leak_state *st, const leak *l, bool direct) {
  uint64_t h = ((uintptr_t)l->b * 0x9E3779B97F4A7C15ull ^ direct) >> 16;
  for (uint32_t k = 0;; k++) {
    group *g = &st->groups[(h + k) % st->groups_cap];
    if (g->count == 0) *g = (group){.b = l->b, .direct = direct};
    if (g->b != l->b || g->direct != direct) continue;
    g->count++;
    g->bytes += l->size;
    return;
  }
}

static void classify(leak_state *st) {
  for (uint32_t i = 0; i < st->nleaks; i++) { /* a marked one's own reach is marked already */
    gh_mspan *s = gh_span_of(st->leaks[i].p);
    if (!gh_gc_is_marked(s, st->leaks[i].p)) gh_gc_mark_from_object(s, st->leaks[i].p, object_end(s, st->leaks[i].p));
  }
  st->groups_cap = st->nleaks * 2 + 16;
  st->groups = gh_os_alloc_metadata(st->groups_cap * sizeof *st->groups);
  if (!st->groups) {
    st->out_of_memory = true;
    return;
  }
  for (uint32_t i = 0; i < st->nleaks; i++) {
    const leak *l = &st->leaks[i];
    bool direct = !gh_gc_is_marked(gh_span_of(l->p), l->p);
    add_to_group(st, l, direct);
    *(direct ? &st->direct_bytes : &st->indirect_bytes) += l->size;
    *(direct ? &st->direct_count : &st->indirect_count) += 1;
  }
}

static void check_stopped(void *arg) {
  leak_state *st = arg;
  st->complete = gh_gc_mark_leaks();
  gh_mheap_each_span(list_span, st);
  if (st->nleaks) classify(st);
  gh_gc_end_leak_mark();
}

/* ---- the report ------------------------------------------------------------------------ */

static void flush(gh_buf *b, char *start, int fd) {
  gh_os_write_fd(fd, start, (size_t)(b->p - start));
  b->p = start;
}

static void frame(gh_buf *b, uint32_t k, uintptr_t ra) {
  uintptr_t pc = ra - 1, base = 0, saddr = 0;
  const char *object = NULL, *symbol = NULL;
  gh_buf_str(b, "    #");
  gh_buf_u64(b, k);
  gh_buf_str(b, " ");
  gh_buf_hex(b, pc);
  if (!gh_os_symbolize(pc, &object, &base, &symbol, &saddr)) {
    gh_buf_str(b, "\n");
    return;
  }
  if (symbol) {
    gh_buf_str(b, " in ");
    gh_buf_str(b, symbol);
    gh_buf_str(b, "+");
    gh_buf_hex(b, pc - saddr);
  }
  gh_buf_str(b, " (");
  gh_buf_str(b, object);
  gh_buf_str(b, "+");
  gh_buf_hex(b, pc - base);
  gh_buf_str(b, ")\n");
}

static void print_group(int fd, const group *g) {
  char line[1024];
  gh_buf b = {line, line + sizeof line - 1};
  gh_buf_str(&b, g->direct ? "\nDirect leak of " : "\nIndirect leak of ");
  gh_buf_u64(&b, g->bytes);
  gh_buf_str(&b, " byte(s) in ");
  gh_buf_u64(&b, g->count);
  gh_buf_str(&b, " object(s) allocated from:\n");
  flush(&b, line, fd);
  if (!g->b) gh_buf_str(&b, "    (stack not recorded: run with GOHEAP_LEAKCHECK=1 to record every allocation's)\n");
  for (uint32_t k = 0; g->b && k < g->b->nstk; k++) {
    frame(&b, k, g->b->stk[k]);
    flush(&b, line, fd);
  }
  flush(&b, line, fd);
}

/* The biggest group not printed yet, direct ones first; NULL when done. */
static group *next_group(leak_state *st) {
  group *best = NULL;
  for (uint32_t i = 0; i < st->groups_cap; i++) {
    group *g = &st->groups[i];
    if (!g->count) continue;
    if (!best || g->direct > best->direct || (g->direct == best->direct && g->bytes > best->bytes)) best = g;
  }
  return best;
}

static void summary(int fd, const leak_state *st) {
  char line[512];
  gh_buf b = {line, line + sizeof line - 1};
  gh_buf_str(&b, "\nSUMMARY: goheap: ");
  gh_buf_u64(&b, st->direct_bytes + st->indirect_bytes);
  gh_buf_str(&b, " byte(s) leaked in ");
  gh_buf_u64(&b, st->direct_count + st->indirect_count);
  gh_buf_str(&b, " allocation(s) (direct: ");
  gh_buf_u64(&b, st->direct_bytes);
  gh_buf_str(&b, " bytes in ");
  gh_buf_u64(&b, st->direct_count);
  gh_buf_str(&b, ", indirect: ");
  gh_buf_u64(&b, st->indirect_bytes);
  gh_buf_str(&b, " bytes in ");
  gh_buf_u64(&b, st->indirect_count);
  gh_buf_str(&b, ").\n");
  if (!st->complete) gh_buf_str(&b, "goheap: note: some of goheap's metadata could not be left out of the roots; "
                                     "a few leaks may have been missed.\n");
  if (st->out_of_memory) gh_buf_str(&b, "goheap: note: out of memory while listing leaks; the report is partial.\n");
  flush(&b, line, fd);
}

static void report(int fd, leak_state *st) {
  char line[256];
  gh_buf b = {line, line + sizeof line - 1};
  gh_buf_str(&b, "=================================================================\n==");
  gh_buf_u64(&b, (uint64_t)gh_os_getpid());
  gh_buf_str(&b, "==goheap: detected memory leaks\n");
  flush(&b, line, fd);
  for (group *g; st->groups && (g = next_group(st)) != NULL; g->count = 0) print_group(fd, g);
  summary(fd, st);
}

uint64_t gh_check_leaks(int fd) {
  gh_ensure_init();
  leak_state st = {0};
  if (!gh_gc_stop_and_run(gh_gc_prepare_leak_mark, check_stopped, &st)) return 0;
  uint64_t leaked = st.direct_bytes + st.indirect_bytes;
  if (fd >= 0 && (st.nleaks || st.out_of_memory)) report(fd, &st);
  if (st.leaks) gh_os_release(st.leaks, st.leaks_cap * sizeof *st.leaks);
  if (st.groups) gh_os_release(st.groups, st.groups_cap * sizeof *st.groups);
  return leaked;
}

/* ---- at exit -------------------------------------------------------------------------- */

static GH_DATA int report_fd = 2; /* a copy of stderr: programs may close theirs first */

__attribute__((constructor)) static void leakcheck_init(void) {
  gh_options_init();
  if (gh_option_get(GH_OPT_LEAKCHECK)) report_fd = gh_os_dup_stderr();
}

/* GOHEAP_LEAKCHECK=1: the last of the exit-time reports (malloc.c), as it may end the process. */
void gh_leak_at_exit(void) {
  if (!gh_option_get(GH_OPT_LEAKCHECK)) return;
  int code = (int)gh_option_get(GH_OPT_LEAKCHECK_EXITCODE);
  if (gh_check_leaks(report_fd) && code) gh_os_exit_now(code);
}
