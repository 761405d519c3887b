/*
 * pprof.c -- the heap profile as pprof's protobuf (profile.proto), written
 * without malloc. (Go: runtime/pprof/proto.go, protobuf.go.)
 *
 * A Profile message is a sequence of fields, and protobuf allows a message's
 * fields in any order and repeated fields spread out, so the writer streams
 * the top-level fields straight to the file descriptor and only builds each
 * small submessage (a sample, a location, a mapping) in a stack buffer to
 * know its length. Strings get their index in the string table as they are
 * written (index 0 is ""). What it writes:
 *   sample_type   alloc_objects/count, alloc_space/bytes, inuse_objects/count,
 *                 inuse_space/bytes (Go's heap profile; pprof shows the last by
 *                 default); period_type space/bytes and period = the rate;
 *   sample        one per bucket with sampled objects: its locations, leaf
 *                 first, and the four values scaled to estimate all
 *                 allocations (Go: scaleHeapSample: a sample of average size
 *                 s stands for 1 / (1 - exp(-s/rate)) allocations);
 *   location      one per distinct return address: address = the return
 *                 address - 1 (inside the call instruction, so it symbolizes
 *                 to the calling line), and the mapping that holds it; with
 *   function      the exported function holding it, when the dynamic symbol
 *                 table knows one (dladdr): stripped programs such as Debian's
 *                 python3 keep those names, and pprof replaces them with what
 *                 the file's debug information says where it has some;
 *   mapping       one per executable mapping of a file in /proc/self/maps
 *                 (start, limit, file offset, path): pprof symbolizes the
 *                 program and its libraries from these files;
 *   drop_frames   goheap's entry points, should any remain at a stack's leaf
 *                 (realloc calls malloc inside goheap).
 */
#include "internal.h"

#define OUT_BUF 8192
#define MAX_MAPPINGS 2048
#define NUM_TYPES 4

typedef struct pb_out {
  int fd;
  size_t n;
  int err; /* errno of the first failed write, 0 if none */
  char buf[OUT_BUF];
} pb_out;

/* A small message under construction. */
typedef struct pb_msg {
  uint8_t *p, *end;
  uint8_t data[1024];
} pb_msg;

typedef struct mapping {
  uintptr_t lo, hi, offset;
  int64_t name; /* string index */
} mapping;

/* ---- encoding ---------------------------------------------------------------------- */

static uint8_t *put_varint(uint8_t *p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *p++ = (uint8_t)v;
  return p;
}

static void msg_init(pb_msg *m) {
  m->p = m->data;
  m->end = m->data + sizeof m->data;
}

/* Field `field` as a varint (wire type 0); room is checked by the callers' sizing. */
static void msg_varint(pb_msg *m, uint32_t field, uint64_t v) {
  if (m->end - m->p < 20) return;
  m->p = put_varint(m->p, (uint64_t)field << 3);
  m->p = put_varint(m->p, v);
}

/* Field `field` as packed varints (wire type 2). */
static void msg_packed(pb_msg *m, uint32_t field, const uint64_t *v, uint32_t n) {
  uint8_t tmp[GH_PROF_MAX_STACK * 10], *q = tmp;
  for (uint32_t i = 0; i < n; i++) q = put_varint(q, v[i]);
  size_t len = (size_t)(q - tmp);
  if ((size_t)(m->end - m->p) < len + 20) return;
  m->p = put_varint(m->p, (uint64_t)field << 3 | 2);
  m->p = put_varint(m->p, len);
  __builtin_memcpy(m->p, tmp, len);
  m->p += len;
}

/* A submessage inside a message under construction. */
static void msg_bytes(pb_msg *m, uint32_t field, const pb_msg *sub) {
  size_t len = (size_t)(sub->p - sub->data);
  if ((size_t)(m->end - m->p) < len + 20) return;
  m->p = put_varint(m->p, (uint64_t)field << 3 | 2);
  m->p = put_varint(m->p, len);
  __builtin_memcpy(m->p, sub->data, len);
  m->p += len;
}

static void out_flush(pb_out *o) {
  if (o->n && !o->err && gh_os_write_fd(o->fd, o->buf, o->n) != 0) o->err = gh_os_get_errno();
  o->n = 0;
}

static void out_bytes(pb_out *o, const void *data, size_t len) {
  const char *d = data;
  while (len) {
    if (o->n == OUT_BUF) out_flush(o);
    size_t k = OUT_BUF - o->n < len ? OUT_BUF - o->n : len;
    __builtin_memcpy(o->buf + o->n, d, k);
    o->n += k;
    d += k;
    len -= k;
  }
}

/* A length-delimited top-level field: a submessage or a string. */
static void out_field(pb_out *o, uint32_t field, const void *data, size_t len) {
  uint8_t head[20], *q = put_varint(head, (uint64_t)field << 3 | 2);
  q = put_varint(q, len);
  out_bytes(o, head, (size_t)(q - head));
  out_bytes(o, data, len);
}

