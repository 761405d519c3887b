/*
 * mstats.c -- counters, gh_read_stats, the heap summary (text and JSON), and
 * GOHEAP_STATS at exit. (Go: mstats.go, metrics.go.)
 *
 * Allocation counts are not kept on the fast path: like Go, goheap counts a
 * span's allocations from its alloc_count when the span is swept or leaves an
 * mcache (gh_mspan_flush_nmalloc), and frees when a sweep merges them. So an
 * object freed but not yet swept still counts as allocated, and allocations
 * from spans other threads hold cached are counted when those spans are next
 * swept; gh_read_stats first sweeps the calling thread's own cached spans.
 * Sweeps by a span's owner count into its mcache's table with plain stores
 * (no atomic on that path); gh_read_stats adds every live thread's table.
 * Page counters come from the heap (mheap.c), under its lock.
 */
#include <errno.h>

#include "internal.h"

GH_DATA gh_class_stats gh_class_stats_tab[GH_NUM_SIZE_CLASSES];
GH_DATA uint64_t gh_large_nmalloc, gh_large_nfree, gh_large_bytes, gh_large_bytes_total;
GH_DATA uint64_t gh_heap_live;

void gh_stats_count(gh_class_stats *local, uint32_t c, uint64_t nmalloc, uint64_t nfree) {
  if (local) { /* only its thread writes it: no read-modify-write needed */
    gh_atomic_store_relaxed(&local[c].nmalloc, local[c].nmalloc + nmalloc);
    gh_atomic_store_relaxed(&local[c].nfree, local[c].nfree + nfree);
    return;
  }
  if (nmalloc) gh_atomic_add(&gh_class_stats_tab[c].nmalloc, nmalloc);
  if (nfree) gh_atomic_add(&gh_class_stats_tab[c].nfree, nfree);
}

void gh_stats_flush_local(gh_class_stats *local) {
  for (uint32_t c = 1; c < GH_NUM_SIZE_CLASSES; c++) {
    gh_stats_count(NULL, c, local[c].nmalloc, local[c].nfree);
    gh_atomic_store_relaxed(&local[c].nmalloc, 0);
    gh_atomic_store_relaxed(&local[c].nfree, 0);
  }
}

void gh_stats_add_local(gh_class_stats *sum, const gh_class_stats *local) {
  for (uint32_t c = 1; c < GH_NUM_SIZE_CLASSES; c++) {
    sum[c].nmalloc += gh_atomic_load_relaxed(&local[c].nmalloc);
    sum[c].nfree += gh_atomic_load_relaxed(&local[c].nfree);
  }
}

/* Global counts plus every live thread's own. */
static void class_totals(gh_class_stats *sum) {
  for (uint32_t c = 1; c < GH_NUM_SIZE_CLASSES; c++) {
    sum[c].nmalloc = gh_atomic_load_relaxed(&gh_class_stats_tab[c].nmalloc);
    sum[c].nfree = gh_atomic_load_relaxed(&gh_class_stats_tab[c].nfree);
  }
  gh_world_sum_local_stats(sum);
}

/* One reading of every counter: gh_read_stats's numbers together with the
 * per-class and large-object counts they are summed from, so a report made
 * from it adds up exactly even while other threads allocate. */
typedef struct snapshot {
  gh_stats st;
  gh_class_stats cls[GH_NUM_SIZE_CLASSES];
  uint64_t large_frees, large_bytes;
  uint64_t alloc_bytes;    /* cumulative: class size x mallocs, plus every large block's pages */
} snapshot;

