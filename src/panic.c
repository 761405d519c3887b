/*
 * panic.c -- reporting bad calls and broken invariants. (Go: panic.go:throw.)
 *
 * Bad input from the program (a double free, a foreign or interior pointer,
 * a sized free with the wrong size) is reported with one line on stderr:
 *
 *   goheap: double free of 0x...: the 48-byte object there is already free
 *   goheap: free of 0x...: pointer not allocated by goheap
 *   goheap: free of 0x...: points into the middle of the 48-byte object at 0x...
 *   goheap: free_sized of 0x...: size mismatch: given 100, the object is 48 bytes
 *
 * (`free` is replaced by the operation: realloc, free_sized, ...). Then, by
 * default, a second line and abort() (SIGABRT, shell status 134); with
 * GOHEAP_ON_ERROR=report the call is ignored and the program goes on.
 * An internal invariant that fails is always fatal ("goheap: fatal error: ").
 * No function here allocates: messages are built in a stack buffer.
 */
#include "internal.h"

static GH_DATA uint64_t error_count;

void gh_buf_str(gh_buf *b, const char *s) {
  while (*s && b->p < b->end) *b->p++ = *s++;
}

void gh_buf_u64(gh_buf *b, uint64_t v) {
  char tmp[24];
  int n = 0;
  do tmp[n++] = (char)('0' + v % 10); while ((v /= 10) != 0);
  while (n > 0 && b->p < b->end) *b->p++ = tmp[--n];
}

void gh_buf_hex(gh_buf *b, uint64_t v) {
  char tmp[20];
  int n = 0;
  do tmp[n++] = "0123456789abcdef"[v & 15]; while ((v >>= 4) != 0);
  gh_buf_str(b, "0x");
  while (n > 0 && b->p < b->end) *b->p++ = tmp[--n];
}

void gh_buf_bytes(gh_buf *b, uint64_t v) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  uint64_t scaled = v * 10; /* one decimal */
  while (scaled >= 10240 && u < 4) {
    scaled /= 1024;
    u++;
  }
  gh_buf_u64(b, scaled / 10);
  if (u > 0) {
    gh_buf_str(b, ".");
    gh_buf_u64(b, scaled % 10);
  }
  gh_buf_str(b, " ");
  gh_buf_str(b, units[u]);
}

static void flush_line(gh_buf *b, char *start) {
  gh_buf_str(b, "\n");
  gh_os_write_stderr(start, (size_t)(b->p - start));
}

static void describe(gh_buf *b, const char *op, uintptr_t p, gh_bad_kind kind, const gh_mspan *s,
                     size_t given) {
  switch (kind) {
  case GH_BAD_DOUBLE_FREE:
    gh_buf_str(b, "double free of ");
    gh_buf_hex(b, p);
    gh_buf_str(b, " (");
    gh_buf_str(b, op);
    gh_buf_str(b, "): ");
    if (s) {
      gh_buf_str(b, "the ");
      gh_buf_u64(b, s->elemsize);
      gh_buf_str(b, "-byte object there is already free");
    } else {
      gh_buf_str(b, "no object is allocated there (goheap owns this memory, but it is free)");
    }
    return;
  case GH_BAD_FOREIGN:
    gh_buf_str(b, op);
    gh_buf_str(b, " of ");
    gh_buf_hex(b, p);
    gh_buf_str(b, ": pointer not allocated by goheap");
    return;
  case GH_BAD_INTERIOR: {
    uintptr_t base = s->start_addr + (uintptr_t)gh_mspan_obj_index(s, p) * s->elemsize;
    gh_buf_str(b, op);
    gh_buf_str(b, " of ");
    gh_buf_hex(b, p);
    gh_buf_str(b, ": points into the middle of the ");
    gh_buf_u64(b, s->elemsize);
    gh_buf_str(b, "-byte object at ");
    gh_buf_hex(b, base);
    return;
  }
  case GH_BAD_NOT_COLLECTED:
    gh_buf_str(b, op);
    gh_buf_str(b, " of ");
    gh_buf_hex(b, p);
    gh_buf_str(b, ": not a collected object (allocate it with gh_alloc)");
    return;
  case GH_BAD_SIZE_MISMATCH:
    gh_buf_str(b, op);
    gh_buf_str(b, " of ");
    gh_buf_hex(b, p);
    gh_buf_str(b, ": size mismatch: given ");
    gh_buf_u64(b, given);
    gh_buf_str(b, ", the object is ");
    gh_buf_u64(b, s->elemsize);
    gh_buf_str(b, " bytes");
    return;
  }
}

