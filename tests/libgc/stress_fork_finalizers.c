/*
 * tests/libgc/stress_fork_finalizers.c -- the reproduction of a sweep bug
 * (fixed in src/mgcsweep.c, 2026-12-03), built like tests/libgc/test_*.c
 * and run by tests/suites/libgc_dropin.sh (about 7 s a run). Three threads
 * allocate 24-byte nodes (every fifth with a finalizer, some with
 * disappearing links) while the main thread forks every 2 ms; each child
 * collects and finalizes, then exits.
 *
 * With GOHEAP_GOGC=5 the parent aborted in nearly every run with "double
 * free of ... the 32-byte object there is already free": a remote free's bit
 * could be skipped by a collection's sweep (xqueued read clear), which then
 * freed the unmarked slot and left the bit on it, to free the slot's next
 * object later (here bdwgc/gc.c's finalizer records, freed by goheap's
 * finalizer thread). Forks only made it frequent (NOCHILD=1: children exit
 * at once; "nofork" as the second argument: no forks, rarely).
 *
 * It also found: GC_gcollect sleeping about 0.5 s on a sentinel kept alive
 * by a stale stack word (150 forks took 30-90 s; now about 7 s: bdwgc/gc.c
 * waits with gh_await_finalizers), and collections cancelled ("did not stop
 * within 2000 ms") by a thread parked while holding finq_lock, and in fork
 * children by a slow-path count that reinitialising another thread's lock
 * had wrapped (internal.h: gh_mutex_lock counts locks as slow paths;
 * gh_mutex_reset). tests/suites/libgc_dropin.sh fails a run that prints a
 * cancelled collection.
 *
 * Usage: stress_fork_finalizers [forks [nofork]]; exit 0 when every child
 * exited 0 and the parent survived.
 */
#define GC_THREADS 1
#include <gc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static atomic_int stop; static atomic_long fins;
static void fin(void *o, void *cd) { (void)o; (void)cd; atomic_fetch_add(&fins, 1); }
typedef struct tn { struct tn *l, *r; long v; } tn;
static GC_word links[4][256];
static void *worker(void *arg) {
  int t = (int)(long)arg; unsigned long r = t + 1;
  tn *keep = NULL;
  while (!atomic_load(&stop)) {
    r = r * 6364136223846793005ul + 1;
    tn *n = GC_MALLOC(sizeof *n); n->v = r; n->l = keep; keep = (r >> 50) % 8 == 0 ? NULL : n;
    if ((r >> 40) % 5 == 0) GC_REGISTER_FINALIZER(n, fin, NULL, NULL, NULL);
    if ((r >> 30) % 11 == 0) { int i = (r >> 20) % 256; GC_unregister_disappearing_link((void **)&links[t][i]); links[t][i] = GC_HIDE_POINTER(n); GC_general_register_disappearing_link((void **)&links[t][i], n); }
    if ((r >> 33) % 97 == 0) GC_invoke_finalizers();
  }
  return NULL;
}
static int child(void) {
  alarm(20);
  
  for (int i = 0; i < 3; i++) { GC_gcollect(); for (int k = 0; k < 20000; k++) { tn *n = GC_MALLOC(sizeof *n); if (k % 3 == 0) GC_REGISTER_FINALIZER(n, fin, NULL, NULL, NULL); } GC_invoke_finalizers(); }
  return 0;
}
int main(int argc, char **argv) {
  GC_INIT();
  int nf = argc > 1 ? atoi(argv[1]) : 100;
  pthread_t th[3];
  for (int t = 0; t < 3; t++) pthread_create(&th[t], NULL, worker, (void *)(long)t);
  int bad = 0;
  for (int i = 0; i < nf; i++) {
    struct timespec ts = {0, 2000000}; nanosleep(&ts, NULL);
    if (argc > 2) continue;
    pid_t p = fork();
    if (p == 0) _exit(getenv("NOCHILD") ? 0 : child());
    int st; waitpid(p, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st)) { bad++; fprintf(stderr, "child %d status %x\n", i, st); }
  }
  atomic_store(&stop, 1);
  for (int t = 0; t < 3; t++) pthread_join(th[t], NULL);
  printf("forks %d bad %d fins %ld\n", nf, bad, atomic_load(&fins));
  return bad != 0;
}
