/*
 * os.h -- the platform layer: the only place goheap talks to the kernel or to
 * libc for anything but memcpy/memset. (Go: mem_linux.go, os_linux.go, lock_futex.go.)
 *
 * Contract for every memory call: addresses and lengths are multiples of the
 * OS page size; a call that returns int returns 0 on success and -1 on failure.
 * Nothing here allocates through malloc, so it is safe while goheap is the
 * process's malloc and before it is initialised.
 *
 * Address-space states (Go's mem.go state machine):
 *   None --reserve--> Reserved (PROT_NONE) --commit--> Ready (read/write)
 *   Ready --decommit(MADV_DONTNEED)--> Ready but released (zero on next touch)
 *   any --release--> None
 */
#ifndef GH_OS_H
#define GH_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

/* Every writable global of goheap is defined GH_DATA: it lives in the
 * section gh_data, which the collector leaves out of the roots
 * (mgcmark.c), so no goheap variable can keep a heap object alive (a
 * reservation hint, the heap's bounds, a stale pointer in a statistics
 * table...). tools/lint/globals.py checks that no object file has any other
 * writable data. */
#define GH_DATA __attribute__((section("gh_data")))

/* ---- memory ---- */
void *gh_os_reserve(void *hint, size_t size);     /* PROT_NONE; NULL on failure */
void *gh_os_reserve_aligned(size_t size, size_t align); /* aligned reservation; NULL on failure */
int gh_os_commit(void *addr, size_t size);        /* Reserved -> Ready */
int gh_os_decommit(void *addr, size_t size);      /* give the pages back; they read as zero after */
void gh_os_release(void *addr, size_t size);      /* -> None */
void *gh_os_alloc_metadata(size_t size);          /* fresh zeroed read/write memory, NULL on failure */
/* Calls fn for every metadata mapping not released yet; false if some could
 * not be recorded (the table of them was full). */
_Bool gh_os_each_metadata(void (*fn)(uintptr_t lo, uintptr_t hi, void *arg), void *arg);
size_t gh_os_page_size(void);

/* ---- locks: a futex mutex that spins briefly before sleeping (goheap's
 * critical sections are a few dozen instructions); no allocation, usable
 * before init. state: 0 free, 1 held, 2 held and maybe waited for. rank is
 * the lock's place in goheap's lock order (lockrank.c), unused here. The rest
 * of goheap locks through gh_mutex_lock (internal.h), which checks the order
 * in debug builds. ---- */
/* counted: 1 when the holder is a registered thread whose slow-path count
 * the lock raised (internal.h: gh_mutex_lock), so that the release lowers
 * it. Only the holder writes it. */
typedef struct gh_mutex {
  uint32_t state;
  uint16_t rank;
  uint16_t counted;
} gh_mutex;
#define GH_MUTEX_INIT(rank) { 0, (rank), 0 }
void gh_os_mutex_lock(gh_mutex *l);
void gh_os_mutex_unlock(gh_mutex *l);
void gh_os_mutex_reinit(gh_mutex *l); /* in a fork child: the lock is free again */

/* ---- threads ---- */
typedef void (*gh_thread_exit_fn)(void *arg);
int gh_os_thread_key_create(gh_thread_exit_fn fn); /* one key, the mcache destructor */
void gh_os_thread_key_set(void *value);
int gh_os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));
uint64_t gh_os_thread_id(void);

/* ---- waiting: futex words (no allocation; usable in signal handlers) ---- */
void gh_os_futex_wait(uint32_t *addr, uint32_t val);          /* sleeps while *addr == val */
void gh_os_futex_wait_ns(uint32_t *addr, uint32_t val, uint64_t ns); /* ... at most ns */
void gh_os_futex_wake_all(uint32_t *addr);
void gh_os_yield(void);

/* ---- the collector's threads and signals ---- */
int gh_os_thread_start(void *(*fn)(void *), void *arg); /* a detached thread; 0 or an errno */
/* The C library's pthread_create (goheap interposes the name: override.c). */
int gh_os_thread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
void gh_os_thread_unblock_signals(void);                /* in a thread gh_os_thread_start made */
int gh_os_ncpu(void);                                   /* CPUs this process may run on */
uint64_t gh_os_thread_cputime_ns(void);
typedef void (*gh_signal_fn)(int sig, void *ucontext);
int gh_os_signal_install(int sig, gh_signal_fn fn);     /* SA_RESTART handler; 0 or -1 */
int gh_os_default_stop_signal(void);                    /* SIGRTMIN+7 */
/* The C library's pthread_sigmask (process: sigprocmask), called with `set`
 * (a sigset_t) less `keep` (if > 0) when it would block signals. */
int gh_os_sigmask(bool process, int how, const void *set, void *old, int keep);
void gh_os_sigmask_init(void); /* finds the C library's two, at initialisation */
int gh_os_signal_thread(uint64_t tid, int sig);         /* 0, or -1 if no such thread (it has exited) */
uintptr_t gh_os_context_pc(const void *ucontext);
/* Copies the general registers saved in a signal context (at most n words); returns the count. */
int gh_os_context_regs(const void *ucontext, uintptr_t *out, int n);
/* The end (exclusive) of the mapping that holds addr: a thread's stack top; 0 if unknown.
 * Reads /proc/self/maps with raw system calls: safe in a signal handler. */
