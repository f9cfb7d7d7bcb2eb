#!/usr/bin/env bash
# Checks the profiler on a real NVIDIA GPU (and RAPL where the machine exposes it), by hand:
#   OUT=/tmp/gpu-check bash tests/device/gpu_check.sh
# Needs python3 with torch and pynvml (nvidia-ml-py). The workload reads NVML's own energy counter
# at each token it prints (written to $OUT/gpu_truth.json) so the per-phase figures can be compared.
# Where the lent GPU machine has no Deno, a gzipped deno binary and an npm cache tarball may be
# carried in .device/ (git-ignored); they are unpacked first.
set -x
cd "$(dirname "$0")/../.." || exit 1
: "${OUT:?set OUT to a folder for the results}"
mkdir -p "$OUT"
exec > >(tee "$OUT/run.log") 2>&1
if [ -f .device/deno.gz ]; then
  mkdir -p /tmp/d && gunzip -c .device/deno.gz >/tmp/d/deno && chmod +x /tmp/d/deno
  export PATH=/tmp/d:$PATH DENO_DIR=/tmp/denodir
  mkdir -p "$DENO_DIR" && tar -C "$DENO_DIR" -xf .device/denodir.tar
fi
export NO_COLOR=1
deno --version | head -1
nproc
nvidia-smi -L
uname -r
ls /sys/class/powercap/ 2>&1
P=(deno run -A main.ts)
"${P[@]}" doctor >"$OUT/doctor.txt" 2>&1
"${P[@]}" --json -o "$OUT/gpu.json" profile --gpu --sample-interval 20 -- python3 tests/device/gpu_phases.py
cp "$OUT/gpu_truth.json" "$OUT/gpu_truth_json_run.json"
"${P[@]}" profile --gpu -- python3 tests/device/gpu_phases.py
"${P[@]}" list-sensors --gpu
if [ -r /sys/class/powercap/intel-rapl:0/energy_uj ]; then
  "${P[@]}" --json -o "$OUT/cpu.json" profile -n 3 --idle 2 -- python3 tests/device/cpu_phases.py
  timeout 200 "${P[@]}" model train -o "$OUT/model.json"
fi
"${P[@]}" profile -- python3 tests/device/cpu_phases.py
