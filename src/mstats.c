/*
 * mstats.c -- counters, gh_read_stats, and the heap summary printer.
 * (Go: mstats.go.)
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
#include "internal.h"

GH_DATA gh_class_stats gh_class_stats_tab[GH_NUM_SIZE_CLASSES];
GH_DATA uint64_t gh_large_nmalloc, gh_large_nfree, gh_large_bytes;
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

void gh_read_stats(gh_stats *out) {
  gh_ensure_init();
  gh_mcache *mc = gh_enter();
  if (mc) gh_mcache_flush_stats(mc);
  gh_stats st = {.size = sizeof st, .version = GH_STATS_VERSION};
  gh_class_stats tot[GH_NUM_SIZE_CLASSES];
  class_totals(tot);
  for (uint32_t c = 1; c < GH_NUM_SIZE_CLASSES; c++) {
    uint64_t m = tot[c].nmalloc, f = tot[c].nfree;
    st.mallocs += m;
    st.frees += f;
    st.heap_alloc += (m - f) * gh_class_size(c);
  }
  st.large_allocs = gh_atomic_load_relaxed(&gh_large_nmalloc);
  st.mallocs += st.large_allocs;
  st.frees += gh_atomic_load_relaxed(&gh_large_nfree);
  st.heap_alloc += gh_atomic_load_relaxed(&gh_large_bytes);
  st.heap_objects = st.mallocs - st.frees;
  st.heap_live = gh_atomic_load_relaxed(&gh_heap_live);
  gh_mutex_lock(&gh_heap.lock);
  st.heap_inuse = gh_heap.pages_inuse << GH_PAGE_SHIFT;
  st.heap_idle = gh_heap.pages_free << GH_PAGE_SHIFT;
  st.heap_released = gh_heap.pages_released << GH_PAGE_SHIFT;
  st.heap_sys = gh_heap.pages_committed << GH_PAGE_SHIFT;
  st.num_arenas = gh_heap.narenas;
  gh_mutex_unlock(&gh_heap.lock);
  st.metadata_sys = gh_atomic_load_relaxed(&gh_metadata_bytes);
  st.num_threads = gh_world_num_threads();
  gh_gc_fill_stats(&st);
  gh_leave(mc);
  uint32_t n = out->size < sizeof st ? out->size : (uint32_t)sizeof st;
  if (n < 8) return;
  st.size = out->size;
  __builtin_memcpy(out, &st, n);
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
static void print_classes(int fd, char *msg, gh_buf *b) {
  uint64_t bytes[GH_NUM_SIZE_CLASSES] = {0};
  gh_class_stats tot[GH_NUM_SIZE_CLASSES];
  class_totals(tot);
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

/* Sweeps what frees have queued first, so that the summary shows live objects
 * rather than frees not yet merged (gh_read_stats itself stays cheap). */
void gh_print_stats(int fd) {
  gh_stats st = {.size = sizeof st};
  gh_ensure_init();
  gh_mcache *c = gh_enter();
  gh_mheap_reclaim(UINTPTR_MAX);
  gh_leave(c);
  gh_read_stats(&st);
  char msg[256];
  gh_buf b = {msg, msg + sizeof msg - 1};
  gh_buf_str(&b, "goheap " GH_VERSION_STRING " heap summary (pid ");
  gh_buf_u64(&b, (uint64_t)gh_os_getpid());
  gh_buf_str(&b, ")");
  line(&b, fd, msg);
  gh_buf_str(&b, "  objects      ");
  gh_buf_bytes(&b, st.heap_alloc);
  gh_buf_str(&b, " in ");
  gh_buf_u64(&b, st.heap_objects);
  gh_buf_str(&b, " live objects (");
  gh_buf_u64(&b, st.mallocs);
  gh_buf_str(&b, " allocated, ");
  gh_buf_u64(&b, st.frees);
  gh_buf_str(&b, " freed, ");
  gh_buf_u64(&b, st.large_allocs);
  gh_buf_str(&b, " of them large)");
  line(&b, fd, msg);
  gh_buf_str(&b, "  heap in use  ");
  gh_buf_bytes(&b, st.heap_inuse);
  gh_buf_str(&b, " in spans; idle ");
  gh_buf_bytes(&b, st.heap_idle);
  gh_buf_str(&b, ", of which released to the OS ");
  gh_buf_bytes(&b, st.heap_released);
  line(&b, fd, msg);
  gh_buf_str(&b, "  committed    ");
  gh_buf_bytes(&b, st.heap_sys);
  gh_buf_str(&b, " in ");
  gh_buf_u64(&b, st.num_arenas);
  gh_buf_str(&b, " arena(s) of 64 MiB; metadata ");
  gh_buf_bytes(&b, st.metadata_sys);
  gh_buf_str(&b, "; RSS now ");
  gh_buf_bytes(&b, gh_os_rss());
  line(&b, fd, msg);
  gh_buf_str(&b, "  threads      ");
  gh_buf_u64(&b, st.num_threads);
  gh_buf_str(&b, " with a cache; bad calls reported ");
  gh_buf_u64(&b, gh_error_count());
  line(&b, fd, msg);
  print_classes(fd, msg, &b);
}

/* Programs such as coreutils close stderr in their own exit handlers, which
 * run before this destructor: with GOHEAP_STATS on, a copy of fd 2 is kept. */
static GH_DATA int stats_fd = 2;

void gh_stats_init(void) {
  if (gh_option_get(GH_OPT_STATS)) stats_fd = gh_os_dup_stderr();
}

__attribute__((destructor)) static void stats_at_exit(void) {
  if (gh_atomic_load_acquire(&gh_initialized) && gh_option_get(GH_OPT_STATS)) gh_print_stats(stats_fd);
}
