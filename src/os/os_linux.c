/*
 * os_linux.c -- Linux implementation of os.h. (Go: mem_linux.go, os_linux.go.)
 *
 * Heap arenas are reserved PROT_NONE with MAP_NORESERVE and committed with
 * mprotect, so untouched address space costs neither RSS nor commit charge.
 * Released pages use MADV_DONTNEED: on a private anonymous mapping the next
 * touch faults in a zero page, which the page allocator relies on (scavenged
 * pages need no zeroing).
 */
#define _GNU_SOURCE
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdbool.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

void *gh_os_reserve(void *hint, size_t size) {
  int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
  if (hint) flags |= MAP_FIXED_NOREPLACE;
  void *p = mmap(hint, size, PROT_NONE, flags, -1, 0);
  if (p == MAP_FAILED) return NULL;
  if (hint && p != hint) { /* old kernels ignore MAP_FIXED_NOREPLACE */
    munmap(p, size);
    return NULL;
  }
  return p;
}

void *gh_os_reserve_aligned(size_t size, size_t align) {
  size_t over = size + align;
  char *p = mmap(NULL, over, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return NULL;
  uintptr_t base = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
  size_t head = base - (uintptr_t)p, tail = over - head - size;
  if (head) munmap(p, head);
  if (tail) munmap((char *)base + size, tail);
  return (void *)base;
}

/* Go: mem_linux.go:sysMap. Remapping without MAP_NORESERVE makes the kernel
 * account the memory, so an impossible request fails here with ENOMEM rather
 * than later with the OOM killer. */
int gh_os_commit(void *addr, size_t size) {
  void *p = mmap(addr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  return p == addr ? 0 : -1;
}

int gh_os_decommit(void *addr, size_t size) {
  return madvise(addr, size, MADV_DONTNEED);
}

void gh_os_release(void *addr, size_t size) { munmap(addr, size); }

void *gh_os_alloc_metadata(size_t size) {
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

size_t gh_os_page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

/* Drepper, "Futexes Are Tricky", mutex2, with a bounded spin first. */
static void futex_wait(uint32_t *addr, uint32_t val) {
  syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(uint32_t *addr) { syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0); }

static inline void gh_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield" ::: "memory");
#else
  __asm__ __volatile__("" ::: "memory");
#endif
}

static bool try_lock(gh_mutex *l) {
  uint32_t zero = 0;
  return __atomic_compare_exchange_n(&l->state, &zero, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

void gh_mutex_lock(gh_mutex *l) {
  if (try_lock(l)) return;
  for (int spin = 0; spin < 200; spin++) {
    gh_cpu_relax();
    if (__atomic_load_n(&l->state, __ATOMIC_RELAXED) == 0 && try_lock(l)) return;
  }
  while (__atomic_exchange_n(&l->state, 2, __ATOMIC_ACQUIRE) != 0) futex_wait(&l->state, 2);
}

void gh_mutex_unlock(gh_mutex *l) {
  if (__atomic_exchange_n(&l->state, 0, __ATOMIC_RELEASE) == 2) futex_wake(&l->state);
}

void gh_mutex_reinit(gh_mutex *l) { __atomic_store_n(&l->state, 0, __ATOMIC_RELAXED); }

static pthread_key_t thread_key;

int gh_os_thread_key_create(gh_thread_exit_fn fn) { return pthread_key_create(&thread_key, fn); }
void gh_os_thread_key_set(void *value) { pthread_setspecific(thread_key, value); }

int gh_os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void)) {
  return pthread_atfork(prepare, parent, child);
}

uint64_t gh_os_thread_id(void) { return (uint64_t)syscall(SYS_gettid); }

void gh_os_write_fd(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    buf += n;
    len -= (size_t)n;
  }
}

void gh_os_write_stderr(const char *buf, size_t len) { gh_os_write_fd(2, buf, len); }

int gh_os_dup_stderr(void) {
  int fd = fcntl(2, F_DUPFD_CLOEXEC, 100);
  return fd < 0 ? 2 : fd;
}

void gh_os_abort(void) { abort(); }

const char *gh_os_getenv(const char *name) {
  if (!environ) return NULL;
  size_t n = strlen(name);
  for (char **e = environ; *e; e++)
    if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') return *e + n + 1;
  return NULL;
}

int gh_os_getpid(void) { return (int)getpid(); }

uint64_t gh_os_nanotime(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t gh_os_rss(void) {
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[128];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  const char *p = buf;
  while (*p && *p != ' ') p++; /* skip size */
  uint64_t pages = 0;
  while (*p == ' ') p++;
  while (*p >= '0' && *p <= '9') pages = pages * 10 + (uint64_t)(*p++ - '0');
  return pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

int gh_os_get_errno(void) { return errno; }
void gh_os_set_errno(int e) { errno = e; }
