#!/bin/sh
# A shell workload in phases. `echo` in sh writes straight to stdout (no
# buffering), so tokens need no explicit flush.
echo "__SLEEP__"
sleep 0.1
echo "__LOOP__"
i=0
while [ "$i" -lt 20000 ]; do i=$((i + 1)); done
echo "__DONE__"
