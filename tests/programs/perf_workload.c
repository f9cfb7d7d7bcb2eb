/*
 * Workloads with known perf_event counts, for the perf_event tests.
 *
 *   perf_workload spin MS         burn MS ms of CPU time, then exit
 *   perf_workload fork MS         parent and a forked child each burn MS ms
 *   perf_workload live-child MS   a child burns MS ms and stays alive (blocked)
 *                                 while the parent prints __CHILD_BURNT__
 *   perf_workload live-thread MS  the same with a thread
 *   perf_workload sleep N         sleep 10 ms N times
 *   perf_workload touch N         print __TOUCH__, wait 200 ms, write to N fresh pages,
 *                                 print __TOUCHED__
 *
 * CPU time is measured with the thread's own CPU clock, so the amount of
 * work does not depend on how loaded the machine is.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double thread_cpu_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void burn(double ms) {
  volatile unsigned long sink = 0;
  double start = thread_cpu_ms();
  while (thread_cpu_ms() - start < ms) {
    for (int i = 0; i < 10000; i++) sink += i;
  }
}

static double burn_ms;
static int release_pipe[2];
static int burnt_pipe[2];

/* Burns, says so, then blocks until released: it is alive at the boundary. */
static void *burn_and_wait(void *arg) {
  (void)arg;
  char byte = 1;
  burn(burn_ms);
  if (write(burnt_pipe[1], &byte, 1) != 1) exit(3);
  if (read(release_pipe[0], &byte, 1) != 1) exit(3);
  return NULL;
}

static void live(int use_thread) {
  char byte = 0;
  pid_t child = -1;
  pthread_t thread;
  if (pipe(release_pipe) != 0 || pipe(burnt_pipe) != 0) exit(3);
  if (use_thread) {
    if (pthread_create(&thread, NULL, burn_and_wait, NULL) != 0) exit(3);
  } else {
    child = fork();
    if (child < 0) exit(3);
    if (child == 0) {
      burn_and_wait(NULL);
      _exit(0);
    }
  }
  if (read(burnt_pipe[0], &byte, 1) != 1) exit(3);
  printf("__CHILD_BURNT__\n");
  fflush(stdout);
  /* Stay alive well past the boundary the profiler takes on that line. */
  usleep(300 * 1000);
  if (write(release_pipe[1], &byte, 1) != 1) exit(3);
  if (use_thread) pthread_join(thread, NULL);
  else waitpid(child, NULL, 0);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s spin|fork|live-child|live-thread|sleep|touch N\n", argv[0]);
    return 2;
  }
  const char *mode = argv[1];
  long n = strtol(argv[2], NULL, 10);
  if (strcmp(mode, "spin") == 0) {
    burn(n);
  } else if (strcmp(mode, "fork") == 0) {
    pid_t child = fork();
    if (child < 0) return 3;
    burn(n);
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0);
  } else if (strcmp(mode, "live-child") == 0 || strcmp(mode, "live-thread") == 0) {
    burn_ms = n;
    live(strcmp(mode, "live-thread") == 0);
  } else if (strcmp(mode, "sleep") == 0) {
    for (long i = 0; i < n; i++) usleep(10 * 1000);
  } else if (strcmp(mode, "touch") == 0) {
    long page = sysconf(_SC_PAGESIZE);
    char *memory = mmap(NULL, n * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return 3;
    /* One fault per page: no transparent huge pages. */
    madvise(memory, n * page, MADV_NOHUGEPAGE);
    printf("__TOUCH__\n");
    fflush(stdout);
    /* Let the profiler take the boundary before the first fault. */
    usleep(200 * 1000);
    for (long i = 0; i < n; i++) memory[i * page] = 1;
    printf("__TOUCHED__\n");
    fflush(stdout);
  } else {
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  return 0;
}