static void take_snapshot(snapshot *s) {
  gh_ensure_init();
  gh_mcache *mc = gh_enter();
  if (mc) gh_mcache_flush_stats(mc);
  gh_stats *st = &s->st;
  *st = (gh_stats){.size = sizeof *st, .version = GH_STATS_VERSION};
  s->alloc_bytes = 0;
  class_totals(s->cls);
  for (uint32_t c = 1; c < GH_NUM_SIZE_CLASSES; c++) {
    uint64_t m = s->cls[c].nmalloc, f = s->cls[c].nfree;
    st->mallocs += m;
    st->frees += f;
    st->heap_alloc += (m - f) * gh_class_size(c);
    s->alloc_bytes += m * gh_class_size(c);
  }
  s->alloc_bytes += gh_atomic_load_relaxed(&gh_large_bytes_total);
  st->large_allocs = gh_atomic_load_relaxed(&gh_large_nmalloc);
  s->large_frees = gh_atomic_load_relaxed(&gh_large_nfree);
  s->large_bytes = gh_atomic_load_relaxed(&gh_large_bytes);
  st->mallocs += st->large_allocs;
  st->frees += s->large_frees;
  st->heap_alloc += s->large_bytes;
  st->heap_objects = st->mallocs - st->frees;
  st->heap_live = gh_atomic_load_relaxed(&gh_heap_live);
  gh_mutex_lock(&gh_heap.lock);
  st->heap_inuse = gh_heap.pages_inuse << GH_PAGE_SHIFT;
  st->heap_idle = gh_heap.pages_free << GH_PAGE_SHIFT;
  st->heap_released = gh_heap.pages_released << GH_PAGE_SHIFT;
  st->heap_sys = gh_heap.pages_committed << GH_PAGE_SHIFT;
  st->num_arenas = gh_heap.narenas;
  gh_mutex_unlock(&gh_heap.lock);
  st->metadata_sys = gh_atomic_load_relaxed(&gh_metadata_bytes);
  st->num_threads = gh_world_num_threads();
  gh_gc_fill_stats(st);
  gh_leave(mc);
}

/* The arenas' range (all_arenas is in address order). */
void gh_heap_range(void **lo, void **hi) {
  gh_ensure_init();
  gh_mcache *c = gh_enter();
  gh_mutex_lock(&gh_heap.lock);
  uint32_t n = gh_heap.narenas;
  *lo = n ? (void *)gh_heap.all_arenas[0]->base : NULL;
  *hi = n ? (void *)(gh_heap.all_arenas[n - 1]->base + GH_ARENA_SIZE) : NULL;
  gh_mutex_unlock(&gh_heap.lock);
  gh_leave(c);
}

void gh_read_stats(gh_stats *out) {
  snapshot s;
  take_snapshot(&s);
  uint32_t n = out->size < sizeof s.st ? out->size : (uint32_t)sizeof s.st;
  if (n < 8) return;
  s.st.size = out->size;
  __builtin_memcpy(out, &s.st, n);
}

/* Sweeps what frees have queued first, so that the reports show live objects
 * rather than frees not yet merged (gh_read_stats itself stays cheap). */
static void settled_snapshot(snapshot *s) {
  gh_ensure_init();
  gh_mcache *c = gh_enter();
  gh_mheap_reclaim(UINTPTR_MAX);
  gh_leave(c);
  take_snapshot(s);
}

static void line(gh_buf *b, int fd, char *start) {
  gh_buf_str(b, "\n");
  gh_os_write_fd(fd, start, (size_t)(b->p - start));
  b->p = start;
}

/* Pads the number to `width` characters on the left. */
static void u64_padded(gh_buf *b, uint64_t v, int width) {
  int digits = 1;
  for (uint64_t x = v; x >= 10; x /= 10) digits++;
  for (; digits < width; digits++) gh_buf_str(b, " ");
  gh_buf_u64(b, v);
}

