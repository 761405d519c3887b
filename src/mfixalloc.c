/*
 * mfixalloc.c -- off-heap allocation of goheap's own metadata.
 * (Go: mfixalloc.go:fixalloc, malloc.go:persistentalloc.)
 *
 * Span structs, mcaches, span bitmaps and arena metadata never live in user
 * memory and never come from malloc (goheap is malloc). persistent_alloc
 * carves zeroed memory from 1 MiB mmap'd chunks and never frees it; a
 * fixalloc hands out objects of one size from persistent memory and keeps
 * freed ones on a free list for reuse.
 *
 * Locks: persistent_alloc has its own lock, persistent_lock (Go's
 * persistentalloc has globalAlloc.mutex), because it is reached from under
 * different locks: the heap lock (arena metadata, the heap's fixallocs) and
 * the specials lock (finalizer records). A fixalloc is protected by the lock
 * of its owner (the heap lock for span structs, mcaches and bitmaps; the
 * specials lock for finalizer records): the caller holds it.
 */
#include <string.h>

#include "internal.h"

#define PERSISTENT_CHUNK ((size_t)1 << 20)

static GH_DATA gh_mutex persistent_lock = GH_MUTEX_INIT(GH_RANK_PERSISTENT);
static GH_DATA char *persistent_cur, *persistent_end; /* the chunk being carved (persistent_lock) */
GH_DATA uint64_t gh_metadata_bytes;

static void *persistent_alloc_locked(size_t size) {
  gh_assert_held(&persistent_lock);
  if ((size_t)(persistent_end - persistent_cur) < size) {
    char *chunk = gh_os_alloc_metadata(PERSISTENT_CHUNK);
    if (!chunk) return NULL;
    gh_atomic_add(&gh_metadata_bytes, PERSISTENT_CHUNK);
    persistent_cur = chunk;
    persistent_end = chunk + PERSISTENT_CHUNK;
  }
  void *p = persistent_cur;
  persistent_cur += size;
  return p;
}

void *gh_persistent_alloc(size_t size) {
  size = (size + 63) & ~(size_t)63;
  if (size >= PERSISTENT_CHUNK / 4) { /* big requests get their own mapping */
    void *p = gh_os_alloc_metadata(size);
    if (p) gh_atomic_add(&gh_metadata_bytes, size);
    return p;
  }
  gh_mutex_lock(&persistent_lock);
  void *p = persistent_alloc_locked(size);
  gh_mutex_unlock(&persistent_lock);
  return p;
}

void gh_persistent_fork_prepare(void) { gh_mutex_lock(&persistent_lock); }
void gh_persistent_fork_parent(void) { gh_mutex_unlock(&persistent_lock); }
void gh_persistent_fork_child(void) { gh_mutex_reinit(&persistent_lock); }

void gh_fixalloc_init(gh_fixalloc *f, size_t size) {
  memset(f, 0, sizeof *f);
  f->size = size < sizeof(void *) ? sizeof(void *) : size;
}

void *gh_fixalloc_alloc(gh_fixalloc *f) {
  void *p = f->free_list;
  if (p) {
    f->free_list = *(void **)p;
    memset(p, 0, f->size);
  } else {
    if ((size_t)(f->chunk_end - f->chunk) < f->size) {
      size_t n = 64 * 1024 > f->size * 16 ? 64 * 1024 : f->size * 16;
      f->chunk = gh_persistent_alloc(n);
      if (!f->chunk) return NULL;
      f->chunk_end = f->chunk + n;
    }
    p = f->chunk;
    f->chunk += f->size;
  }
  return p;
}

void gh_fixalloc_free(gh_fixalloc *f, void *p) {
  *(void **)p = f->free_list;
  f->free_list = p;
}

bool gh_metadata_grow(void **arr, uint32_t *cap, uint32_t used, size_t elem, uint32_t first) {
  uint32_t n = *cap ? *cap * 2 : first;
  void *fresh = gh_os_alloc_metadata(n * elem);
  if (!fresh) return false;
  if (*arr) {
    memcpy(fresh, *arr, used * elem);
    gh_os_release(*arr, *cap * elem);
  }
  *arr = fresh;
  *cap = n;
  return true;
}
