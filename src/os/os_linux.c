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

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <link.h>
#include <sched.h>
#include <ucontext.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/auxv.h>
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

/* Every mapping of goheap's own metadata, so that the leak check can leave
 * them out of its roots (span structs hold the address of each span's first
 * object). Slots are claimed by CAS on lo and freed by storing 0: no lock,
 * so nothing to take across fork. If the table fills up, `meta_overflow`
 * says that some metadata went unrecorded. */
#define META_SLOTS 2048
static GH_DATA struct { uintptr_t lo, hi; } meta[META_SLOTS];
static GH_DATA uint32_t meta_overflow;

static void meta_add(uintptr_t lo, size_t size) {
  for (uint32_t i = 0; i < META_SLOTS; i++) {
    uintptr_t zero = 0;
    if (__atomic_load_n(&meta[i].lo, __ATOMIC_RELAXED) == 0 &&
        __atomic_compare_exchange_n(&meta[i].lo, &zero, lo, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
      __atomic_store_n(&meta[i].hi, lo + size, __ATOMIC_RELEASE);
      return;
    }
  }
  __atomic_store_n(&meta_overflow, 1, __ATOMIC_RELAXED);
}

static void meta_remove(uintptr_t lo) {
  for (uint32_t i = 0; i < META_SLOTS; i++) {
    if (__atomic_load_n(&meta[i].lo, __ATOMIC_ACQUIRE) == lo) {
      __atomic_store_n(&meta[i].hi, 0, __ATOMIC_RELAXED);
      __atomic_store_n(&meta[i].lo, 0, __ATOMIC_RELEASE);
      return;
    }
  }
}

_Bool gh_os_each_metadata(void (*fn)(uintptr_t lo, uintptr_t hi, void *arg), void *arg) {
  for (uint32_t i = 0; i < META_SLOTS; i++) {
    uintptr_t lo = __atomic_load_n(&meta[i].lo, __ATOMIC_ACQUIRE), hi = __atomic_load_n(&meta[i].hi, __ATOMIC_ACQUIRE);
    if (lo && hi > lo) fn(lo, hi, arg);
  }
  return !__atomic_load_n(&meta_overflow, __ATOMIC_RELAXED);
}

void gh_os_release(void *addr, size_t size) {
  meta_remove((uintptr_t)addr);
  munmap(addr, size);
}

void *gh_os_alloc_metadata(size_t size) {
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return NULL;
  meta_add((uintptr_t)p, size);
  return p;
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

void gh_os_mutex_lock(gh_mutex *l) {
  if (try_lock(l)) return;
  for (int spin = 0; spin < 200; spin++) {
    gh_cpu_relax();
    if (__atomic_load_n(&l->state, __ATOMIC_RELAXED) == 0 && try_lock(l)) return;
  }
  while (__atomic_exchange_n(&l->state, 2, __ATOMIC_ACQUIRE) != 0) futex_wait(&l->state, 2);
}

void gh_os_mutex_unlock(gh_mutex *l) {
  if (__atomic_exchange_n(&l->state, 0, __ATOMIC_RELEASE) == 2) futex_wake(&l->state);
}

void gh_os_mutex_reinit(gh_mutex *l) { __atomic_store_n(&l->state, 0, __ATOMIC_RELAXED); }

static GH_DATA pthread_key_t thread_key;

int gh_os_thread_key_create(gh_thread_exit_fn fn) { return pthread_key_create(&thread_key, fn); }
void gh_os_thread_key_set(void *value) { pthread_setspecific(thread_key, value); }

int gh_os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void)) {
  return pthread_atfork(prepare, parent, child);
}

uint64_t gh_os_thread_id(void) { return (uint64_t)syscall(SYS_gettid); }

int gh_os_write_fd(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) errno = EIO;
    if (n <= 0) return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
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

uint64_t gh_os_realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

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
/* strerror's words for what open(2) and write(2) may answer, without
 * strerror: it may translate, and so allocate, in a program that set a
 * locale. NULL for the others. */