/* The five size classes with the most live bytes. */
static void print_classes(int fd, char *msg, gh_buf *b, const gh_class_stats *tot) {
  uint64_t bytes[GH_NUM_SIZE_CLASSES] = {0};
  for (uint32_t c = 1; c < GH_NUM_SIZE_CLASSES; c++) bytes[c] = (tot[c].nmalloc - tot[c].nfree) * gh_class_size(c);
  gh_buf_str(b, "  busiest size classes (class, object size, live objects, live bytes):");
  line(b, fd, msg);
  for (int k = 0; k < 5; k++) {
    uint32_t best = 0;
    for (uint32_t c = 1; c < GH_NUM_SIZE_CLASSES; c++)
      if (bytes[c] > bytes[best]) best = c;
    if (best == 0) break;
    gh_buf_str(b, "    ");
    u64_padded(b, best, 5);
    u64_padded(b, gh_class_size(best), 8);
    gh_buf_str(b, " B");
    u64_padded(b, bytes[best] / gh_class_size(best), 12);
    gh_buf_str(b, "   ");
    gh_buf_bytes(b, bytes[best]);
    line(b, fd, msg);
    bytes[best] = 0;
  }
}

void gh_print_stats(int fd) {
  snapshot s;
  settled_snapshot(&s);
  const gh_stats *st = &s.st;
  char msg[256];
  gh_buf b = {msg, msg + sizeof msg - 1};
  gh_buf_str(&b, "goheap " GH_VERSION_STRING " heap summary (pid ");
  gh_buf_u64(&b, (uint64_t)gh_os_getpid());
  gh_buf_str(&b, ")");
  line(&b, fd, msg);
  gh_buf_str(&b, "  objects      ");
  gh_buf_bytes(&b, st->heap_alloc);
  gh_buf_str(&b, " in ");
  gh_buf_u64(&b, st->heap_objects);
  gh_buf_str(&b, " live objects (");
  gh_buf_u64(&b, st->mallocs);
  gh_buf_str(&b, " allocated, ");
  gh_buf_u64(&b, st->frees);
  gh_buf_str(&b, " freed, ");
  gh_buf_u64(&b, st->large_allocs);
  gh_buf_str(&b, " of them large)");
  line(&b, fd, msg);
  gh_buf_str(&b, "  heap in use  ");
  gh_buf_bytes(&b, st->heap_inuse);
  gh_buf_str(&b, " in spans; idle ");
  gh_buf_bytes(&b, st->heap_idle);
  gh_buf_str(&b, ", of which released to the OS ");
  gh_buf_bytes(&b, st->heap_released);
  line(&b, fd, msg);
  gh_buf_str(&b, "  committed    ");
  gh_buf_bytes(&b, st->heap_sys);
  gh_buf_str(&b, " in ");
  gh_buf_u64(&b, st->num_arenas);
  gh_buf_str(&b, " arena(s) of 64 MiB; metadata ");
  gh_buf_bytes(&b, st->metadata_sys);
  gh_buf_str(&b, "; RSS now ");
  gh_buf_bytes(&b, gh_os_rss());
  line(&b, fd, msg);
  gh_buf_str(&b, "  threads      ");
  gh_buf_u64(&b, st->num_threads);
  gh_buf_str(&b, " with a cache; bad calls reported ");
  gh_buf_u64(&b, gh_error_count());
  line(&b, fd, msg);
  print_classes(fd, msg, &b, s.cls);
}

