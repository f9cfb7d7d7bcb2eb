#!/usr/bin/env python3
"""A workload in three phases, marked by tokens on stdout.

Profile it with:
    deno task start profile -- python3 examples/programs/phases.py
"""
import time


def busy(seconds: float) -> int:
    """Spins the CPU for about `seconds`."""
    end = time.perf_counter() + seconds
    count = 0
    while time.perf_counter() < end:
        count += 1
    return count


print("__SETUP__", flush=True)
data = list(range(200_000))
print("__COMPUTE__", flush=True)
busy(0.2)
print("__IDLE__", flush=True)
time.sleep(0.2)
print("__DONE__", flush=True)
