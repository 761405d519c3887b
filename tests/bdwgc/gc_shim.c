/*
 * tests/bdwgc/gc_shim.c -- the parts of the bdwgc-on-goheap mapping
 * (tests/bdwgc/gc.h) that need global state: the byte counter behind
 * GC_get_total_bytes, the finalizer / disappearing-link table, the
 * GC_disable nesting count, the lock lent by GC_call_with_alloc_lock, the
 * GC_pthread_create start routine.  Linked into every bdwgc test binary
 * (tests/suites/bdwgc.sh).  Every symbol here is named ghshim_*.
 */
#define GC_THREADS 1
#define GC_NO_THREAD_REDIRECTS 1 /* pthread_create below is the real one */
#include "gc.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

GC_word ghshim_total_bytes;
int ghshim_init_called;

void ghshim_init(void) {
  (void)gh_register_thread();
  __atomic_store_n(&ghshim_init_called, 1, __ATOMIC_RELEASE);
}

__attribute__((noinline)) void ghshim_noop1(GC_word x) {
  static volatile GC_word sink;
  sink = x;
}

void ghshim_unsupported(const char *what) {
  fflush(stdout);
  fprintf(stderr, "bdwgc shim: %s: not supported on goheap (tests/bdwgc/gc.h)\n", what);
  abort();
}

/* bdwgc's default print procs abort; a client may replace them. */
static void default_same_obj(void *p, void *q) {
  fprintf(stderr, "GC_same_obj: %p and %p are not in the same object\n", p, q);
  abort();
}
static void default_displacement(void *p) {
  fprintf(stderr, "GC_is_valid_displacement: %p is not a valid displacement\n", p);
  abort();
}
static void default_visible(void *p) {
  fprintf(stderr, "GC_is_visible: %p is not visible to the collector\n", p);
  abort();
}
void (*ghshim_same_obj_print_proc)(void *, void *) = default_same_obj;
void (*ghshim_is_valid_displacement_print_proc)(void *) = default_displacement;
void (*ghshim_is_visible_print_proc)(void *) = default_visible;

void ghshim_read_stats(gh_stats *st) {
  memset(st, 0, sizeof *st);
  st->size = sizeof *st;
  gh_read_stats(st);
}

size_t ghshim_size_map_at(int i) {
  void *p;
  size_t n;
  if (i < 0 || i > 32 * 1024) return (size_t)-1;
  p = gh_alloc(i ? (size_t)i : 1);
  if (!p) return (size_t)-1;
  n = gh_malloc_usable_size(p);
  gh_free(p);
  return n;
}

void ghshim_stack_base(void **base) {
  pthread_attr_t a;
  void *addr = NULL;
  size_t size = 0;
  *base = NULL;
  if (pthread_getattr_np(pthread_self(), &a) != 0) return;
  if (pthread_attr_getstack(&a, &addr, &size) == 0 && addr) *base = (char *)addr + size;
  pthread_attr_destroy(&a);
}

/* ---- GC_memalign, GC_malloc_many ------------------------------------- */

/* As bdwgc's own GC_memalign does for alignments above its granule: an
 * object of lb + align - 1 bytes, and a pointer into it at the first aligned
 * address (an interior pointer, which keeps the object alive; GC_base of it
 * is the object's start, and it cannot be passed to GC_FREE). */
void *ghshim_memalign(size_t align, size_t lb) {
  char *p;
  uintptr_t a;
  if (align <= sizeof(void *)) return GC_malloc(lb);
  if ((align & (align - 1)) != 0 || lb > (size_t)-1 - align) {
    errno = EINVAL;
    return NULL;
  }
  p = (char *)GC_malloc(lb + align - 1);
  if (p == NULL) return NULL;
  a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
  return (void *)a;
}

/* A list of separate objects of lb bytes linked through their first word
 * (GC_NEXT), about a 4 KiB block's worth as bdwgc hands out. */
void *ghshim_malloc_many(size_t lb) {
  size_t sz = lb < sizeof(void *) ? sizeof(void *) : lb, n = 4096 / ((sz + 7) & ~(size_t)7), i;
  void *head = NULL;
  if (n == 0) n = 1;
  for (i = 0; i < n; i++) {
    void *p = GC_malloc(sz);
    if (p == NULL) break;
    *(void **)p = head;
    head = p;
  }
  return head;
}

/* ---- GC_disable / GC_enable ------------------------------------------ */
static pthread_mutex_t dis_lock = PTHREAD_MUTEX_INITIALIZER;
static int dis_count, dis_saved_percent;

