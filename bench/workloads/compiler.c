/*
 * compiler.c -- a single-threaded, compiler-like allocation mix.
 *
 * Stresses: what most programs really are: one thread, many small objects of
 * many sizes and lifetimes -- tokens that die right after parsing, AST nodes
 * that live for a compilation unit (and a few units after, like a compiler
 * keeping IR), strings, a long-lived symbol table whose values are replaced,
 * growing text buffers (realloc), and a flood of tiny temporaries from
 * bignum arithmetic.
 *
 * Each unit: generate source text ("v12 = (v3 + 17) * v40 - ...;" lines)
 * into a realloc'd buffer; lex it into a malloc'd token list (each token's
 * text strdup'd); parse it into an AST; evaluate every statement with
 * heap-allocated bignums (mod 2^256, a fresh result per operation, like a
 * bignum library); constant-fold the tree (new nodes, old ones freed);
 * evaluate again and check both answers agree; store the value in the
 * symbol table (freeing the old one). The last `keep` units' ASTs stay
 * alive; older ones are freed.
 *
 * Idea: the "espresso" and "cfrac" programs of the Zorn/Grunwald allocator
 * benchmarks (also in mimalloc-bench): a real single-threaded program
 * (espresso: logic minimisation; cfrac: factoring with a bignum library that
 * allocates a result per operation). Our own much smaller program in the
 * same spirit.
 *
 * Parameters: compiler [units=2000] [statements=200] [maxdepth=7] [keep=4]
 *                      [variables=512]
 * Result: a hash of every statement's value and of the final symbol table.
 */
#include "bench.h"

/* ---- bignums mod 2^256: 1..8 32-bit limbs, malloc'd per value ---------- */
#define MAXL 8
typedef struct {
  int n;
  uint32_t l[];
} big;

static big *big_new(int n) {
  big *b = xmalloc(sizeof(big) + sizeof(uint32_t) * (size_t)n);
  b->n = n;
  return b;
}
static big *big_norm(big *b) {
  while (b->n > 1 && b->l[b->n - 1] == 0) b->n--;
  return b;
}
static big *big_from(uint64_t v) {
  big *b = big_new(2);
  b->l[0] = (uint32_t)v;
  b->l[1] = (uint32_t)(v >> 32);
  return big_norm(b);
}
static big *big_copy(const big *a) {
  big *b = big_new(a->n);
  memcpy(b->l, a->l, sizeof(uint32_t) * (size_t)a->n);
  return b;
}
static big *big_add(const big *a, const big *b) {
  int n = (a->n > b->n ? a->n : b->n) + 1, i;
  uint64_t c = 0;
  big *r;
  if (n > MAXL) n = MAXL;
  r = big_new(n);
  for (i = 0; i < n; i++) {
    c += (uint64_t)(i < a->n ? a->l[i] : 0) + (i < b->n ? b->l[i] : 0);
    r->l[i] = (uint32_t)c;
    c >>= 32;
  }
  return big_norm(r);
}
static big *big_sub(const big *a, const big *b) { /* mod 2^256 */
  big *r = big_new(MAXL);
  int64_t br = 0;
  int i;
  for (i = 0; i < MAXL; i++) {
    int64_t d = (int64_t)(i < a->n ? a->l[i] : 0) - (int64_t)(i < b->n ? b->l[i] : 0) + br;
    r->l[i] = (uint32_t)d;
    br = d < 0 ? -1 : 0;
  }
  return big_norm(r);
}
static big *big_mul(const big *a, const big *b) {
  int n = a->n + b->n, i, j;
  big *r;
  if (n > MAXL) n = MAXL;
  r = big_new(n);
  memset(r->l, 0, sizeof(uint32_t) * (size_t)n);
  for (i = 0; i < a->n && i < n; i++) {
    uint64_t c = 0;
    for (j = 0; j < b->n && i + j < n; j++) {
      c += (uint64_t)r->l[i + j] + (uint64_t)a->l[i] * b->l[j];
      r->l[i + j] = (uint32_t)c;
      c >>= 32;
    }
    if (i + j < n) r->l[i + j] = (uint32_t)c;
  }
  return big_norm(r);
}
static int big_eq(const big *a, const big *b) {
  return a->n == b->n && memcmp(a->l, b->l, sizeof(uint32_t) * (size_t)a->n) == 0;
}
static uint64_t big_hash(const big *a) {
  uint64_t h = 0x12345;
  int i;
  for (i = 0; i < a->n; i++) h = mix64(h ^ a->l[i]);
  return h;
}

