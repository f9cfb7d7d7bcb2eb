"""Mark phases for joule-profiler through its phase channel.

    from joule_phase import joule_phase
    joule_phase("__WORK__")

Writes the token as one line to the channel the profiler offers
(JOULE_PROFILER_PHASE_FD, else JOULE_PROFILER_PHASE_FIFO). Without the
profiler the variables are absent and the call does nothing, so
instrumented code runs unprofiled too. Unlike print(), nothing depends on
stdout buffering, and tokens never mix with the program's output.
"""

import os

_fd = None
_ready = False


def _channel():
    global _fd, _ready
    if not _ready:
        _ready = True
        inherited = os.environ.get("JOULE_PROFILER_PHASE_FD", "")
        path = os.environ.get("JOULE_PROFILER_PHASE_FIFO", "")
        try:
            if inherited.isdigit():
                _fd = int(inherited)
                os.fstat(_fd)  # still open in this process?
            elif path:
                # Non-blocking open fails at once if the profiler is gone;
                # writes are then blocking, like stdout.
                _fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
                os.set_blocking(_fd, True)
        except OSError:
            _fd = None
    return _fd


def joule_phase(token):
    """Marks a phase boundary named `token` (a no-op when not profiled)."""
    fd = _channel()
    if fd is not None:
        os.write(fd, (str(token) + "\n").encode())