void ghshim_disable(void) {
  pthread_mutex_lock(&dis_lock);
  if (dis_count++ == 0) dis_saved_percent = gh_set_gc_percent(-1);
  pthread_mutex_unlock(&dis_lock);
}
void ghshim_enable(void) {
  pthread_mutex_lock(&dis_lock);
  if (dis_count > 0 && --dis_count == 0) gh_set_gc_percent(dis_saved_percent);
  pthread_mutex_unlock(&dis_lock);
}
int ghshim_is_disabled(void) {
  int d;
  pthread_mutex_lock(&dis_lock);
  d = dis_count > 0;
  pthread_mutex_unlock(&dis_lock);
  return d;
}

/* ---- GC_call_with_alloc_lock ----------------------------------------- */
static pthread_mutex_t alloc_lock = PTHREAD_MUTEX_INITIALIZER;
void ghshim_alloc_lock(void) { pthread_mutex_lock(&alloc_lock); }
void ghshim_alloc_unlock(void) { pthread_mutex_unlock(&alloc_lock); }

/* ---- finalizers and disappearing links --------------------------------
 * One record per object that has a bdwgc finalizer or disappearing links;
 * goheap holds one finalizer per object (finalize_object below), which
 * clears the short links, calls the client's finalizer, then clears the
 * long links.  Records live in malloc'd memory, which goheap scans as a
 * root: object and link addresses are stored hidden (complemented) so
 * that the table keeps nothing alive; the client data is stored as is
 * (bdwgc keeps it alive too). */
struct link_rec;
struct fin_rec {
  GC_word hobj;            /* ~obj */
  ghshim_fin_fn fn;        /* the client's finalizer, or NULL */
  void *cd;                /* its client data */
  struct link_rec *links;  /* links cleared when obj is finalized */
  struct fin_rec *hnext;   /* hash chain */
};
struct link_rec {
  GC_word hlink;           /* ~link */
  int is_long;             /* in link_tab[1] (cleared after the finalizer) */
  struct fin_rec *owner;   /* NULL when obj was not a collected object */
  struct link_rec *onext;  /* owner's list */
  struct link_rec *hnext;  /* hash chain */
};

#define NBUCKETS 65536
static pthread_mutex_t tab_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fin_rec **fin_tab;
static struct link_rec **link_tab[2]; /* [0] short, [1] long */

static size_t bucket(GC_word hidden) {
  GC_word x = ~hidden;
  return (size_t)(((x >> 3) * (GC_word)0x9E3779B97F4A7C15ull) >> (64 - 16));
}

static int tables_ready(void) { /* with tab_lock held */
  if (fin_tab) return 1;
  fin_tab = (struct fin_rec **)gh_calloc(NBUCKETS, sizeof *fin_tab);
  link_tab[0] = (struct link_rec **)gh_calloc(NBUCKETS, sizeof *link_tab[0]);
  link_tab[1] = (struct link_rec **)gh_calloc(NBUCKETS, sizeof *link_tab[1]);
  if (!fin_tab || !link_tab[0] || !link_tab[1]) {
    fprintf(stderr, "bdwgc shim: out of memory for the finalizer table\n");
    abort();
  }
  return 1;
}

static struct fin_rec *fin_find(const void *obj) {
  GC_word h = GC_HIDE_POINTER(obj);
  struct fin_rec *f;
  for (f = fin_tab[bucket(h)]; f; f = f->hnext)
    if (f->hobj == h) return f;
  return NULL;
}
static void fin_insert(struct fin_rec *f) {
  size_t b = bucket(f->hobj);
  f->hnext = fin_tab[b];
  fin_tab[b] = f;
}
static int fin_remove(struct fin_rec *f) {
  struct fin_rec **pp;
  for (pp = &fin_tab[bucket(f->hobj)]; *pp; pp = &(*pp)->hnext)
    if (*pp == f) {
      *pp = f->hnext;
      return 1;
    }
  return 0;
}
static struct link_rec *link_find(void **link, int is_long) {
  GC_word h = GC_HIDE_POINTER(link);
  struct link_rec *l;
  for (l = link_tab[is_long][bucket(h)]; l; l = l->hnext)
    if (l->hlink == h) return l;
  return NULL;
}
static void link_insert(struct link_rec *l, int is_long) {
  size_t b = bucket(l->hlink);
  l->hnext = link_tab[is_long][b];
  link_tab[is_long][b] = l;
}
static void link_unhash(struct link_rec *l, int is_long) {
  struct link_rec **pp;
  for (pp = &link_tab[is_long][bucket(l->hlink)]; *pp; pp = &(*pp)->hnext)
    if (*pp == l) {
      *pp = l->hnext;
      return;
    }
}
static void link_unown(struct link_rec *l) {
  struct link_rec **pp;
  if (!l->owner) return;
  for (pp = &l->owner->links; *pp; pp = &(*pp)->onext)
    if (*pp == l) {
      *pp = l->onext;
      break;
    }
  l->owner = NULL;
}

