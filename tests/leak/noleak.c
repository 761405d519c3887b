/*
 * noleak.c -- a program without leaks, for the leak check
 * (tests/suites/leakcheck.sh): with GOHEAP_LEAKCHECK=1 it must exit 0 and
 * print nothing on stderr. It keeps blocks reachable in the ways known.c's
 * reachable ones are (a global list, a cycle hanging off a global, an
 * interior pointer), frees the rest, uses stdio, and a thread that allocates
 * and frees. Build: cc -O1 -g -fno-builtin-malloc -pthread.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node {
  struct node *next;
  int v;
};

struct node *volatile g_list;
void *volatile g_cycle;
char *volatile g_inner;

static void *worker(void *arg) {
  (void)arg;
  for (int i = 0; i < 1000; i++) {
    char *p = malloc((size_t)(i % 200) + 1);
    p[0] = (char)i;
    free(p);
  }
  return NULL;
}

int main(void) {
  for (int i = 0; i < 100; i++) {
    struct node *n = malloc(sizeof *n);
    n->v = i;
    n->next = g_list;
    g_list = n;
  }
  void **a = malloc(32), **b = malloc(32);
  a[0] = b;
  b[0] = a;
  g_cycle = a;
  char *s = malloc(300);
  g_inner = s + 100;
  char *tmp = strdup("temporary");
  free(tmp);
  free(realloc(malloc(10), 5000));
  pthread_t t;
  if (pthread_create(&t, NULL, worker, NULL) || pthread_join(t, NULL)) return 1;
  long sum = 0;
  for (struct node *n = g_list; n; n = n->next) sum += n->v;
  printf("noleak: sum %ld\n", sum);
  return 0;
}