void gh_report_bad_pointer(const char *op, uintptr_t p, gh_bad_kind kind, const gh_mspan *s,
                           size_t given) {
  char msg[256];
  gh_buf b = {msg, msg + sizeof msg - 1};
  gh_options_init(); /* the process's first goheap call may be this bad one */
  gh_atomic_add(&error_count, 1);
  gh_buf_str(&b, "goheap: ");
  describe(&b, op, p, kind, s, given);
  flush_line(&b, msg);
  if (gh_option_get(GH_OPT_ON_ERROR) == GH_ERROR_REPORT) return;
  b.p = msg;
  gh_buf_str(&b, "goheap: aborting (set GOHEAP_ON_ERROR=report to report and continue)");
  flush_line(&b, msg);
  gh_os_abort();
}

void gh_throw2(const char *msg, const char *detail, uint64_t val) {
  char buf[256];
  gh_buf b = {buf, buf + sizeof buf - 1};
  gh_buf_str(&b, "goheap: fatal error: ");
  gh_buf_str(&b, msg);
  if (detail) {
    gh_buf_str(&b, " (");
    gh_buf_str(&b, detail);
    gh_buf_str(&b, " ");
    gh_buf_hex(&b, val);
    gh_buf_str(&b, ")");
  }
  flush_line(&b, buf);
  gh_os_abort();
}

void gh_throw(const char *msg) { gh_throw2(msg, NULL, 0); }

/* GOHEAP_PROFILE=FILE and the like at exit: opens the file option o names
 * (if set; "%p" is the pid), lets write() fill it, and reports a failure. */
void gh_write_option_file(gh_option o, const char *variable, int (*write)(int fd)) {
  const char *path = gh_option_path(o);
  if (!path) return;
  int fd = gh_os_open_output(path);
  if (fd < 0 || write(fd) != 0) gh_report_output_error(2, variable, path);
  if (fd >= 0) gh_os_close(fd);
}

/* An exit-time output (GOHEAP_PROFILE=..., ...) could not be written: one warning line, errno's reason. */
void gh_report_output_error(int fd, const char *variable, const char *path) {
  int err = gh_os_get_errno();
  char msg[512];
  gh_buf b = {msg, msg + sizeof msg - 1};
  gh_buf_str(&b, "goheap: cannot write ");
  gh_buf_str(&b, variable);
  gh_buf_str(&b, "=");
  gh_buf_str(&b, path);
  gh_buf_str(&b, ": ");
  const char *why = gh_os_strerror(err);
  if (why) {
    gh_buf_str(&b, why);
  } else {
    gh_buf_str(&b, "error ");
    gh_buf_u64(&b, (uint64_t)err);
  }
  gh_buf_str(&b, "\n");
  gh_os_write_fd(fd, msg, (size_t)(b.p - msg));
}

gh_error_mode gh_set_error_mode(gh_error_mode mode) {
  gh_ensure_init();
  gh_error_mode old = (gh_error_mode)gh_option_get(GH_OPT_ON_ERROR);
  gh_option_set(GH_OPT_ON_ERROR, mode == GH_ERROR_REPORT ? GH_ERROR_REPORT : GH_ERROR_ABORT);
  return old;
}

uint64_t gh_error_count(void) { return gh_atomic_load_relaxed(&error_count); }
