#!/usr/bin/env bash
# Stops the cluster start_slurm.sh started under DIR: every daemon by the pid
# in its pid file (slurmd first, then slurmctld, then munged), waiting for
# each to exit (SIGKILL after 10 s). Leaves DIR's files in place.
#
#   scripts/test_cluster/stop_slurm.sh DIR
set -uo pipefail

dir="${1:?usage: stop_slurm.sh DIR}"
status=0

stop() {
  local pid_file="$1" pid
  [[ -s "$pid_file" ]] || return 0
  pid="$(tr -dc '0-9' <"$pid_file")"
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "stop_slurm.sh: pid $pid ($pid_file) ignored SIGTERM: SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || status=1
    fi
  fi
  rm -f "$pid_file"
}

for pid_file in "$dir"/run/slurmd-*.pid; do
  [[ -e "$pid_file" ]] && stop "$pid_file"
done
stop "$dir/run/slurmctld.pid"
stop "$dir/run/munged.pid"
exit "$status"