uintptr_t gh_os_stack_top(uintptr_t addr);
/* ---- write tracking (the concurrent mark's write barrier: mbarrier.c) ----
 * userfaultfd's asynchronous write protection (Linux 6.7+) with the
 * PAGEMAP_SCAN ioctl: the kernel resolves the write fault of a protected
 * page itself (no signal, no thread; a read(2) into it works) and remembers
 * the page as written; one ioctl lists the written pages and protects them
 * again. Ranges are page aligned; a range must be registered (after it was
 * committed: a commit maps it anew) before it is protected. */
int gh_os_wp_init(void);                              /* 0, or -1: not available here */
int gh_os_wp_register(uintptr_t lo, uintptr_t hi);    /* 0 or -1 */
int gh_os_wp_protect(uintptr_t lo, uintptr_t hi);     /* protect every page: 0 or -1 */
int gh_os_wp_unprotect(uintptr_t lo, uintptr_t hi);   /* 0 or -1 */
/* Calls fn for each run of pages of [lo, hi) written since it was last
 * protected, in address order; with `reprotect`, protects them again in the
 * same call (no write is lost between the two). -1 on failure (then every
 * page must be taken as written). */
int gh_os_wp_written(uintptr_t lo, uintptr_t hi, _Bool reprotect, void (*fn)(uintptr_t lo, uintptr_t hi, void *ctx),
                     void *ctx);
void gh_os_wp_close(void); /* a fork child: the parent's registrations are not the child's */
/* membarrier(2)'s private expedited command: after gh_os_membarrier returns,
 * every store any thread of the process made before it is visible to the
 * caller (the manual barrier's precleaning, mbarrier.c). init registers the
 * process once: 0, or -1 if the kernel does not have it (Linux 4.14+). */
int gh_os_membarrier_init(void);
int gh_os_membarrier(void); /* 0 or -1 */

/* Zeroes 8 KiB of the calling thread's stack below its frame: the dead
 * frames of what it called, whose stale pointers would otherwise stay
 * visible to a conservative scan (the leak check reads every anonymous
 * mapping; a sleeping thread's registers are saved below its frame). */
void gh_os_clear_dead_stack(void);
/* One line of /proc/self/maps; path is "" for an anonymous mapping, valid
 * only during the callback. */
typedef struct gh_os_mapping {
  uintptr_t lo, hi, offset;
  const char *path;
  _Bool readable, writable, executable, shared;
} gh_os_mapping;
/* Calls fn for each mapping of the process, in address order, until it
 * returns false. Raw system calls, no allocation. */
void gh_os_each_mapping(_Bool (*fn)(const gh_os_mapping *m, void *arg), void *arg);
/* Writes the thread's name (/proc/self/task/TID/comm) into buf; "?" if unknown. */
void gh_os_thread_name(uint64_t tid, char *buf, size_t n);
/* 1 if the thread blocks sig (its SigBlk mask), 0 if not, -1 if unknown. */
int gh_os_thread_blocks_signal(uint64_t tid, int sig);
/* Calls fn for each writable loaded segment of the program and its shared
 * libraries (dl_iterate_phdr). Takes the dynamic loader's lock: never call it
 * while other threads are stopped. */
void gh_os_each_data_segment(void (*fn)(uintptr_t lo, uintptr_t hi, void *arg), void *arg);
/* The memory limit of this process's cgroup in bytes (v2 memory.max, v1
 * memory.limit_in_bytes), or -1 if none. */
int64_t gh_os_cgroup_memory_limit(void);

/* ---- call stacks ---- */
/* The return addresses of the calling thread's frames, innermost first; the count. */
int gh_os_backtrace(uintptr_t *pcs, int max);
/* The loaded object holding pc (path and load address) and the exported
 * function whose extent holds pc (NULL if none); false if pc is in no object. */
_Bool gh_os_symbolize(uintptr_t pc, const char **object, uintptr_t *object_base, const char **symbol,
                      uintptr_t *symbol_addr);

/* The executable mapping of goheap's own code, if goheap is a shared object
 * of its own; false if it is linked into the program. */
_Bool gh_os_own_text(uintptr_t *lo, uintptr_t *hi);

/* The next definition of a symbol after goheap's own (dlsym RTLD_NEXT), or NULL. */
void *gh_os_next_symbol(const char *name);

/* ---- process ---- */
/* Flushes stdio's buffers and _exit()s: for exit-time reports that change the status. */
__attribute__((noreturn)) void gh_os_exit_now(int status);
void gh_os_write_stderr(const char *buf, size_t len);
int gh_os_dup_stderr(void); /* a close-on-exec copy of fd 2, or 2 if that fails */
int gh_os_write_fd(int fd, const char *buf, size_t len); /* 0, or -1 with errno */
/* Opens a file for writing (created or truncated); "%p" in path becomes the
 * pid. Returns the fd, or -1 with errno set. */
int gh_os_open_output(const char *path);
void gh_os_close(int fd);
__attribute__((noreturn)) void gh_os_abort(void);
const char *gh_os_getenv(const char *name); /* scans environ; never allocates */
int gh_os_getpid(void);
uint64_t gh_os_nanotime(void); /* monotonic */
uint64_t gh_os_realtime_ns(void); /* since the Unix epoch */
/* Resident set size in bytes read from /proc/self/statm, 0 if unknown. */
uint64_t gh_os_rss(void);
int gh_os_get_errno(void);
const char *gh_os_strerror(int e); /* strerror's words for common file errors; NULL for others */
void gh_os_set_errno(int e);

#endif