/* ---- symbol table: chained hash, strdup'd names ------------------------ */
typedef struct sym {
  struct sym *next;
  char *name;
  big *val;
} sym;
#define NBUCKET 1024
static sym *tab[NBUCKET];

static unsigned hstr(const char *s) {
  unsigned h = 2166136261u;
  while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
  return h;
}
static char *xstrdup(const char *s, size_t n) {
  char *d = xmalloc(n + 1);
  memcpy(d, s, n);
  d[n] = 0;
  return d;
}
static sym *lookup(const char *name, int create) {
  unsigned h = hstr(name) % NBUCKET;
  sym *s;
  for (s = tab[h]; s; s = s->next)
    if (strcmp(s->name, name) == 0) return s;
  if (!create) return NULL;
  s = xmalloc(sizeof *s);
  s->name = xstrdup(name, strlen(name));
  s->val = big_from(hstr(name));
  s->next = tab[h];
  tab[h] = s;
  return s;
}

/* ---- text generation ---------------------------------------------------- */
typedef struct {
  char *p;
  size_t len, cap;
} buf;
static void emit(buf *b, const char *s) {
  size_t n = strlen(s);
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) + (b->len + n + 1) / 2;
    b->p = xrealloc(b->p, b->cap);
  }
  memcpy(b->p + b->len, s, n + 1);
  b->len += n;
}
static long nvars;
static void gen_expr(buf *b, rng_t *r, int depth) {
  char tmp[32];
  uint64_t x = rng_next(r);
  if (depth <= 0 || x % 10 < 3) {
    if (x % 3 == 0) {
      snprintf(tmp, sizeof tmp, "v%ld", (long)((x >> 8) % (uint64_t)nvars));
    } else {
      snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)((x >> 8) % 1000003));
    }
    emit(b, tmp);
    return;
  }
  emit(b, "(");
  gen_expr(b, r, depth - 1);
  emit(b, (x >> 4) % 3 == 0 ? " + " : (x >> 4) % 3 == 1 ? " - " : " * ");
  gen_expr(b, r, depth - 1);
  emit(b, ")");
}

/* ---- lexer --------------------------------------------------------------- */
typedef struct tok {
  struct tok *next;
  char kind; /* 'n' number, 'v' name, or the punctuation char itself */
  char *text;
} tok;
static tok *lex(const char *s) {
  tok *head = NULL, **tail = &head;
  while (*s) {
    tok *t;
    const char *st = s;
    if (*s == ' ' || *s == '\n') {
      s++;
      continue;
    }
    t = xmalloc(sizeof *t);
    if (*s >= '0' && *s <= '9') {
      while (*s >= '0' && *s <= '9') s++;
      t->kind = 'n';
    } else if (*s == 'v') {
      s++;
      while (*s >= '0' && *s <= '9') s++;
      t->kind = 'v';
    } else {
      t->kind = *s++;
    }
    t->text = xstrdup(st, (size_t)(s - st));
    t->next = NULL;
    *tail = t;
    tail = &t->next;
  }
  return head;
}
static void free_toks(tok *t) {
  while (t) {
    tok *n = t->next;
    free(t->text);
    free(t);
    t = n;
  }
}

/* ---- AST ------------------------------------------------------------------ */
typedef struct node {
  char op; /* 'n' literal, 'v' variable, '+', '-', '*' */
  struct node *a, *b;
  char *name; /* 'v' */
  big *lit;   /* 'n' */
} node;
typedef struct stmt {
  struct stmt *next;
  char *target;
  node *expr;
} stmt;

static node *mknode(char op) {
  node *n = xmalloc(sizeof *n);
  n->op = op;
  n->a = n->b = NULL;
  n->name = NULL;
  n->lit = NULL;
  return n;
}
static void free_node(node *n) {
  if (!n) return;
  free_node(n->a);
  free_node(n->b);
  free(n->name);
  free(n->lit);
  free(n);
}
static tok *cur;
static void expect(char k) {
  if (!cur || cur->kind != k) WRONG("parse error: expected '%c'", k);
  cur = cur->next;
}
static node *parse_expr(void) {
  node *n;
  if (!cur) WRONG("parse error: end of input");
  if (cur->kind == 'n') {
    n = mknode('n');
    n->lit = big_from(strtoull(cur->text, NULL, 10));
    cur = cur->next;
    return n;
  }
  if (cur->kind == 'v') {
    n = mknode('v');
    n->name = xstrdup(cur->text, strlen(cur->text));
    cur = cur->next;
    return n;
  }
  expect('(');
  {
    node *l = parse_expr();
    char op = cur ? cur->kind : 0;
    if (op != '+' && op != '-' && op != '*') WRONG("parse error: operator");
    cur = cur->next;
    n = mknode(op);
    n->a = l;
    n->b = parse_expr();
  }
  expect(')');
  return n;
}
static stmt *parse(tok *t) {
  stmt *head = NULL, **tail = &head;
  cur = t;
  while (cur) {
    stmt *s = xmalloc(sizeof *s);
    if (cur->kind != 'v') WRONG("parse error: statement target");
    s->target = xstrdup(cur->text, strlen(cur->text));
    cur = cur->next;
    expect('=');
    s->expr = parse_expr();
    expect(';');
    s->next = NULL;
    *tail = s;
    tail = &s->next;
  }
  return head;
}
static void free_stmts(stmt *s) {
  while (s) {
    stmt *n = s->next;
    free(s->target);
    free_node(s->expr);
    free(s);
    s = n;
  }
}

