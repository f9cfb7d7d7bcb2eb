#!/usr/bin/env bash
# Starts a throw-away two-node Slurm cluster on this machine, for tests:
# a private munged, slurmctld and two slurmd (node1, node2) sharing the host
# (NodeHostname=localhost, one port each). Everything lives under DIR;
# traffic stays on 127.0.0.1. Needs root and Debian's slurm-wlm and munge.
#
#   scripts/test_cluster/start_slurm.sh DIR [BASE_PORT]
#
# Prints `SLURM_CONF=DIR/slurm.conf` once `sinfo` shows both nodes idle;
# stop it with scripts/test_cluster/stop_slurm.sh DIR. On failure it stops
# what it started, prints the reason and the daemons' last log lines, and
# exits non-zero. A non-root user can submit jobs to it (e.g. when the
# tests started it through sudo).
set -euo pipefail

dir="${1:?usage: start_slurm.sh DIR [BASE_PORT]}"
base_port="${2:-46817}"
here="$(cd "$(dirname "$0")" && pwd)"

fail() {
  echo "start_slurm.sh: $*" >&2
  for log in "$dir"/log/*.log; do
    [[ -s "$log" ]] || continue
    echo "--- last lines of $log" >&2
    tail -n 15 "$log" >&2
  done
  "$here/stop_slurm.sh" "$dir" >/dev/null 2>&1 || true
  exit 1
}

[[ $(id -u) -eq 0 ]] || fail "needs root (slurmd runs jobs as their user)"
for tool in munged munge slurmctld slurmd sinfo srun; do
  command -v "$tool" >/dev/null 2>&1 ||
    fail "'$tool' not found: install Debian's slurm-wlm and munge (apt-get install -y slurm-wlm munge)"
done

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
mkdir -p "$dir"/{munge,state,run,log,spool}
# Users submitting jobs reach the socket in here; the key itself stays root-only (mode 400).
chmod 755 "$dir" "$dir/munge"

# munge: a private daemon with its own key and socket, so a system munged is left alone.
key="$dir/munge/munge.key"
if [[ ! -s "$key" ]]; then
  head -c 1024 /dev/urandom >"$key"
fi
chmod 400 "$key"
socket="$dir/munge/munge.socket"
munged --force --key-file="$key" --socket="$socket" --pid-file="$dir/run/munged.pid" \
  --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munge.seed" ||
  fail "munged did not start"
for _ in $(seq 50); do [[ -S "$socket" ]] && break; sleep 0.1; done
munge --socket="$socket" -n | unmunge --socket="$socket" >/dev/null 2>&1 ||
  fail "munge credentials do not round-trip through $socket"

ctld_port=$base_port
node1_port=$((base_port + 1))
node2_port=$((base_port + 2))
cpus=$(nproc)
conf="$dir/slurm.conf"
cat >"$conf" <<CONF
ClusterName=jptest
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$node1_port
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd-%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/builtin
SelectType=select/linear
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=node1 NodeHostname=localhost NodeAddr=127.0.0.1 Port=$node1_port CPUs=$cpus State=UNKNOWN
NodeName=node2 NodeHostname=localhost NodeAddr=127.0.0.1 Port=$node2_port CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=node1,node2 Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
export SLURM_CONF="$conf"

slurmctld -c -f "$conf" || fail "slurmctld did not start"
for node in node1 node2; do
  mkdir -p "$dir/spool/$node"
  slurmd -N "$node" -f "$conf" || fail "slurmd $node did not start"
done

for _ in $(seq 100); do
  idle="$(sinfo -h -N -o '%N %t' 2>/dev/null | awk '$2 == "idle" { n++ } END { print n + 0 }')"
  [[ "$idle" -ge 2 ]] && {
    echo "SLURM_CONF=$conf"
    exit 0
  }
  sleep 0.2
done
fail "the nodes did not become idle within 20 s (sinfo: $(sinfo -h -N -o '%N %t' 2>&1 | tr '\n' ' '))"