static void out_msg(pb_out *o, uint32_t field, const pb_msg *m) { out_field(o, field, m->data, (size_t)(m->p - m->data)); }

static void out_varint(pb_out *o, uint32_t field, uint64_t v) {
  uint8_t tmp[20], *q = put_varint(tmp, (uint64_t)field << 3);
  q = put_varint(q, v);
  out_bytes(o, tmp, (size_t)(q - tmp));
}

/* ---- the string table (Profile field 6) --------------------------------------------- */

typedef struct strtab {
  int64_t next; /* index the next string gets */
} strtab;

static int64_t out_string(pb_out *o, strtab *t, const char *s) {
  out_field(o, 6, s, __builtin_strlen(s));
  return t->next++;
}

/* ---- mappings (Profile field 3) ------------------------------------------------------ */

typedef struct mapping_table {
  mapping m[MAX_MAPPINGS];
  uint32_t n;
  pb_out *o;
  strtab *strings;
} mapping_table;

static bool add_mapping(const gh_os_mapping *om, void *arg) {
  mapping_table *t = arg;
  if (!om->executable || om->path[0] != '/' || t->n == MAX_MAPPINGS) return t->n < MAX_MAPPINGS;
  mapping *m = &t->m[t->n++];
  m->lo = om->lo;
  m->hi = om->hi;
  m->offset = om->offset;
  m->name = out_string(t->o, t->strings, om->path);
  return true;
}

static void write_mappings(pb_out *o, const mapping_table *t) {
  for (uint32_t i = 0; i < t->n; i++) {
    pb_msg m;
    msg_init(&m);
    msg_varint(&m, 1, i + 1);             /* id */
    msg_varint(&m, 2, t->m[i].lo);        /* memory_start */
    msg_varint(&m, 3, t->m[i].hi);        /* memory_limit */
    msg_varint(&m, 4, t->m[i].offset);    /* file_offset */
    msg_varint(&m, 5, (uint64_t)t->m[i].name); /* filename */
    out_msg(o, 3, &m);
  }
}

static uint64_t mapping_of(const mapping_table *t, uintptr_t pc) {
  for (uint32_t i = 0; i < t->n; i++)
    if (pc >= t->m[i].lo && pc < t->m[i].hi) return i + 1;
  return 0;
}

/* ---- locations (Profile field 4): one per distinct address ---------------------------- */

typedef struct loc_table {
  uintptr_t *addr; /* open addressing; 0 = empty */
  uint64_t cap, n;
} loc_table;

/* A Function named after the exported symbol holding pc, with the id of its
 * location; 0 (none written) if the dynamic symbol table has no such symbol. */
static uint64_t write_function(pb_out *o, strtab *t, uint64_t id, uintptr_t pc) {
  const char *object, *symbol;
  uintptr_t base, saddr;
  if (!gh_os_symbolize(pc, &object, &base, &symbol, &saddr) || !symbol) return 0;
  int64_t name = out_string(o, t, symbol);
  pb_msg m;
  msg_init(&m);
  msg_varint(&m, 1, id);             /* id */
  msg_varint(&m, 2, (uint64_t)name); /* name */
  msg_varint(&m, 3, (uint64_t)name); /* system_name */
  out_msg(o, 5, &m);
  return id;
}

/* The location id of pc (1-based), writing the location the first time. */
static uint64_t location(pb_out *o, loc_table *lt, const mapping_table *mt, uintptr_t pc) {
  uint64_t i = (pc * 0x9E3779B97F4A7C15ull) >> 20;
  for (;; i++) {
    uintptr_t *slot = &lt->addr[i % lt->cap];
    if (*slot == pc) return i % lt->cap + 1;
    if (*slot) continue;
    *slot = pc;
    uint64_t id = i % lt->cap + 1, function = write_function(o, mt->strings, id, pc - 1);
    pb_msg m;
    msg_init(&m);
    msg_varint(&m, 1, id);                     /* id */
    msg_varint(&m, 2, mapping_of(mt, pc));     /* mapping_id */
    msg_varint(&m, 3, pc - 1);                 /* address: inside the call */
    if (function) {                            /* line: {function_id} */
      pb_msg line;
      msg_init(&line);
      msg_varint(&line, 1, function);
      msg_bytes(&m, 4, &line);
    }
    out_msg(o, 4, &m);
    return id;
  }
}

/* ---- samples (Profile field 2) ---------------------------------------------------------- */

/* exp(x) for x <= 0 without libm: 2^k * e^r, |r| <= ln2/2, r's Taylor series. */
static double exp_neg(double x) {
  if (x < -700) return 0;
  int k = (int)(x / 0.69314718055994530942) - 1;
  double r = x - k * 0.69314718055994530942, term = 1, sum = 1;
  for (int i = 1; i < 18; i++) sum += term *= r / i;
  union { double d; uint64_t b; } two = {.b = (uint64_t)(k + 1023) << 52};
  return sum * two.d;
}