/* evaluate: a fresh bignum per operation, temporaries freed */
static big *eval(const node *n) {
  big *l, *r, *v;
  switch (n->op) {
    case 'n':
      return big_copy(n->lit);
    case 'v':
      return big_copy(lookup(n->name, 1)->val);
  }
  l = eval(n->a);
  r = eval(n->b);
  v = n->op == '+' ? big_add(l, r) : n->op == '-' ? big_sub(l, r) : big_mul(l, r);
  free(l);
  free(r);
  return v;
}

/* constant folding: returns a new tree, frees the old one */
static node *fold(node *n) {
  node *m;
  if (n->op == 'n' || n->op == 'v') {
    m = mknode(n->op);
    if (n->name) m->name = xstrdup(n->name, strlen(n->name));
    if (n->lit) m->lit = big_copy(n->lit);
    free_node(n);
    return m;
  }
  m = mknode(n->op);
  m->a = fold(n->a);
  m->b = fold(n->b);
  n->a = n->b = NULL;
  free_node(n);
  if (m->a->op == 'n' && m->b->op == 'n') {
    big *v = eval(m);
    free_node(m);
    m = mknode('n');
    m->lit = v;
  }
  return m;
}

int main(int argc, char **argv) {
  long units = arg_long(argc, argv, 1, 2000);
  long nstmt = arg_long(argc, argv, 2, 200);
  long maxdepth = arg_long(argc, argv, 3, 7);
  long keep = arg_long(argc, argv, 4, 4);
  stmt **kept;
  rng_t r = {42};
  uint64_t h = 0;
  long u, i;
  nvars = arg_long(argc, argv, 5, 512);
  if (keep < 1 || nvars < 1) {
    fprintf(stderr, "bad parameters\n");
    return 2;
  }
  printf("compiler units=%ld statements=%ld maxdepth=%ld keep=%ld variables=%ld\n", units, nstmt,
         maxdepth, keep, nvars);
  kept = xmalloc(sizeof(stmt *) * (size_t)keep);
  memset(kept, 0, sizeof(stmt *) * (size_t)keep);
  for (u = 0; u < units; u++) {
    buf b = {NULL, 0, 0};
    tok *toks;
    stmt *prog, *s;
    char tmp[32];
    for (i = 0; i < nstmt; i++) {
      snprintf(tmp, sizeof tmp, "v%ld = ", (long)(rng_next(&r) % (uint64_t)nvars));
      emit(&b, tmp);
      gen_expr(&b, &r, (int)(1 + rng_next(&r) % (uint64_t)maxdepth));
      emit(&b, ";\n");
    }
    toks = lex(b.p ? b.p : "");
    free(b.p);
    prog = parse(toks);
    free_toks(toks);
    for (s = prog; s; s = s->next) {
      big *v1 = eval(s->expr), *v2;
      sym *t;
      s->expr = fold(s->expr);
      v2 = eval(s->expr);
      if (!big_eq(v1, v2)) WRONG("unit %ld: folded expression disagrees", u);
      h = mix64(h ^ big_hash(v1));
      t = lookup(s->target, 1);
      free(t->val);
      t->val = v1;
      free(v2);
    }
    free_stmts(kept[u % keep]);
    kept[u % keep] = prog;
  }
  for (i = 0; i < keep; i++) free_stmts(kept[i]);
  free(kept);
  for (i = 0; i < NBUCKET; i++) {
    sym *s = tab[i];
    while (s) {
      sym *n = s->next;
      h += big_hash(s->val) ^ hstr(s->name);
      free(s->name);
      free(s->val);
      free(s);
      s = n;
    }
  }
  printf("result: %016llx\n", (unsigned long long)h);
  return 0;
}