/* goheap's finalizer for every object in the table (runs on goheap's
 * finalizer thread, once). */
static void finalize_object(void *obj, void *arg) {
  struct fin_rec *f = (struct fin_rec *)arg;
  struct link_rec *l, *next, *longs = NULL;
  ghshim_fin_fn fn;
  void *cd;
  pthread_mutex_lock(&tab_lock);
  if (GC_REVEAL_POINTER(f->hobj) != obj || !fin_remove(f)) {
    pthread_mutex_unlock(&tab_lock);
    fprintf(stderr, "bdwgc shim: goheap ran a finalizer for %p, which the table does not hold\n", obj);
    abort();
  }
  for (l = f->links; l; l = next) { /* short links: cleared now; long ones: after fn */
    next = l->onext;
    if (!l->is_long) {
      link_unhash(l, 0);
      *(void **)GC_REVEAL_POINTER(l->hlink) = NULL;
      gh_free(l);
    } else {
      link_unhash(l, 1);
      l->onext = longs;
      longs = l;
    }
  }
  f->links = NULL;
  fn = f->fn;
  cd = f->cd;
  pthread_mutex_unlock(&tab_lock);
  gh_free(f);
  if (fn) fn(obj, cd);
  for (l = longs; l; l = next) {
    next = l->onext;
    *(void **)GC_REVEAL_POINTER(l->hlink) = NULL;
    gh_free(l);
  }
}

void ghshim_register_finalizer(void *obj, ghshim_fin_fn fn, void *cd, ghshim_fin_fn *ofn, void **ocd) {
  struct fin_rec *f;
  if (ofn) *ofn = NULL;
  if (ocd) *ocd = NULL;
  if (obj == NULL || !gh_is_collected(obj)) return; /* bdwgc ignores non-heap objects too */
  pthread_mutex_lock(&tab_lock);
  tables_ready();
  f = fin_find(obj);
  if (f) {
    if (ofn) *ofn = f->fn;
    if (ocd) *ocd = f->cd;
    f->fn = fn;
    f->cd = fn ? cd : NULL;
    if (!fn && !f->links) { /* nothing left to do for obj: drop goheap's finalizer */
      fin_remove(f);
      gh_set_finalizer(obj, NULL, NULL);
      pthread_mutex_unlock(&tab_lock);
      gh_free(f);
      return;
    }
    pthread_mutex_unlock(&tab_lock);
    return;
  }
  if (fn) {
    f = (struct fin_rec *)gh_calloc(1, sizeof *f);
    if (!f) ghshim_unsupported("out of memory in GC_register_finalizer");
    f->hobj = GC_HIDE_POINTER(obj);
    f->fn = fn;
    f->cd = cd;
    fin_insert(f);
    gh_set_finalizer(obj, finalize_object, f);
  }
  pthread_mutex_unlock(&tab_lock);
}

int ghshim_register_link(void **link, const void *obj, int is_long) {
  struct link_rec *l;
  struct fin_rec *f = NULL;
  int created = 0;
  if (link == NULL || ((uintptr_t)link & (sizeof(void *) - 1)) != 0) {
    fprintf(stderr, "bdwgc shim: bad link address %p\n", (void *)link);
    abort();
  }
  pthread_mutex_lock(&tab_lock);
  tables_ready();
  if (link_find(link, is_long)) {
    pthread_mutex_unlock(&tab_lock);
    return GC_DUPLICATE;
  }
  l = (struct link_rec *)gh_calloc(1, sizeof *l);
  if (!l) {
    pthread_mutex_unlock(&tab_lock);
    return GC_NO_MEMORY;
  }
  if (obj != NULL && gh_is_collected((void *)obj)) {
    f = fin_find(obj);
    if (!f) {
      f = (struct fin_rec *)gh_calloc(1, sizeof *f);
      if (!f) {
        pthread_mutex_unlock(&tab_lock);
        gh_free(l);
        return GC_NO_MEMORY;
      }
      f->hobj = GC_HIDE_POINTER(obj);
      fin_insert(f);
      created = 1;
    }
  }
  l->hlink = GC_HIDE_POINTER(link);
  l->is_long = is_long;
  l->owner = f;
  if (f) {
    l->onext = f->links;
    f->links = l;
  }
  link_insert(l, is_long);
  if (created) gh_set_finalizer((void *)obj, finalize_object, f);
  pthread_mutex_unlock(&tab_lock);
  return GC_SUCCESS;
}

