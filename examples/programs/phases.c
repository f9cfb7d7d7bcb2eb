/*
 * A C workload in phases that also prints, on stderr, the CLOCK_MONOTONIC
 * time at which it wrote each token, so reported boundaries can be
 * checked against the program's own clock.
 *
 *   gcc -O2 -o /tmp/phases examples/programs/phases.c
 *   deno task start profile -- /tmp/phases 3 20
 *
 * Arguments: number of phases (default 3), milliseconds per phase
 * (default 20). Odd phases sleep, even phases spin.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void spin_until(long long deadline) {
  volatile unsigned long sink = 0;
  while (now_ns() < deadline) sink++;
}

int main(int argc, char **argv) {
  int phases = argc > 1 ? atoi(argv[1]) : 3;
  long long phase_ns = (argc > 2 ? atoll(argv[2]) : 20) * 1000000LL;
  char line[64];
  fprintf(stderr, "main %lld\n", now_ns());
  for (int i = 0; i < phases; i++) {
    int n = snprintf(line, sizeof line, "__PHASE_%d__\n", i);
    long long stamp = now_ns();
    if (write(1, line, (size_t)n) != n) return 1;
    fprintf(stderr, "token %d %lld\n", i, stamp);
    long long deadline = stamp + phase_ns;
    if (i % 2) {
      struct timespec ts = {(time_t)(phase_ns / 1000000000LL), (long)(phase_ns % 1000000000LL)};
      nanosleep(&ts, NULL);
    } else {
      spin_until(deadline);
    }
  }
  fprintf(stderr, "exit %lld\n", now_ns());
  return 0;
}
