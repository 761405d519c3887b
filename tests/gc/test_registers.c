/*
 * test_registers.c -- a pointer held only in a callee-saved register is a
 * root, whether its thread stops in the stop signal's handler or at the end
 * of an allocator slow path (world.c:park). Regression test for park()
 * tail-calling park_here, which popped the spilled registers (found by the
 * bdwgc suite; reproduction by the same hand).
 *
 * hold_in_r15 (x86-64 assembly below) keeps an object only in r15 while it
 * calls gh_alloc(8192) -- one object per span, so every call takes the slow
 * path and may park there -- while another thread collects and reuses
 * 16-byte slots, writing a pattern into them. The assembly is x86-64's;
 * elsewhere the program says so and checks nothing.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "gctest.h"

#if defined(__x86_64__)
void *hold_in_r15(void *p, long n);
__asm__(".text\n"
        ".globl hold_in_r15\n"
        ".type hold_in_r15, @function\n"
        "hold_in_r15:\n"
        "  push %r15\n"
        "  push %rbx\n"
        "  sub $8, %rsp\n"
        "  mov %rdi, %r15\n"
        "  mov %rsi, %rbx\n"
        "1: mov $8192, %edi\n"
        "  call gh_alloc\n"
        "  dec %rbx\n"
        "  jnz 1b\n"
        "  mov %r15, %rax\n"
        "  add $8, %rsp\n"
        "  pop %rbx\n"
        "  pop %r15\n"
        "  ret\n"
        ".size hold_in_r15, .-hold_in_r15\n");

static volatile int stop;
static void *churn(void *arg) {
  while (!stop) {
    for (int i = 0; i < 1000; i++) {
      uint64_t *q = gh_alloc(16);
      q[0] = q[1] = 0xdeadbeefdeadbeefull; /* reuses a freed slot's memory */
    }
    gh_collect();
    struct timespec pause = {0, 50000}; /* without a pause the holder, stopped by every cycle, starves */
    nanosleep(&pause, NULL);
  }
  return arg;
}

GT_NOINLINE static uintptr_t make(uint64_t tag) {
  uint64_t *p = gh_alloc(16);
  p[0] = tag;
  p[1] = ~tag;
  return gt_hide(p); /* hidden: the only real copy goes to r15 */
}

int main(void) {
  alarm(60);
  pthread_t t = gt_thread(churn, NULL, "gt-churn");
  long bad = 0, rounds = 3000;
  for (long r = 0; r < rounds && !bad; r++) {
    uintptr_t h = make(0x1234500000000000ull + (uint64_t)r);
    uint64_t *p = hold_in_r15(gt_reveal(h), 200);
    if (p[0] != 0x1234500000000000ull + (uint64_t)r || p[1] != ~p[0]) {
      fprintf(stderr, "round %ld: object %p freed and reused while held in r15: holds %#llx\n", r, (void *)p,
              (unsigned long long)p[0]);
      bad = 1;
    }
  }
  stop = 1;
  pthread_join(t, NULL);
  gh_stats st = gt_stats();
  CHECKF("an object held only in a callee-saved register survives collections", bad == 0, "see above");
  CHECKF("collections ran meanwhile", st.num_gc >= 20, "%llu", (unsigned long long)st.num_gc);
  printf("test_registers: %llu collections\n", (unsigned long long)st.num_gc);
  return TEST_SUMMARY();
}
#else
int main(void) {
  printf("test_registers: x86-64 only (hand-written register use); nothing checked here\n");
  return TEST_SUMMARY();
}
#endif
