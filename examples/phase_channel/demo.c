/* Phases marked through the channel from C:
 *   gcc -O2 -I examples/phase_channel -o /tmp/demo examples/phase_channel/demo.c
 *   deno task start profile -- /tmp/demo
 */
#include <stdio.h>
#include <time.h>

#include "joule_phase.h"

int main(void) {
  joule_phase("__SPIN__");
  volatile unsigned long sink = 0;
  for (unsigned long i = 0; i < 50000000UL; i++) sink += i;
  printf("spun %lu\n", sink);
  joule_phase("__SLEEP__");
  struct timespec pause = {0, 100000000L};
  nanosleep(&pause, NULL);
  joule_phase("__DONE__");
  return 0;
}
