/*
 * runner.c -- runs one benchmark process and measures it.
 *
 *   runner RESULTFILE PRELOAD|- command [args...]
 *
 * Forks, sets LD_PRELOAD=PRELOAD in the child only ("-": no preload, and
 * any inherited LD_PRELOAD is removed), execs the command (stdin, stdout and
 * stderr are inherited), waits for it with wait4 and writes one line to
 * RESULTFILE:
 *
 *   status=<raw wait status> secs=<wall seconds> maxrss_kib=<ru_maxrss>
 *   utime=<user seconds> stime=<system seconds>
 *
 * Why a separate tiny program: Linux carries a process's peak-RSS mark
 * across exec, so a child forked straight from the Python harness would
 * report the harness's own (larger) peak. Forked from this small program,
 * the mark starts near 1 MiB, as with /usr/bin/time.
 *
 * SIGTERM to the runner (the harness's timeout) kills the workload with
 * SIGKILL; the runner still reaps it and writes its line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile pid_t child;

/* The harness's timeout: kill the workload, then report on it as usual. */
static void on_term(int sig) {
  (void)sig;
  if (child > 0) kill(child, SIGKILL);
}

int main(int argc, char **argv) {
  struct timespec t0, t1;
  struct rusage ru;
  int status;
  pid_t pid;
  FILE *f;
  if (argc < 4) {
    fprintf(stderr, "usage: runner RESULTFILE PRELOAD|- command [args...]\n");
    return 2;
  }
  signal(SIGTERM, on_term);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid = fork();
  if (pid < 0) {
    perror("runner: fork");
    return 2;
  }
  if (pid == 0) {
    signal(SIGTERM, SIG_DFL);
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the runner */
    if (strcmp(argv[2], "-") == 0)
      unsetenv("LD_PRELOAD");
    else
      setenv("LD_PRELOAD", argv[2], 1);
    execvp(argv[3], argv + 3);
    fprintf(stderr, "runner: cannot exec %s: %s\n", argv[3], strerror(errno));
    _exit(127);
  }
  child = pid;
  while (wait4(pid, &status, 0, &ru) < 0) {
    if (errno != EINTR) {
      perror("runner: wait4");
      return 2;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  f = fopen(argv[1], "w");
  if (!f) {
    perror("runner: result file");
    return 2;
  }
  fprintf(f, "status=%d secs=%.6f maxrss_kib=%ld utime=%.6f stime=%.6f\n", status,
          (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, ru.ru_maxrss,
          (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
          (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
  fclose(f);
  return 0;
}