/* ---- gh_print_stats_json ------------------------------------------------------------
 *
 * One JSON object, written in pieces from a stack buffer (no allocation):
 *
 *   goheap_version   "0.1.0"
 *   pid              the process id
 *   metrics          Go's runtime/metrics names, where goheap counts the same thing:
 *     /cpu/classes/gc/total:cpu-seconds  gc_cpu_ns as seconds (a float). Measured: the mark
 *                      workers' thread CPU time plus the collecting thread's stopped
 *                      phases; Go estimates it, counting each pause GOMAXPROCS times
 *     /gc/cycles/automatic:gc-cycles     num_gc - num_forced_gc
 *     /gc/cycles/forced:gc-cycles        num_forced_gc
 *     /gc/cycles/total:gc-cycles         num_gc
 *     /gc/finalizers/executed:finalizers finalizers_run (a newer Go's name)
 *     /gc/gogc:percent                   gc_percent; left out when GOGC=off (Go wraps
 *                      its -1 to 2^64-1)
 *     /gc/gomemlimit:bytes               the limit set by GOHEAP_MEMLIMIT or
 *                      gh_set_memory_limit, INT64_MAX if none (as Go); stats.memory_limit
 *                      is the one in effect, which the cgroup's limit may lower
 *     /gc/heap/allocs:objects            mallocs: a tiny block counts once, as in Go
 *     /gc/heap/frees:objects             frees: explicit frees too (Go has only the collector's)
 *     /gc/heap/goal:bytes                next_gc; left out when there is no goal
 *                      (GOGC=off and no limit)
 *     /gc/heap/live:bytes                heap_marked (manual objects count as marked)
 *     /gc/heap/objects:objects           heap_objects
 *     /memory/classes/heap/free:bytes    heap_idle - heap_released
 *     /memory/classes/heap/objects:bytes heap_alloc
 *     /memory/classes/heap/released:bytes heap_released
 *     /memory/classes/heap/unused:bytes  heap_inuse - heap_alloc (0 if a free ran between
 *                      the two readings)
 *     /memory/classes/metadata/other:bytes metadata_sys: all of goheap's metadata (Go
 *                      lists its mspan and mcache structures apart)
 *     /memory/classes/total:bytes        heap_sys + metadata_sys, the sum of the classes
 *     /gc/heap/allocs:bytes              cumulative bytes of objects allocated, at their
 *                      size class's size (as Go), large blocks at their pages (growing
 *                      in place counts the new pages)
 *     /gc/heap/frees:bytes               allocs:bytes - objects:bytes
 *     Left out: /gc/pauses:seconds
 *     (a histogram in Go: see pauses_ns), /gc/heap/tiny/allocs:objects (not counted).
 *   stats            every field of gh_stats (goheap.h) but pause_ns, under its own name
 *   pauses_ns        the last min(num_gc, 256) stop-the-world pauses, oldest first
 *   size_classes     per size class with mallocs > 0, by class: class, size (bytes per
 *                    object), mallocs, frees (cumulative), live_objects, live_bytes; collected
 *                    and malloc'd objects of a size share a class
 *   large            objects > 32 KiB: mallocs, frees (cumulative), live_bytes (page-rounded)
 * Summed over size_classes plus large: live_bytes is stats.heap_alloc, mallocs and frees
 * are stats.mallocs and stats.frees (all from one reading).
 */

/* The writer: values go out through buf; an object or array is written on
 * one line (`flat`) or one member per line. */
typedef struct json {
  int fd;
  char *p;
  int depth;
  bool first[4], flat[4]; /* per nesting level: the document, then 3 deep at most */
  char buf[1024];
} json;

static void json_flush(json *j) {
  gh_os_write_fd(j->fd, j->buf, (size_t)(j->p - j->buf));
  j->p = j->buf;
}

static void json_put(json *j, const char *s) {
  for (; *s; s++) {
    if (j->p == j->buf + sizeof j->buf) json_flush(j);
    *j->p++ = *s;
  }
}

static void json_newline(json *j) {
  json_put(j, "\n");
  for (int i = 0; i < j->depth; i++) json_put(j, "  ");
}

/* Starts a member: the comma after the previous one, a new line unless the
 * object or array is flat, and the key unless it is an array (goheap's own
 * names: nothing to escape). */
static void json_next(json *j, const char *key) {
  if (!j->first[j->depth]) json_put(j, j->flat[j->depth] ? ", " : ",");
  if (!j->flat[j->depth]) json_newline(j);
  j->first[j->depth] = false;
  if (!key) return;
  json_put(j, "\"");
  json_put(j, key);
  json_put(j, "\": ");
}

static void json_open(json *j, const char *key, const char *bracket, bool flat) {
  json_next(j, key);
  json_put(j, bracket);
  j->depth++;
  j->first[j->depth] = true;
  j->flat[j->depth] = flat;
}

static void json_close(json *j, const char *bracket) {
  bool newline = !j->flat[j->depth] && !j->first[j->depth];
  j->depth--;
  if (newline) json_newline(j);
  json_put(j, bracket);
}