/* An object left with neither links nor a finalizer keeps its goheap
 * finalizer (removing it here could race with one already queued); it
 * finds nothing to do and frees the record. */
int ghshim_unregister_link(void **link, int is_long) {
  struct link_rec *l;
  pthread_mutex_lock(&tab_lock);
  tables_ready();
  l = link_find(link, is_long);
  if (!l) {
    pthread_mutex_unlock(&tab_lock);
    return 0;
  }
  link_unhash(l, is_long);
  link_unown(l);
  pthread_mutex_unlock(&tab_lock);
  gh_free(l);
  return 1;
}

int ghshim_move_link(void **link, void **new_link, int is_long) {
  struct link_rec *l;
  pthread_mutex_lock(&tab_lock);
  tables_ready();
  l = link_find(link, is_long);
  if (!l) {
    pthread_mutex_unlock(&tab_lock);
    return GC_NOT_FOUND;
  }
  if (new_link == link) {
    pthread_mutex_unlock(&tab_lock);
    return GC_SUCCESS;
  }
  if (link_find(new_link, is_long)) {
    pthread_mutex_unlock(&tab_lock);
    return GC_DUPLICATE;
  }
  link_unhash(l, is_long);
  l->hlink = GC_HIDE_POINTER(new_link);
  link_insert(l, is_long);
  pthread_mutex_unlock(&tab_lock);
  return GC_SUCCESS;
}

/* goheap runs finalizers on its own thread.  bdwgc's GC_invoke_finalizers
 * runs the pending ones before it returns; the closest equivalent: wait
 * until goheap's finalizers_run counter has stopped moving for 50 ms
 * (at most 2 s), and return how many ran meanwhile. */
int ghshim_invoke_finalizers(void) {
  gh_stats st;
  uint64_t start, last;
  int quiet = 0, i;
  struct timespec ts = {0, 5 * 1000 * 1000};
  ghshim_read_stats(&st);
  start = last = st.finalizers_run;
  for (i = 0; i < 400 && quiet < 10; i++) {
    nanosleep(&ts, NULL);
    ghshim_read_stats(&st);
    if (st.finalizers_run == last) {
      quiet++;
    } else {
      quiet = 0;
      last = st.finalizers_run;
    }
  }
  return (int)(last - start);
}

/* ---- fork -------------------------------------------------------------- */
void ghshim_atfork_prepare(void) {
  pthread_mutex_lock(&alloc_lock);
  pthread_mutex_lock(&dis_lock);
  pthread_mutex_lock(&tab_lock);
}
void ghshim_atfork_parent(void) {
  pthread_mutex_unlock(&tab_lock);
  pthread_mutex_unlock(&dis_lock);
  pthread_mutex_unlock(&alloc_lock);
}
void ghshim_atfork_child(void) {
  pthread_mutex_init(&tab_lock, NULL);
  pthread_mutex_init(&dis_lock, NULL);
  pthread_mutex_init(&alloc_lock, NULL);
}

/* ---- GC_pthread_create ------------------------------------------------ */
struct start_info {
  void *(*fn)(void *);
  void *arg;
};

static void unregister_at_exit(void *unused) {
  (void)unused;
  gh_unregister_thread();
}

static void *thread_start(void *p) {
  struct start_info si = *(struct start_info *)p;
  void *r;
  (void)gh_register_thread();
  gh_free(p); /* after registering: until then si.arg is reachable only from p */
  pthread_cleanup_push(unregister_at_exit, NULL);
  r = si.fn(si.arg);
  pthread_cleanup_pop(1);
  return r;
}

int ghshim_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg) {
  struct start_info *si = (struct start_info *)gh_malloc(sizeof *si); /* malloc'd: a root */
  int e;
  if (!si) return EAGAIN;
  si->fn = fn;
  si->arg = arg;
  e = pthread_create(t, attr, thread_start, si);
  if (e != 0) gh_free(si);
  return e;
}
