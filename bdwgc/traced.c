/*
 * bdwgc/traced.c -- the objects libgc.so.1 traces itself: objects of a kind
 * with a mark procedure (GC_new_kind with GC_MAKE_PROC) and objects with a
 * layout (GC_malloc_explicitly_typed, GC_calloc_explicitly_typed).  goheap
 * scans collected objects conservatively in full or not at all (noscan);
 * what it cannot do by itself is done here, from its mark callback
 * (include/goheap.h: gh_set_mark_callback), with the world stopped:
 *
 *   - an object with a layout is allocated noscan and traced here word by
 *     word: only the words its descriptor names keep objects alive.  Guile
 *     3.0's weak tables need this: an entry {hash, next, key, value} of a
 *     weak-key table names `next` and `value`, and `key` is a disappearing
 *     link, cleared when nothing else references the key;
 *   - an object of a mark-procedure kind stays scanned by goheap
 *     [superset], and its procedure is called too, so that what it pushes
 *     beyond the object is marked (Guile's thread_mark: a VM stack in
 *     mmap'd memory).  (Such objects made noscan, marked by their
 *     procedure alone, made Guile lose bindings: procedures skip objects
 *     that look like free-list elements, and bdwgc keeps free lists by
 *     other means.)
 *
 * Every such object is recorded, hidden, in an entry: chunks of entries
 * that never move, so the callback reads them without a lock (a stopped
 * writer may hold traced_lock).  A writer fills an entry's other fields,
 * then publishes its object word, and publishes the count after a new
 * entry.  An index (object -> entry) serves the writers (GC_free,
 * GC_realloc); the callback never reads it.  The tables are noscan objects
 * of goheap's, so that no collection scans them.
 *
 * A pass (one per round of goheap's callback) traces each recorded object
 * that is marked, and depth first what its layout reaches; goheap repeats
 * the rounds while one marks something new.  An object is traced once per
 * collection (its epoch).  The cost of a collection is about three looks
 * at each entry in chunks with a live entry, plus the tracing.
 *
 * Nothing here is copied from bdwgc.
 */
#define _GNU_SOURCE 1
#include "traced.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goheap.h"

#define HIDE(p) (~(GC_word)(p))
#define REVEAL(h) ((void *)~(GC_word)(h))

pthread_mutex_t traced_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- descriptors --------------------------------------------------------
 * bdwgc's encodings: GC_DS_LENGTH (the first n bytes are pointers),
 * GC_DS_BITMAP (the bits above the tag, highest first: word 0, 1...), and
 * GC_MAKE_PROC(LAYOUT_PROC, i) for a bitmap longer than one descriptor
 * word: layouts[i] (bdwgc keeps such bitmaps in a table too). */
#define LAYOUT_PROC 1 /* one of bdwgc's reserved mark procedure indices */
#define MAX_LAYOUTS 4096
#define BITMAP_BITS (GC_WORDSZ - GC_DS_TAG_BITS)
struct layout {
  size_t nwords;
  GC_word hbits[]; /* ~bitmap, bit i of word i / GC_WORDSZ: word i; hidden
                      so that no bit pattern looks like a heap pointer */
};
static struct layout *layouts[MAX_LAYOUTS]; /* append-only, published by nlayouts */
static unsigned nlayouts;

static GC_mark_proc procs[GC_MAX_MARK_PROCS];
static unsigned nprocs = GC_RESERVED_MARK_PROCS;

static unsigned proc_index(GC_word d) { return (d >> GC_DS_TAG_BITS) & (GC_MAX_MARK_PROCS - 1); }
static GC_word proc_env(GC_word d) { return d >> (GC_DS_TAG_BITS + GC_LOG_MAX_MARK_PROCS); }

int traced_is_layout(GC_word d) {
  switch (d & GC_DS_TAGS) {
  case GC_DS_BITMAP: return 1;
  case GC_DS_PROC: return proc_index(d) == LAYOUT_PROC;
  default: return 0;
  }
}