static void json_u64(json *j, const char *key, uint64_t v) {
  char t[24];
  gh_buf b = {t, t + sizeof t - 1};
  gh_buf_u64(&b, v);
  *b.p = 0;
  json_next(j, key);
  json_put(j, t);
}

static void json_i64(json *j, const char *key, int64_t v) {
  char t[24];
  gh_buf b = {t, t + sizeof t - 1};
  if (v < 0) gh_buf_str(&b, "-");
  gh_buf_u64(&b, v < 0 ? (uint64_t)-(v + 1) + 1 : (uint64_t)v);
  *b.p = 0;
  json_next(j, key);
  json_put(j, t);
}

/* Nanoseconds as seconds, with nine decimals. */
static void json_seconds(json *j, const char *key, uint64_t ns) {
  char t[32];
  gh_buf b = {t, t + sizeof t - 1};
  gh_buf_u64(&b, ns / 1000000000);
  gh_buf_str(&b, ".");
  for (uint64_t d = 100000000; d; d /= 10) gh_buf_u64(&b, ns / d % 10);
  *b.p = 0;
  json_next(j, key);
  json_put(j, t);
}

static void json_metrics(json *j, const snapshot *s) {
  const gh_stats *st = &s->st;
  json_open(j, "metrics", "{", false);
  json_seconds(j, "/cpu/classes/gc/total:cpu-seconds", st->gc_cpu_ns);
  json_u64(j, "/gc/cycles/automatic:gc-cycles", st->num_gc - st->num_forced_gc);
  json_u64(j, "/gc/cycles/forced:gc-cycles", st->num_forced_gc);
  json_u64(j, "/gc/cycles/total:gc-cycles", st->num_gc);
  json_u64(j, "/gc/finalizers/executed:finalizers", st->finalizers_run);
  if (st->gc_percent >= 0) json_u64(j, "/gc/gogc:percent", (uint64_t)st->gc_percent);
  json_u64(j, "/gc/gomemlimit:bytes", (uint64_t)gh_set_memory_limit(-1));
  json_u64(j, "/gc/heap/allocs:bytes", s->alloc_bytes);
  json_u64(j, "/gc/heap/allocs:objects", st->mallocs);
  json_u64(j, "/gc/heap/frees:bytes", s->alloc_bytes - st->heap_alloc);
  json_u64(j, "/gc/heap/frees:objects", st->frees);
  if (st->next_gc) json_u64(j, "/gc/heap/goal:bytes", st->next_gc);
  json_u64(j, "/gc/heap/live:bytes", st->heap_marked);
  json_u64(j, "/gc/heap/objects:objects", st->heap_objects);
  json_u64(j, "/memory/classes/heap/free:bytes", st->heap_idle - st->heap_released);
  json_u64(j, "/memory/classes/heap/objects:bytes", st->heap_alloc);
  json_u64(j, "/memory/classes/heap/released:bytes", st->heap_released);
  json_u64(j, "/memory/classes/heap/unused:bytes",
           st->heap_inuse > st->heap_alloc ? st->heap_inuse - st->heap_alloc : 0);
  json_u64(j, "/memory/classes/metadata/other:bytes", st->metadata_sys);
  json_u64(j, "/memory/classes/total:bytes", st->heap_sys + st->metadata_sys);
  json_close(j, "}");
}

#define STAT(f) json_u64(j, #f, st->f)
static void json_stats(json *j, const gh_stats *st) {
  json_open(j, "stats", "{", false);
  STAT(size); STAT(version); STAT(heap_alloc); STAT(heap_objects); STAT(heap_inuse);
  STAT(heap_idle); STAT(heap_released); STAT(heap_sys); STAT(metadata_sys);
  STAT(mallocs); STAT(frees); STAT(large_allocs); STAT(num_arenas); STAT(num_threads);
  STAT(heap_live); STAT(num_gc); STAT(next_gc); STAT(pause_total_ns); STAT(heap_marked);
  STAT(num_forced_gc); STAT(last_gc_ns);
  json_i64(j, "memory_limit", st->memory_limit);
  json_i64(j, "gc_percent", st->gc_percent);
  STAT(finalizers_run); STAT(gc_cpu_ns);
  json_close(j, "}");
}
#undef STAT

