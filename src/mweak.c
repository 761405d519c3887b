/*
 * mweak.c -- weak links: words the collector sets to NULL when the object
 * they name dies. (bdwgc's disappearing links; Go 1.24's weak pointers are
 * cleared the same way, by the collector at mark termination: mheap.go's
 * specialWeakHandle.)
 *
 * A registration is (link, obj, long): the word at `link` names obj (it
 * usually holds obj's address hidden, so that it does not keep obj alive).
 * The collection that finds obj unreachable clears the word and forgets the
 * registration, with the world stopped: no thread can read a link to an
 * object the collector already found dead and bring it back (clearing later,
 * from another thread, left that window open: Guile's symbol table lost
 * symbols that way). Two kinds, as bdwgc's:
 *   - short links are cleared before finalizers are queued: an object only
 *     a finalizer keeps alive (itself, or something it references) clears
 *     them;
 *   - long links are cleared only when obj is not kept even for a
 *     finalizer, i.e. when it is freed.
 * A registration whose link lies in a collected object that dies in the same
 * collection, or in a heap slot that was freed, is forgotten without writing
 * (the memory may be reused). A freed malloc'd block reused before the next
 * collection cannot be told apart: unregister a link before freeing the
 * memory it lies in (bdwgc's rule too). obj need not be collected: a link to
 * anything else is never cleared.
 *
 * The registrations live in a hash table keyed by (link, long), off the heap
 * (goheap's metadata: not a root), so a link can be found, moved and
 * unregistered by its address alone. weak_lock protects it; writers hold it
 * inside gh_enter, so a stopped world never finds it held mid-update.
 */
#include <errno.h>

#include "internal.h"

typedef struct gh_weak {
  struct gh_weak *next; /* hash chain */
  uintptr_t link;       /* the word to clear */
  uintptr_t obj;        /* the object it names */
  bool is_long;         /* cleared when obj is freed, not when found unreachable */
  bool collected;       /* obj was a collected object's start when registered */
} gh_weak;

static GH_DATA gh_mutex weak_lock = GH_MUTEX_INIT(GH_RANK_WEAK);
static GH_DATA gh_weak **buckets; /* nbuckets (a power of two) chains */
static GH_DATA uint32_t nbuckets;
static GH_DATA uint64_t nweak;    /* registrations */
static GH_DATA gh_fixalloc weak_alloc;

static uint32_t bucket_of(uintptr_t link, bool is_long) {
  uint64_t x = ((uint64_t)link >> 3 ^ (uint64_t)is_long) * 0x9E3779B97F4A7C15ull;
  return (uint32_t)(x >> 32) & (nbuckets - 1);
}

/* The chain slot that holds (link, is_long), or the end of its chain. */
static gh_weak **find_locked(uintptr_t link, bool is_long) {
  gh_assert_held(&weak_lock);
  gh_weak **pp = &buckets[bucket_of(link, is_long)];
  while (*pp && ((*pp)->link != link || (*pp)->is_long != is_long)) pp = &(*pp)->next;
  return pp;
}

/* Doubles the table once it holds two entries per chain; false if the OS refuses. */
static bool grow_locked(void) {
  gh_assert_held(&weak_lock);
  if (nbuckets && nweak < 2 * (uint64_t)nbuckets) return true;
  uint32_t n = nbuckets ? nbuckets * 2 : 1024, old_n = nbuckets;
  gh_weak **fresh = gh_os_alloc_metadata(n * sizeof *fresh), **old = buckets;
  if (!fresh) return nbuckets != 0; /* a full table still works, only slower */
  if (!old_n) gh_fixalloc_init(&weak_alloc, sizeof(gh_weak));
  buckets = fresh;
  nbuckets = n;
  for (uint32_t b = 0; b < old_n; b++)
    for (gh_weak *w = old[b], *next; w; w = next) {
      next = w->next;
      gh_weak **head = &buckets[bucket_of(w->link, w->is_long)];
      w->next = *head;
      *head = w;
    }
  if (old) gh_os_release(old, old_n * sizeof *old);
  return true;
}

static bool is_collected_start(uintptr_t p) {
  gh_mspan *s = gh_span_of(p);
  if (!s || p >= s->limit || !gh_spanclass_collected(s->spanclass) ||
      gh_atomic_load_acquire(&s->xstate) != GH_SPAN_IN_USE)
    return false;
  uint32_t i = gh_spanclass_is_large(s->spanclass) ? 0 : gh_mspan_obj_index(s, p);
  return s->start_addr + (uintptr_t)i * s->elemsize == p;
}