const char *gh_os_strerror(int e) {
  switch (e) {
  case ENOENT: return "No such file or directory";
  case EACCES: return "Permission denied";
  case EPERM: return "Operation not permitted";
  case ENOTDIR: return "Not a directory";
  case EISDIR: return "Is a directory";
  case EROFS: return "Read-only file system";
  case ENOSPC: return "No space left on device";
  case EDQUOT: return "Disk quota exceeded";
  case ELOOP: return "Too many levels of symbolic links";
  case ENAMETOOLONG: return "File name too long";
  case EMFILE: return "Too many open files";
  case ENFILE: return "Too many open files in system";
  case ETXTBSY: return "Text file busy";
  case EIO: return "Input/output error";
  case EPIPE: return "Broken pipe";
  case EBADF: return "Bad file descriptor";
  case ENOMEM: return "Cannot allocate memory";
  case EFBIG: return "File too large";
  default: return NULL;
  }
}
void gh_os_set_errno(int e) { errno = e; }

/* ---- waiting ---------------------------------------------------------------- */

void gh_os_futex_wait(uint32_t *addr, uint32_t val) { futex_wait(addr, val); }

void gh_os_futex_wait_ns(uint32_t *addr, uint32_t val, uint64_t ns) {
  struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
  syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

void gh_os_futex_wake_all(uint32_t *addr) { syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0); }

void gh_os_yield(void) { sched_yield(); }

/* ---- the collector's threads and signals ----------------------------------- */

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
static GH_DATA pthread_create_fn real_pthread_create;

/* The C library's pthread_create: the next definition after goheap's own
 * when goheap comes first (LD_PRELOAD, -lgoheap), else the C library's own
 * (goheap loaded after it, as libgc.so.1's dependency), found once. */
static pthread_create_fn find_pthread_create(void) {
  pthread_create_fn f = (pthread_create_fn)dlsym(RTLD_NEXT, "pthread_create");
  if (f) return f;
  void *libc = dlopen("libc.so.6", RTLD_NOLOAD | RTLD_LAZY);
  return libc ? (pthread_create_fn)dlsym(libc, "pthread_create") : NULL;
}

int gh_os_thread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg) {
  pthread_create_fn create = __atomic_load_n(&real_pthread_create, __ATOMIC_ACQUIRE);
  if (!create) {
    create = find_pthread_create();
    if (!create) { /* a fully static program: no dynamic loader to ask */
      static const char msg[] = "goheap: cannot find the C library's pthread_create (static linking?)\n";
      gh_os_write_stderr(msg, sizeof msg - 1);
      return EAGAIN;
    }
    __atomic_store_n(&real_pthread_create, create, __ATOMIC_RELEASE);
  }
  return create(t, attr, fn, arg);
}

int gh_os_thread_start(void *(*fn)(void *), void *arg) {
  pthread_attr_t attr;
  pthread_t t;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  sigset_t all, old;
  sigfillset(&all); /* the new thread starts with every signal blocked, then unblocks its own */
  gh_os_sigmask(false, SIG_SETMASK, &all, &old, 0); /* the C library's: override.c's keeps the stop signal */
  int rc = gh_os_thread_create(&t, &attr, fn, arg);
  gh_os_sigmask(false, SIG_SETMASK, &old, NULL, 0);
  pthread_attr_destroy(&attr);
  return rc;
}

void gh_os_thread_unblock_signals(void) {
  sigset_t none;
  sigemptyset(&none);
  gh_os_sigmask(false, SIG_SETMASK, &none, NULL, 0);
}