/* Go: scaleHeapSample. */
static double scale(uint64_t count, uint64_t bytes, int64_t rate) {
  if (count == 0 || rate <= 1) return 1;
  double avg = (double)bytes / (double)count;
  double p = 1 - exp_neg(-avg / (double)rate);
  return p > 0 ? 1 / p : 1;
}

static void write_sample(pb_out *o, loc_table *lt, const mapping_table *mt, const gh_bucket *b, int64_t rate) {
  uint64_t ao = gh_atomic_load_relaxed(&b->xalloc_objects), ab = gh_atomic_load_relaxed(&b->xalloc_bytes);
  uint64_t fo = gh_atomic_load_relaxed(&b->xfree_objects), fb = gh_atomic_load_relaxed(&b->xfree_bytes);
  if (ao == 0) return;
  if (fo > ao) fo = ao; /* read while frees went on */
  if (fb > ab) fb = ab;
  uint64_t locs[GH_PROF_MAX_STACK];
  for (uint32_t i = 0; i < b->nstk; i++) locs[i] = location(o, lt, mt, b->stk[i]);
  double sa = scale(ao, ab, rate), si = scale(ao - fo, ab - fb, rate);
  uint64_t values[NUM_TYPES] = {(uint64_t)(ao * sa + 0.5), (uint64_t)(ab * sa + 0.5),
                                (uint64_t)((ao - fo) * si + 0.5), (uint64_t)((ab - fb) * si + 0.5)};
  pb_msg m;
  msg_init(&m);
  msg_packed(&m, 1, locs, b->nstk); /* location_id */
  msg_packed(&m, 2, values, NUM_TYPES); /* value */
  out_msg(o, 2, &m);
}

/* ---- the whole profile ------------------------------------------------------------------- */

static void value_type(pb_out *o, uint32_t field, int64_t type, int64_t unit) {
  pb_msg m;
  msg_init(&m);
  msg_varint(&m, 1, (uint64_t)type);
  msg_varint(&m, 2, (uint64_t)unit);
  out_msg(o, field, &m);
}

static void write_header(pb_out *o, strtab *t, int64_t rate) {
  out_string(o, t, "");
  int64_t count = out_string(o, t, "count"), bytes = out_string(o, t, "bytes");
  static const char *const names[NUM_TYPES] = {"alloc_objects", "alloc_space", "inuse_objects", "inuse_space"};
  for (int i = 0; i < NUM_TYPES; i++) value_type(o, 1, out_string(o, t, names[i]), i % 2 ? bytes : count);
  value_type(o, 11, out_string(o, t, "space"), bytes);                          /* period_type */
  out_varint(o, 12, (uint64_t)(rate > 0 ? rate : 1));                           /* period */
  int64_t drop = out_string(o, t, "(gh_[a-z_]+|malloc|calloc|realloc|reallocarray|posix_memalign|aligned_alloc|"
                                  "memalign|valloc|pvalloc|__libc_(malloc|calloc|realloc|memalign|valloc|pvalloc)|"
                                  "__posix_memalign|small_alloc_slow|large_alloc|tiny_alloc_slow|aligned_alloc_impl(_inner)?)");
  out_varint(o, 7, (uint64_t)drop);                                             /* drop_frames */
  out_varint(o, 9, gh_os_realtime_ns());                                        /* time_nanos */
  out_varint(o, 14, (uint64_t)out_string(o, t, names[3]));                      /* default_sample_type */
}

int gh_pprof_write_heap(int fd, int64_t rate) {
  uint64_t frames = 0;
  for (gh_bucket *b = gh_mprof_buckets(); b; b = b->allnext) frames += b->nstk;
  loc_table lt = {.cap = frames * 2 + 16};
  size_t loc_bytes = (lt.cap * sizeof *lt.addr + 4095) & ~(size_t)4095;
  size_t state_bytes = (sizeof(pb_out) + sizeof(mapping_table) + 4095) & ~(size_t)4095;
  char *mem = gh_os_alloc_metadata(state_bytes + loc_bytes); /* off the heap: the profile must not move it */
  if (!mem) {
    gh_os_set_errno(12 /* ENOMEM */);
    return -1;
  }
  pb_out *o = (pb_out *)mem;
  mapping_table *mt = (mapping_table *)(mem + sizeof(pb_out));
  lt.addr = (uintptr_t *)(mem + state_bytes);
  o->fd = fd;
  strtab t = {0};
  mt->o = o;
  mt->strings = &t;
  write_header(o, &t, rate);
  gh_os_each_mapping(add_mapping, mt);
  write_mappings(o, mt);
  for (gh_bucket *b = gh_mprof_buckets(); b; b = b->allnext) write_sample(o, &lt, mt, b, rate);
  out_flush(o);
  int err = o->err;
  gh_os_release(mem, state_bytes + loc_bytes);
  if (!err) return 0;
  gh_os_set_errno(err);
  return -1;
}
