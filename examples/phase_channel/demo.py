"""Phases marked through the channel, output on stdout unaffected.

    deno task start profile -- python3 examples/phase_channel/demo.py
"""
import sys
import time

from joule_phase import joule_phase

joule_phase("__LOAD__")
data = [i * i for i in range(300_000)]
print("loaded", len(data))  # plain output: no flush needed for phases
joule_phase("__SLEEP__")
time.sleep(0.2)
joule_phase("__DONE__")
sys.exit(0)