int gh_os_ncpu(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

uint64_t gh_os_thread_cputime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static GH_DATA gh_signal_fn signal_fns[_NSIG];

static void signal_trampoline(int sig, siginfo_t *info, void *uc) {
  (void)info;
  if (sig > 0 && sig < _NSIG && signal_fns[sig]) signal_fns[sig](sig, uc);
}

int gh_os_signal_install(int sig, gh_signal_fn fn) {
  if (sig <= 0 || sig >= _NSIG) return -1;
  signal_fns[sig] = fn;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = signal_trampoline;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  return sigaction(sig, &sa, NULL);
}

int gh_os_default_stop_signal(void) { return SIGRTMIN + 7; }

typedef int (*sigmask_fn)(int, const sigset_t *, sigset_t *);
static GH_DATA sigmask_fn real_sigmask[2]; /* pthread_sigmask, sigprocmask */

static sigmask_fn find_sigmask(bool process) {
  sigmask_fn f = __atomic_load_n(&real_sigmask[process], __ATOMIC_ACQUIRE);
  if (!f) {
    f = (sigmask_fn)dlsym(RTLD_NEXT, process ? "sigprocmask" : "pthread_sigmask");
    if (f) __atomic_store_n(&real_sigmask[process], f, __ATOMIC_RELEASE);
  }
  return f;
}

/* At initialisation: dlsym is not async-signal-safe, and signal handlers
 * may change the mask. */
void gh_os_sigmask_init(void) {
  find_sigmask(false);
  find_sigmask(true);
}

int gh_os_sigmask(bool process, int how, const void *set, void *old, int keep) {
  sigmask_fn f = find_sigmask(process);
  if (!f) { /* linked statically: the kernel's call (glibc's also keeps its own two signals) */
    long rc = syscall(SYS_rt_sigprocmask, how, set, old, (size_t)(_NSIG / 8));
    return process ? (int)rc : rc == 0 ? 0 : errno;
  }
  sigset_t less;
  if (set && keep > 0 && (how == SIG_BLOCK || how == SIG_SETMASK) && sigismember((const sigset_t *)set, keep) == 1) {
    less = *(const sigset_t *)set;
    sigdelset(&less, keep);
    set = &less;
  }
  return f(how, set, old);
}

int gh_os_signal_thread(uint64_t tid, int sig) {
  if (syscall(SYS_tgkill, getpid(), (pid_t)tid, sig) == 0) return 0;
  return errno == ESRCH ? -1 : 0; /* EAGAIN (signal queue full): sent again later */
}

uintptr_t gh_os_context_pc(const void *ucontext) {
  const ucontext_t *uc = ucontext;
#if defined(__x86_64__)
  return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
  return (uintptr_t)uc->uc_mcontext.pc;
#else
  (void)uc;
  return 0;
#endif
}

int gh_os_context_regs(const void *ucontext, uintptr_t *out, int n) {
  const ucontext_t *uc = ucontext;
  int k = 0;
#if defined(__x86_64__)
  for (; k < n && k < NGREG; k++) out[k] = (uintptr_t)uc->uc_mcontext.gregs[k];
#elif defined(__aarch64__)
  for (; k < n && k < 31; k++) out[k] = (uintptr_t)uc->uc_mcontext.regs[k];
#else
  (void)uc, (void)out, (void)n;
#endif
  return k;
}

static uintptr_t parse_hex(const char **p) {
  uintptr_t v = 0;
  for (;; (*p)++) {
    char ch = **p;
    if (ch >= '0' && ch <= '9') v = v * 16 + (uintptr_t)(ch - '0');
    else if (ch >= 'a' && ch <= 'f') v = v * 16 + (uintptr_t)(ch - 'a' + 10);
    else return v;
  }
}

/* Reads a whole small file into buf (NUL-terminated); the length, or -1. */
static long read_small_file(const char *path, char *buf, size_t n) {
  int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t len = 0;
  for (;;) {
    long r = syscall(SYS_read, fd, buf + len, n - 1 - len);
    if (r <= 0 || (len += (size_t)r) == n - 1) break;
  }
  syscall(SYS_close, fd);
  buf[len] = 0;
  return (long)len;
}

/* Reads /proc/self/maps with raw system calls, one line at a time, into a
 * stack buffer (no allocation: safe in a signal handler and inside malloc). */
void gh_os_each_mapping(bool (*fn)(const gh_os_mapping *m, void *arg), void *arg) {
  int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char buf[8192];
  size_t have = 0;
  bool more = true;
  while (more) {
    long r = syscall(SYS_read, fd, buf + have, sizeof buf - 1 - have);
    if (r <= 0) break;
    have += (size_t)r;
    buf[have] = 0;
    char *line = buf, *nl;
    while (more && (nl = strchr(line, '\n')) != NULL) { /* "lo-hi perms offset dev inode   path" */
      *nl = 0;
      const char *p = line;
      gh_os_mapping m = {0};
      m.lo = parse_hex(&p);
      m.hi = *p == '-' ? (p++, parse_hex(&p)) : 0;
      while (*p == ' ') p++;
      m.readable = p[0] == 'r';
      m.writable = p[0] && p[1] == 'w';
      m.executable = p[0] && p[1] && p[2] == 'x';
      m.shared = p[0] && p[1] && p[2] && p[3] == 's';
      for (int field = 0; field < 4 && *p; field++) { /* perms, offset, dev, inode */
        while (*p && *p != ' ') p++;
        while (*p == ' ') p++;
        if (field == 0) {
          const char *q = p;
          m.offset = parse_hex(&q);
        }
      }
      m.path = p;
      more = fn(&m, arg);
      line = nl + 1;
    }
    have = (size_t)(buf + have - line);
    memmove(buf, line, have);
    if (have == sizeof buf - 1) have = 0; /* an absurdly long line: drop it */
  }
  syscall(SYS_close, fd);
}

typedef struct { uintptr_t addr, top; } stack_top_query;

static bool find_top(const gh_os_mapping *m, void *arg) {
  stack_top_query *q = arg;
  if (q->addr >= m->lo && q->addr < m->hi) q->top = m->hi;
  return q->top == 0;
}

/* ---- write tracking: userfaultfd async write protection + PAGEMAP_SCAN ----
 * Debian 12's headers are Linux 6.1's: the 6.7 constants are defined here. */
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#define WP_FEATURE_UNPOPULATED (1ull << 13) /* UFFD_FEATURE_WP_UNPOPULATED */
#define WP_FEATURE_ASYNC (1ull << 15)       /* UFFD_FEATURE_WP_ASYNC */
struct wp_scan_arg {                         /* struct pm_scan_arg */
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
  uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
struct wp_region { uint64_t start, end, categories; }; /* struct page_region */
#define WP_PAGEMAP_SCAN _IOWR('f', 16, struct wp_scan_arg)
#define WP_PAGE_IS_WRITTEN (1ull << 1)
#define WP_SCAN_WP_MATCHING (1ull << 0)
#define WP_SCAN_CHECK_WPASYNC (1ull << 1)

static GH_DATA int wp_uffd = -1, wp_pagemap = -1;

#include <linux/membarrier.h>

int gh_os_membarrier_init(void) {
  return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0 ? 0 : -1;
}

int gh_os_membarrier(void) { return syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0 ? 0 : -1; }

void gh_os_wp_close(void) {
  if (wp_uffd >= 0) syscall(SYS_close, wp_uffd);
  if (wp_pagemap >= 0) syscall(SYS_close, wp_pagemap);
  wp_uffd = wp_pagemap = -1;
}

/* PAGEMAP_SCAN over [lo, hi) for the written pages, 64 runs per call;
 * reprotect: protect them in the same call. */
int gh_os_wp_written(uintptr_t lo, uintptr_t hi, bool reprotect, void (*fn)(uintptr_t, uintptr_t, void *), void *ctx) {
  struct wp_region v[64];
  while (lo < hi) {
    struct wp_scan_arg a = {.size = sizeof a, .start = lo, .end = hi, .vec = (uintptr_t)v, .vec_len = 64,
                            .flags = WP_SCAN_CHECK_WPASYNC | (reprotect ? WP_SCAN_WP_MATCHING : 0),
                            .category_mask = WP_PAGE_IS_WRITTEN, .return_mask = WP_PAGE_IS_WRITTEN};
    long r = ioctl(wp_pagemap, WP_PAGEMAP_SCAN, &a);
    if (r < 0 || a.walk_end <= lo || a.walk_end > hi) return -1;
    for (long i = 0; fn && i < r; i++) fn((uintptr_t)v[i].start, (uintptr_t)v[i].end, ctx);
    lo = (uintptr_t)a.walk_end;
  }
  return 0;
}

int gh_os_wp_register(uintptr_t lo, uintptr_t hi) {
  struct uffdio_register r = {.range = {lo, hi - lo}, .mode = UFFDIO_REGISTER_MODE_WP};
  return wp_uffd >= 0 && ioctl(wp_uffd, UFFDIO_REGISTER, &r) == 0 ? 0 : -1;
}

int gh_os_wp_protect(uintptr_t lo, uintptr_t hi) { return gh_os_wp_written(lo, hi, true, NULL, NULL); }

int gh_os_wp_unprotect(uintptr_t lo, uintptr_t hi) {
  struct uffdio_writeprotect w = {.range = {lo, hi - lo}, .mode = 0};
  return ioctl(wp_uffd, UFFDIO_WRITEPROTECT, &w) == 0 ? 0 : -1;
}

/* Opens the two descriptors and checks the whole mechanism on a scratch
 * page: protected, written, reported, protected again. */
int gh_os_wp_init(void) {
  gh_os_wp_close();
  wp_uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
  struct uffdio_api api = {.api = UFFD_API, .features = WP_FEATURE_ASYNC | WP_FEATURE_UNPOPULATED};
  if (wp_uffd < 0 || ioctl(wp_uffd, UFFDIO_API, &api) != 0) goto fail;
  wp_pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  size_t page = gh_os_page_size();
  char *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (wp_pagemap < 0 || p == MAP_FAILED) goto fail;
  uintptr_t lo = (uintptr_t)p, hi = lo + page;
  struct wp_region v[1];
  struct wp_scan_arg a = {.size = sizeof a, .start = lo, .end = hi, .vec = (uintptr_t)v, .vec_len = 1,
                          .flags = WP_SCAN_CHECK_WPASYNC, .category_mask = WP_PAGE_IS_WRITTEN,
                          .return_mask = WP_PAGE_IS_WRITTEN};
  bool ok = gh_os_wp_register(lo, hi) == 0 && gh_os_wp_protect(lo, hi) == 0;
  ok = ok && ioctl(wp_pagemap, WP_PAGEMAP_SCAN, &a) == 0; /* protected: nothing written */
  *(volatile char *)p = 1;
  ok = ok && ioctl(wp_pagemap, WP_PAGEMAP_SCAN, &a) == 1; /* the write is seen */
  ok = ok && gh_os_wp_protect(lo, hi) == 0 && ioctl(wp_pagemap, WP_PAGEMAP_SCAN, &a) == 0;
  munmap(p, page);
  if (ok) return 0;
fail:
  gh_os_wp_close();
  return -1;
}

__attribute__((noinline)) void gh_os_clear_dead_stack(void) {
  volatile uintptr_t buf[1024];
  for (size_t i = 0; i < sizeof buf / sizeof buf[0]; i++) buf[i] = 0;
  __asm__ __volatile__("" : : "r"(buf) : "memory");
}

uintptr_t gh_os_stack_top(uintptr_t addr) {
  stack_top_query q = {addr, 0};
  gh_os_each_mapping(find_top, &q);
  return q.top;
}

/* Opens path for writing (created or truncated, close-on-exec), with every
 * "%p" replaced by the process id, so each process of a tree gets its own. */
int gh_os_open_output(const char *path) {
  char name[4096];
  size_t n = 0;
  for (const char *s = path; *s && n < sizeof name - 24; s++) {
    if (s[0] == '%' && s[1] == 'p') {
      char digits[16];
      int k = 0;
      for (unsigned pid = (unsigned)getpid(); k == 0 || pid; pid /= 10) digits[k++] = (char)('0' + pid % 10);
      while (k) name[n++] = digits[--k];
      s++;
      continue;
    }
    name[n++] = *s;
  }
  name[n] = 0;
  return (int)syscall(SYS_openat, AT_FDCWD, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

void gh_os_close(int fd) { syscall(SYS_close, fd); }

static void task_path(char *path, uint64_t tid, const char *leaf) {
  char digits[24];
  int n = 0;
  do digits[n++] = (char)('0' + tid % 10); while ((tid /= 10) > 0);
  char *p = path;
  for (const char *s = "/proc/self/task/"; *s;) *p++ = *s++;
  while (n > 0) *p++ = digits[--n];
  *p++ = '/';
  for (const char *s = leaf; *s;) *p++ = *s++;
  *p = 0;
}

void gh_os_thread_name(uint64_t tid, char *buf, size_t n) {
  char path[64];
  task_path(path, tid, "comm");
  long len = read_small_file(path, buf, n);
  if (len <= 0) {
    buf[0] = '?', buf[1] = 0;
    return;
  }
  if (buf[len - 1] == '\n') buf[len - 1] = 0;
}

int gh_os_thread_blocks_signal(uint64_t tid, int sig) {
  char path[64], buf[2048];
  task_path(path, tid, "status");
  if (read_small_file(path, buf, sizeof buf) <= 0) return -1;
  const char *p = strstr(buf, "SigBlk:");
  if (!p) return -1;
  p += 7;
  while (*p == ' ' || *p == '\t') p++;
  uint64_t mask = parse_hex(&p);
  return (int)(mask >> (sig - 1) & 1);
}

typedef struct segment_walk {
  void (*fn)(uintptr_t lo, uintptr_t hi, void *arg);
  void *arg;
} segment_walk;

static int each_object(struct dl_phdr_info *info, size_t size, void *data) {
  segment_walk *w = data;
  (void)size;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W)) continue;
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
    w->fn(lo, lo + ph->p_memsz, w->arg);
  }
  return 0;
}

void gh_os_each_data_segment(void (*fn)(uintptr_t lo, uintptr_t hi, void *arg), void *arg) {
  segment_walk w = {fn, arg};
  dl_iterate_phdr(each_object, &w);
}

static int64_t parse_limit(const char *s) {
  if (*s < '0' || *s > '9') return -1; /* "max" */
  int64_t v = 0;
  for (; *s >= '0' && *s <= '9'; s++) {
    if (v > (INT64_MAX - 9) / 10) return -1;
    v = v * 10 + (*s - '0');
  }
  return v >= ((int64_t)1 << 60) ? -1 : v; /* v1 reports "no limit" as a huge number */
}

int64_t gh_os_cgroup_memory_limit(void) {
  char buf[64];
  if (read_small_file("/sys/fs/cgroup/memory.max", buf, sizeof buf) > 0) return parse_limit(buf);
  if (read_small_file("/sys/fs/cgroup/memory/memory.limit_in_bytes", buf, sizeof buf) > 0) return parse_limit(buf);
  return -1;
}

/* ---- call stacks ---------------------------------------------------------------- */

/* The C library's unwinder (DWARF tables: no frame pointers needed). Its
 * first call loads libgcc_s, which allocates: mprof.c calls it once early. */
int gh_os_backtrace(uintptr_t *pcs, int max) { return backtrace((void **)pcs, max); }

/* The object holding pc, and the symbol of the dynamic symbol table whose
 * extent holds pc (NULL if none: dladdr's "nearest symbol below" would name
 * static functions after the exported one before them). dladdr1 never allocates. */
_Bool gh_os_symbolize(uintptr_t pc, const char **object, uintptr_t *object_base, const char **symbol,
                      uintptr_t *symbol_addr) {
  Dl_info info;
  const ElfW(Sym) *sym = NULL;
  if (!dladdr1((void *)pc, &info, (void **)&sym, RTLD_DL_SYMENT) || !info.dli_fname) return 0;
  *object = info.dli_fname;
  *object_base = (uintptr_t)info.dli_fbase;
  bool exact = info.dli_sname && sym && pc - (uintptr_t)info.dli_saddr < sym->st_size;
  *symbol = exact ? info.dli_sname : NULL;
  *symbol_addr = exact ? (uintptr_t)info.dli_saddr : 0;
  return 1;
}

typedef struct { uintptr_t pc, lo, hi; } text_query;

static bool find_text(const gh_os_mapping *m, void *arg) {
  text_query *q = arg;
  if (q->pc < m->lo || q->pc >= m->hi) return true;
  q->lo = m->lo;
  q->hi = m->hi;
  return false;
}

/* The executable mapping of goheap's own code when goheap is a shared
 * object of its own (libgoheap.so); false when it is linked into the
 * program (the program's code is there too) or unknown. */
_Bool gh_os_own_text(uintptr_t *lo, uintptr_t *hi) {
  Dl_info self, program;
  void *phdr = (void *)getauxval(AT_PHDR);
  if (!dladdr((void *)(uintptr_t)gh_os_own_text, &self) || !phdr || !dladdr(phdr, &program)) return 0;
  if (self.dli_fbase == program.dli_fbase) return 0;
  text_query q = {(uintptr_t)gh_os_own_text, 0, 0};
  gh_os_each_mapping(find_text, &q);
  *lo = q.lo;
  *hi = q.hi;
  return q.hi > q.lo;
}

/* The next definition of name after goheap's (RTLD_NEXT), or NULL. */
void *gh_os_next_symbol(const char *name) { return dlsym(RTLD_NEXT, name); }

/* Flushes the C library's streams (the program's output), then exits now. */
void gh_os_exit_now(int status) {
  fflush(NULL);
  _exit(status);
}