int gh_register_weak_link(void **link, void *obj, int is_long) {
  if ((uintptr_t)link % sizeof(void *) != 0) return EINVAL;
  gh_ensure_init();
  bool collected = is_collected_start((uintptr_t)obj);
  gh_mcache *c = gh_enter();
  gh_mutex_lock(&weak_lock);
  int rc = 0;
  if (!grow_locked()) {
    rc = ENOMEM;
  } else {
    gh_weak **pp = find_locked((uintptr_t)link, is_long != 0);
    gh_weak *w = *pp ? NULL : gh_fixalloc_alloc(&weak_alloc);
    if (*pp) rc = EEXIST;
    else if (!w) rc = ENOMEM;
    else {
      *w = (gh_weak){.link = (uintptr_t)link, .obj = (uintptr_t)obj, .is_long = is_long != 0, .collected = collected};
      *pp = w;
      nweak++;
    }
  }
  gh_mutex_unlock(&weak_lock);
  gh_leave(c);
  return rc;
}

/* Unlinks and frees the entry at *pp (weak_lock held, or the world stopped). */
static void forget(gh_weak **pp) {
  gh_weak *w = *pp;
  *pp = w->next;
  gh_fixalloc_free(&weak_alloc, w);
  nweak--;
}

int gh_unregister_weak_link(void **link, int is_long) {
  if (!nbuckets) return 0;
  gh_mcache *c = gh_enter();
  gh_mutex_lock(&weak_lock);
  gh_weak **pp = find_locked((uintptr_t)link, is_long != 0);
  bool found = *pp != NULL;
  if (found) forget(pp);
  gh_mutex_unlock(&weak_lock);
  gh_leave(c);
  return found;
}

int gh_move_weak_link(void **link, void **new_link, int is_long) {
  if ((uintptr_t)new_link % sizeof(void *) != 0) return EINVAL;
  if (!nbuckets) return ENOENT;
  gh_mcache *c = gh_enter();
  gh_mutex_lock(&weak_lock);
  int rc = 0;
  gh_weak **pp = find_locked((uintptr_t)link, is_long != 0);
  if (!*pp) rc = ENOENT;
  else if (new_link != link && *find_locked((uintptr_t)new_link, is_long != 0)) rc = EEXIST;
  else if (new_link != link) {
    gh_weak *w = *pp;
    *pp = w->next;
    w->link = (uintptr_t)new_link;
    gh_weak **head = &buckets[bucket_of(w->link, w->is_long)];
    w->next = *head;
    *head = w;
  }
  gh_mutex_unlock(&weak_lock);
  gh_leave(c);
  return rc;
}

/* ---- the collector's part (world stopped, after the mark) ------------------------------ */

/* Is the collected object at p still to be kept? (mark bits of this cycle) */
static bool obj_marked(const gh_weak *w) {
  if (!w->collected) return true;
  gh_mspan *s = gh_span_of(w->obj);
  if (!s || w->obj >= s->limit || !gh_spanclass_collected(s->spanclass) ||
      gh_atomic_load_relaxed(&s->xstate) != GH_SPAN_IN_USE)
    return false; /* its span went back: the object was freed */
  uint32_t i = gh_spanclass_is_large(s->spanclass) ? 0 : gh_mspan_obj_index(s, w->obj);
  return s->gcmark_bits[i / 64] >> (i % 64) & 1;
}

/* Does the word at link still lie in memory the program holds? A collected
 * slot must be marked, any heap slot allocated; memory outside the heap is
 * the program's business. */
static bool link_memory_alive(uintptr_t link) {
  gh_mspan *s = gh_span_of(link);
  if (!s) return true;
  if (gh_atomic_load_relaxed(&s->xstate) != GH_SPAN_IN_USE || link >= s->limit) return false;
  bool large = gh_spanclass_is_large(s->spanclass);
  uint32_t i = large ? 0 : gh_mspan_obj_index(s, link);
  if (!large && !gh_mspan_is_live(s, i)) return false;
  if (!gh_spanclass_collected(s->spanclass)) return true;
  return s->gcmark_bits[i / 64] >> (i % 64) & 1;
}

/*
 * Called twice by the mark (mgcmark.c:gh_gc_mark), world stopped:
 * before_finalizers, short links of unmarked objects are cleared; after the
 * finalizers were queued (their objects marked), long links of objects still
 * unmarked are cleared, and registrations whose link lies in memory that
 * dies or was freed are forgotten.
 */
void gh_weak_clear_dead(bool before_finalizers) {
  for (uint32_t b = 0; b < nbuckets; b++) {
    for (gh_weak **pp = &buckets[b]; *pp;) {
      gh_weak *w = *pp;
      if ((before_finalizers && w->is_long) || obj_marked(w)) {
        if (!before_finalizers && !link_memory_alive(w->link)) {
          forget(pp);
          continue;
        }
        pp = &w->next;
        continue;
      }
      if (link_memory_alive(w->link)) *(void **)w->link = NULL;
      forget(pp);
    }
  }
}

void gh_weak_fork_prepare(void) { gh_mutex_lock(&weak_lock); }
void gh_weak_fork_parent(void) { gh_mutex_unlock(&weak_lock); }
void gh_weak_fork_child(void) { gh_mutex_reinit(&weak_lock); }
