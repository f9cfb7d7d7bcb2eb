/*
 * joule_phase.h: mark phases for joule-profiler through its phase channel.
 *
 *   #include "joule_phase.h"
 *   joule_phase("__WORK__");
 *
 * Writes the token as one line (a single write(2)) to the channel the
 * profiler offers (JOULE_PROFILER_PHASE_FD, else JOULE_PROFILER_PHASE_FIFO).
 * Without the profiler the variables are absent and the call does nothing.
 * Unlike printf + fflush, nothing depends on stdout buffering. Header-only;
 * not thread-safe on first use (call it once from the main thread first).
 */
#ifndef JOULE_PHASE_H
#define JOULE_PHASE_H

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int joule_phase_fd_ = -2; /* -2: not looked up yet, -1: no channel */

static inline int joule_phase_channel_(void) {
  if (joule_phase_fd_ != -2) return joule_phase_fd_;
  joule_phase_fd_ = -1;
  const char *inherited = getenv("JOULE_PROFILER_PHASE_FD");
  const char *path = getenv("JOULE_PROFILER_PHASE_FIFO");
  if (inherited != NULL && *inherited != '\0') {
    int fd = atoi(inherited);
    if (fcntl(fd, F_GETFD) != -1) joule_phase_fd_ = fd;
  } else if (path != NULL && *path != '\0') {
    /* Non-blocking open fails at once if the profiler is gone; writes are
     * then blocking, like stdout. */
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    joule_phase_fd_ = fd;
  }
  return joule_phase_fd_;
}

/* Marks a phase boundary named `token` (a no-op when not profiled). */
static inline void joule_phase(const char *token) {
  int fd = joule_phase_channel_();
  if (fd < 0) return;
  char line[256];
  size_t length = strlen(token);
  if (length > sizeof line - 1) length = sizeof line - 1;
  memcpy(line, token, length);
  line[length] = '\n';
  ssize_t ignored = write(fd, line, length + 1);
  (void)ignored;
}

#endif