static GC_descr long_layout(const GC_word *bm, size_t len) {
  struct layout *l;
  size_t nw = (len + GC_WORDSZ - 1) / GC_WORDSZ, i;
  unsigned k;
  l = (struct layout *)gh_malloc(sizeof *l + nw * sizeof(GC_word));
  if (!l) return (GC_descr)(len * sizeof(GC_word)) | GC_DS_LENGTH; /* [superset] the whole prefix */
  l->nwords = len;
  for (i = 0; i < nw; i++) l->hbits[i] = ~bm[i];
  pthread_mutex_lock(&traced_lock);
  k = nlayouts;
  if (k < MAX_LAYOUTS) {
    layouts[k] = l;
    __atomic_store_n(&nlayouts, k + 1, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&traced_lock);
  if (k >= MAX_LAYOUTS) {
    gh_free(l);
    return (GC_descr)(len * sizeof(GC_word)) | GC_DS_LENGTH;
  }
  return GC_MAKE_PROC(LAYOUT_PROC, k);
}

/* [same] bdwgc's GC_make_descriptor: bm's first len bits, bit i for word i. */
GC_descr traced_make_descriptor(const GC_word *bm, size_t len) {
  size_t last = len, i;
  int prefix = 1;
  for (i = 0; i < len; i++)
    if (GC_get_bit(bm, i)) last = i;
  if (last == len) return GC_DS_LENGTH; /* no pointer: 0 bytes to scan */
  for (i = 0; i < last; i++) prefix &= (int)GC_get_bit(bm, i);
  if (prefix) return (GC_descr)((last + 1) * sizeof(GC_word)) | GC_DS_LENGTH;
  if (last < BITMAP_BITS) {
    GC_word d = GC_DS_BITMAP;
    for (i = 0; i <= last; i++)
      if (GC_get_bit(bm, i)) d |= (GC_word)1 << (GC_WORDSZ - 1 - i);
    return d;
  }
  return long_layout(bm, last + 1);
}

unsigned traced_new_proc(GC_mark_proc proc) {
  unsigned i;
  pthread_mutex_lock(&traced_lock);
  if (nprocs >= GC_MAX_MARK_PROCS) {
    pthread_mutex_unlock(&traced_lock);
    fprintf(stderr, "GC_new_proc: too many mark procedures\n");
    abort();
  }
  i = nprocs++;
  __atomic_store_n(&procs[i], proc, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&traced_lock);
  return i;
}

/* ---- the entries ---------------------------------------------------------
 * 16 bytes an object: its hidden address, the collection it was last traced
 * in, and how to trace it -- an index into `hows`, the distinct (descriptor,
 * stride, root) triples, few in practice (one per layout or kind). */
struct entry {
  GC_word hobj;   /* ~obj, 0: free entry (written last, read first) */
  uint32_t epoch; /* the collection it was last traced in (0: never) */
  uint32_t how;   /* hows[how] */
};
struct how {
  GC_word descr; /* a layout, or GC_MAKE_PROC(index, env) */
  size_t stride; /* an array of layouts: the element size; else 0 */
  int root;      /* uncollectable: traced in every collection */
};
#define MAX_HOWS 4096
static struct how hows[MAX_HOWS]; /* append-only, published by nhows */
static unsigned nhows, last_how;

#define CHUNK 1024
struct chunk {
  /* At least the entries published (hobj != 0): raised before an entry is
   * published, lowered after one is freed, with atomic additions, so that a
   * pass may skip a chunk at 0 even with a writer stopped anywhere. */
  size_t live;
  struct entry e[CHUNK];
};
static size_t count;    /* entries in use or freed, published with release stores */
static size_t cursor;   /* where a writer looks for a free entry first (a hint) */
static uint32_t epoch;  /* collections seen by the callback (callback only) */

/* The chunks, for the callback: an array that grows by doubling (a
 * collected object, scanned, which keeps the chunks alive; the previous
 * array stays readable until the new one is published).  The chunks and
 * the index are collected noscan objects: goheap scans every malloc'd
 * block as a root, and tables of hundreds of thousands of entries scanned
 * in every collection cost 5 ms a collection (test_typed.c). */
static struct chunk **chunks;
static size_t nchunks, chunks_cap;

static struct chunk *chunk_at(size_t i) { return __atomic_load_n(&chunks, __ATOMIC_ACQUIRE)[i / CHUNK]; }
static struct entry *entry_at(size_t i) { return &chunk_at(i)->e[i % CHUNK]; }
static void unpublish(size_t i) { /* an entry in use becomes free */
  __atomic_store_n(&entry_at(i)->hobj, 0, __ATOMIC_RELEASE);
  __atomic_sub_fetch(&chunk_at(i)->live, 1, __ATOMIC_RELEASE);
}

static void *alloc_noscan_zeroed(size_t n) {
  void *p = gh_alloc_noscan(n);
  if (p) memset(p, 0, n);
  return p;
}
static int add_chunk(void) { /* traced_lock held */
  struct chunk *c = (struct chunk *)alloc_noscan_zeroed(sizeof *c);
  if (!c) return 0;
  if (nchunks == chunks_cap) {
    size_t cap = chunks_cap ? chunks_cap * 2 : 16;
    struct chunk **a = (struct chunk **)gh_alloc(cap * sizeof *a);
    if (!a) return 0;
    if (chunks) memcpy(a, chunks, nchunks * sizeof *a);
    chunks_cap = cap;
    __atomic_store_n(&chunks, a, __ATOMIC_RELEASE); /* the old array stays readable */
  }
  __atomic_store_n(&chunks[nchunks], c, __ATOMIC_RELEASE);
  nchunks++;
  return 1;
}

/* The index of (descr, stride, root) in hows, or -1 when hows is full.
 * traced_lock held. */
static int how_of(GC_word descr, size_t stride, int root) {
  unsigned i;
  struct how *h = &hows[last_how];
  if (nhows && h->descr == descr && h->stride == stride && h->root == root) return (int)last_how;
  for (i = 0; i < nhows; i++)
    if (hows[i].descr == descr && hows[i].stride == stride && hows[i].root == root) return (int)(last_how = i);
  if (nhows == MAX_HOWS) return -1;
  hows[nhows] = (struct how){descr, stride, root};
  __atomic_store_n(&nhows, nhows + 1, __ATOMIC_RELEASE);
  return (int)(last_how = nhows - 1);
}

/* ---- the index: object -> entry ----------------------------------------
 * Open addressing over entry numbers + 1 (0: empty, TOMB: removed); a slot
 * matches obj when its entry holds obj, so a slot left by an object the
 * callback forgot is harmless (its entry is free, or holds another object
 * that has a slot of its own).  Rebuilt from the entries when 3/4 full.
 * Writers change it under traced_lock; the callback reads it without the
 * lock: the table and its size are one published object, and a slot is one
 * 32-bit store, so a stopped writer leaves it readable (a lookup may miss
 * an entry being added: the callback's passes find that one). */
#define TOMB UINT32_MAX
struct index {
  size_t cap; /* a power of 2 */
  uint32_t slot[];
};
static struct index *idx;
static size_t index_used; /* slots not empty (traced_lock) */

static size_t slot_of(GC_word h, size_t cap) { /* Fibonacci hashing: the product's top bits */
  return (size_t)((h * 0x9E3779B97F4A7C15ull) >> (64 - __builtin_ctzll(cap)));
}
static void index_insert(struct index *x, GC_word h, size_t n) {
  size_t j;
  for (j = slot_of(h, x->cap); x->slot[j] != 0; j = (j + 1) & (x->cap - 1)) {
  }
  __atomic_store_n(&x->slot[j], (uint32_t)(n + 1), __ATOMIC_RELEASE);
}
static int index_rebuild(void) {
  size_t live = 0, cap = 1024, i;
  struct index *x, *old = idx;
  for (i = 0; i < count; i++) live += entry_at(i)->hobj != 0;
  while (cap < 2 * live + 1024) cap *= 2;
  x = (struct index *)alloc_noscan_zeroed(sizeof *x + cap * sizeof x->slot[0]);
  if (!x) return 0;
  x->cap = cap;
  for (i = 0; i < count; i++)
    if (entry_at(i)->hobj) index_insert(x, entry_at(i)->hobj, i);
  __atomic_store_n(&idx, x, __ATOMIC_RELEASE);
  if (old) gh_free(old);
  index_used = live;
  return 1;
}
static uint32_t *index_find(GC_word h) {
  struct index *x = __atomic_load_n(&idx, __ATOMIC_ACQUIRE);
  size_t j;
  uint32_t v;
  if (!x) return NULL;
  for (j = slot_of(h, x->cap); (v = __atomic_load_n(&x->slot[j], __ATOMIC_ACQUIRE)) != 0; j = (j + 1) & (x->cap - 1))
    if (v != TOMB && __atomic_load_n(&entry_at(v - 1)->hobj, __ATOMIC_ACQUIRE) == h) return &x->slot[j];
  return NULL;
}
/* Maps h to entry n, which holds h already: a full index is rebuilt
 * (which maps it); one that cannot grow only loses the lookups. */
static void index_put(GC_word h, size_t n) {
  if (!idx || (index_used + 1) * 4 > idx->cap * 3) {
    (void)index_rebuild();
    return;
  }
  index_insert(idx, h, n);
  index_used++;
}

/* A free entry (freed by traced_remove or the callback), else a new one;
 * its number in *n; NULL when out of memory.  traced_lock held. */
static struct entry *free_entry(size_t *n) {
  for (; cursor < count; cursor++)
    if (__atomic_load_n(&entry_at(cursor)->hobj, __ATOMIC_RELAXED) == 0) return entry_at(*n = cursor++);
  if (count == nchunks * CHUNK && !add_chunk()) return NULL;
  return entry_at(*n = count);
}

int traced_add(void *obj, GC_word descr, size_t stride, int root) {
  size_t n;
  struct entry *e;
  int how;
  pthread_mutex_lock(&traced_lock);
  how = how_of(descr, stride, root);
  e = how < 0 ? NULL : free_entry(&n);
  if (e) {
    e->epoch = 0;
    e->how = (uint32_t)how;
    __atomic_add_fetch(&chunk_at(n)->live, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&e->hobj, HIDE(obj), __ATOMIC_RELEASE);
    if (n == count) __atomic_store_n(&count, count + 1, __ATOMIC_RELEASE);
    index_put(HIDE(obj), n);
  }
  pthread_mutex_unlock(&traced_lock);
  return e != NULL;
}

int traced_find(void *obj, GC_word *descr, size_t *stride) {
  uint32_t *slot;
  int found = 0;
  if (__atomic_load_n(&count, __ATOMIC_ACQUIRE) == 0) return 0;
  pthread_mutex_lock(&traced_lock);
  slot = index_find(HIDE(obj));
  if (slot) {
    const struct how *h = &hows[entry_at(*slot - 1)->how];
    *descr = h->descr;
    *stride = h->stride;
    found = 1;
  }
  pthread_mutex_unlock(&traced_lock);
  return found;
}

void traced_remove(void *obj) {
  uint32_t *slot;
  if (__atomic_load_n(&count, __ATOMIC_ACQUIRE) == 0) return;
  pthread_mutex_lock(&traced_lock);
  slot = index_find(HIDE(obj));
  if (slot) {
    unpublish(*slot - 1);
    if (*slot - 1 < cursor) cursor = *slot - 1;
    __atomic_store_n(slot, TOMB, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&traced_lock);
}

/* ---- tracing (the mark callback, world stopped) ---------------------------
 * Depth first, from a stack of pending work: a word of a layout that points
 * to an object not marked before marks it (gh_mark_pointer), and then the
 * object is traced next if it is recorded, and its words are followed the
 * same way if goheap scans it (goheap scans it again after the callback:
 * following it here is what lets a chain that alternates scanned and
 * layout objects be traced in one round, not one round per link; bdwgc's
 * gctest builds such chains: 3,072 rounds in one collection before).  When
 * the stack is full, what waits is marked, and goheap's next round
 * finds it. */
#define PENDING 4096
static uintptr_t pending[PENDING]; /* entry number << 1, or a scanned object's start | 1 */
static size_t npending;

static void trace_entry(size_t i);

static void mark_word(GC_word *w) {
  int scanned;
  void *base = gh_mark_pointer((void *)*w, &scanned); /* NULL: not an object, or marked already */
  uint32_t *slot;
  if (base == NULL) return;
  if ((slot = index_find(HIDE(base))) != NULL && entry_at(*slot - 1)->epoch != epoch && npending < PENDING)
    pending[npending++] = (uintptr_t)(*slot - 1) << 1;
  if (scanned && npending < PENDING) pending[npending++] = (uintptr_t)base | 1;
}

static void follow_scanned(GC_word *obj) {
  size_t i, n = gh_malloc_usable_size(obj) / sizeof(GC_word);
  for (i = 0; i < n; i++) mark_word(&obj[i]);
}

/* The words of one element at w (at most `room` words) that descr names. */
static void trace_element(GC_word *w, size_t room, GC_word d) {
  size_t i;
  if ((d & GC_DS_TAGS) == GC_DS_BITMAP) {
    for (i = 0; i < BITMAP_BITS && i < room; i++)
      if (d >> (GC_WORDSZ - 1 - i) & 1) mark_word(&w[i]);
  } else { /* GC_MAKE_PROC(LAYOUT_PROC, i) */
    struct layout *l = layouts[proc_env(d)];
    for (i = 0; i < l->nwords && i < room; i++)
      if (~l->hbits[i / GC_WORDSZ] >> (i % GC_WORDSZ) & 1) mark_word(&w[i]);
  }
}

static void trace_layout(GC_word *obj, GC_word d, size_t stride) {
  size_t size = gh_malloc_usable_size(obj), off;
  if (stride == 0) {
    trace_element(obj, size / sizeof(GC_word), d);
    return;
  }
  for (off = 0; off + stride <= size; off += stride)
    trace_element((GC_word *)((char *)obj + off), stride / sizeof(GC_word), d);
}

/* Scans what a procedure left on the mark stack it was given. */
#define MARK_STACK 512
static void scan_pushed(struct GC_ms_entry *from, struct GC_ms_entry *to) {
  for (; from < to; from++) {
    char *start = (char *)from->mse_start;
    if ((from->mse_descr & GC_DS_TAGS) == GC_DS_LENGTH) gh_mark_range(start, start + from->mse_descr);
    else gh_mark_range(&from->mse_start, &from->mse_start + 1); /* [superset] the whole object */
  }
}
static void call_proc(GC_word *obj, GC_word d) {
  static struct GC_ms_entry stack[MARK_STACK];
  GC_mark_proc proc = __atomic_load_n(&procs[proc_index(d)], __ATOMIC_ACQUIRE);
  if (proc) scan_pushed(stack, proc(obj, stack, stack + MARK_STACK, proc_env(d)));
}

void traced_begin(void) { epoch = epoch + 1 ? epoch + 1 : 1; /* 0: never traced */ }

/* Traces entry i if it is due (recorded, not traced in this collection,
 * marked or a root), then what became due through it; 1 if i was due. */
static int trace_due(size_t i) {
  struct entry *e = entry_at(i);
  GC_word h = __atomic_load_n(&e->hobj, __ATOMIC_ACQUIRE);
  const struct how *how;
  if (h == 0 || e->epoch == epoch) return 0;
  how = &hows[e->how];
  if (!how->root && !gh_is_marked(REVEAL(h))) return 0;
  trace_entry(i);
  while (npending) {
    uintptr_t p = pending[--npending];
    if (p & 1) follow_scanned((GC_word *)(p & ~(uintptr_t)1));
    else trace_entry(p >> 1);
  }
  return 1;
}
static void trace_entry(size_t i) {
  struct entry *e = entry_at(i);
  GC_word *obj = (GC_word *)REVEAL(__atomic_load_n(&e->hobj, __ATOMIC_ACQUIRE));
  const struct how *how = &hows[e->how];
  if (e->epoch == epoch) return; /* pushed twice */
  e->epoch = epoch;
  if (traced_is_layout(how->descr)) trace_layout(obj, how->descr, how->stride);
  else call_proc(obj, how->descr);
}

/* One pass per round: what it marks that is not traced yet is traced at
 * once (depth first) or, past the stack, in goheap's next round. */
void traced_pass(void) {
  size_t n = __atomic_load_n(&count, __ATOMIC_ACQUIRE), c, i;
  for (c = (n + CHUNK - 1) / CHUNK; c-- > 0;) {
    if (__atomic_load_n(&chunk_at(c * CHUNK)->live, __ATOMIC_ACQUIRE) == 0) continue;
    for (i = (c + 1) * CHUNK < n ? (c + 1) * CHUNK : n; i-- > c * CHUNK;) (void)trace_due(i);
  }
}

void traced_forget_dead(void) {
  size_t i, n = __atomic_load_n(&count, __ATOMIC_ACQUIRE);
  for (i = 0; i < n; i++) {
    struct entry *e = entry_at(i);
    GC_word h;
    if (i % CHUNK == 0 && __atomic_load_n(&chunk_at(i)->live, __ATOMIC_ACQUIRE) == 0) {
      i += CHUNK - 1; /* an empty chunk */
      continue;
    }
    h = __atomic_load_n(&e->hobj, __ATOMIC_ACQUIRE);
    if (h && e->epoch != epoch && !hows[e->how].root && !gh_is_marked(REVEAL(h))) unpublish(i); /* traced: marked */
  }
  cursor = 0; /* a hint: a writer stopped mid-search may set it back */
}