static void json_pauses(json *j, const gh_stats *st) {
  uint64_t n = st->num_gc < GH_STATS_NPAUSE ? st->num_gc : GH_STATS_NPAUSE;
  json_open(j, "pauses_ns", "[", true);
  for (uint64_t k = st->num_gc - n; k < st->num_gc; k++) json_u64(j, NULL, st->pause_ns[k % GH_STATS_NPAUSE]);
  json_close(j, "]");
}

static void json_classes(json *j, const snapshot *s) {
  json_open(j, "size_classes", "[", false);
  for (uint32_t c = 1; c < GH_NUM_SIZE_CLASSES; c++) {
    uint64_t m = s->cls[c].nmalloc, f = s->cls[c].nfree;
    if (m == 0) continue;
    json_open(j, NULL, "{", true);
    json_u64(j, "class", c);
    json_u64(j, "size", gh_class_size(c));
    json_u64(j, "mallocs", m);
    json_u64(j, "frees", f);
    json_u64(j, "live_objects", m - f);
    json_u64(j, "live_bytes", (m - f) * gh_class_size(c));
    json_close(j, "}");
  }
  json_close(j, "]");
  json_open(j, "large", "{", true);
  json_u64(j, "mallocs", s->st.large_allocs);
  json_u64(j, "frees", s->large_frees);
  json_u64(j, "live_bytes", s->large_bytes);
  json_close(j, "}");
}

void gh_print_stats_json(int fd) {
  snapshot s;
  settled_snapshot(&s);
  json j = {.fd = fd, .p = j.buf, .first = {true}, .flat = {true}};
  json_open(&j, NULL, "{", false);
  json_next(&j, "goheap_version");
  json_put(&j, "\"" GH_VERSION_STRING "\"");
  json_u64(&j, "pid", (uint64_t)gh_os_getpid());
  json_metrics(&j, &s);
  json_stats(&j, &s.st);
  json_pauses(&j, &s.st);
  json_classes(&j, &s);
  json_close(&j, "}");
  json_put(&j, "\n");
  json_flush(&j);
}

/* ---- at exit: GOHEAP_STATS=1|json, GOHEAP_STATS_FILE ---------------------------------- */

enum { STATS_TEXT = 1, STATS_JSON = 2 }; /* GOHEAP_STATS's values (options.c) */

/* Programs such as coreutils close stderr in their own exit handlers, which
 * run before this destructor: with GOHEAP_STATS on, a copy of fd 2 is kept
 * (also with GOHEAP_STATS_FILE: it is the fallback). */
static GH_DATA int stats_fd = 2;

void gh_stats_init(void) {
  if (gh_option_get(GH_OPT_STATS)) stats_fd = gh_os_dup_stderr();
}

/* GOHEAP_STATS_FILE if set and it opens, else the copy of stderr (after a
 * warning there if the file would not open). */
static int stats_output(void) {
  const char *path = gh_option_path(GH_OPT_STATS_FILE);
  if (!path) return stats_fd;
  int fd = gh_os_open_output(path);
  if (fd >= 0) return fd;
  gh_report_output_error(stats_fd, "GOHEAP_STATS_FILE", path);
  return stats_fd;
}

/* From leakcheck.c's exit-time sequence. */
void gh_stats_at_exit(void) {
  int64_t mode = gh_option_get(GH_OPT_STATS);
  if (mode != STATS_TEXT && mode != STATS_JSON) return;
  int fd = stats_output();
  if (mode == STATS_JSON) gh_print_stats_json(fd);
  else gh_print_stats(fd);
  if (fd != stats_fd) gh_os_close(fd);
}
