/**
 * `joule-profiler doctor`: checks every source on this machine and says,
 * for each, whether it works, why not, and the command that fixes it.
 *
 * @module
 */

import { NvmlSource } from "../../sources/nvml/mod.ts";
import { AmdSmiSource } from "../../sources/amdsmi/mod.ts";
import { PerfEventSource } from "../../sources/perf_event/mod.ts";
import { discoverPowerPmu } from "../../sources/rapl/power_pmu.ts";
import { PerfRaplSource } from "../../sources/rapl/perf_rapl_source.ts";
import { discoverPowercapZones } from "../../sources/rapl/powercap_zones.ts";
import { setupRapl } from "../../sources/rapl/rapl_setup.ts";
import { readPerfEventParanoid } from "../ffi/perf_event.ts";
import type { Source } from "../source.ts";
import { PowercapSource } from "../../sources/rapl/powercap_source.ts";
import { CgroupCounters } from "../../sources/process/mod.ts";
import { SystemSource } from "../../sources/system/mod.ts";
import { ProgramCgroup } from "../process/program_cgroup.ts";
import { SHORT_SLICE_NS, shortSliceAvailability } from "../process/scheduler_slice.ts";

/** How usable a source is. */
export type DoctorStatus = "available" | "partial" | "unavailable";

/** The verdict on one source. */
export interface DoctorCheck {
  /** The source, as named in results (e.g. `RAPL (perf_event)`). */
  source: string;
  /** Whether it can be used. */
  status: DoctorStatus;
  /** One line saying what was found. */
  summary: string;
  /** Why, in facts (files, settings, errors). */
  why: string[];
  /** Exact commands (or steps) that fix it. */
  fixes: string[];
}

/** Facts about the machine that explain most failures. */
export interface DoctorEnvironment {
  /** Kernel release. */
  kernel: string;
  /** CPU vendor and model. */
  cpu: string;
  /** `true` when the CPU reports a hypervisor (a virtual machine). */
  virtualMachine: boolean;
  /** Effective uid is 0. */
  root: boolean;
  /** `kernel.perf_event_paranoid`, when readable. */
  perfEventParanoid: number | undefined;
  /**
   * Whether `profile` can shorten its main thread's scheduler slice (Linux ≥
   * 6.12; prompt wake-ups on a busy machine), with the current slice in ns or
   * why not.
   */
  shortSlices?: { available: boolean; sliceNs?: number; reason?: string };
}

/** Everything `doctor` found. */
export interface DoctorReport {
  /** Machine facts. */
  environment: DoctorEnvironment;
  /** One verdict per source. */
  checks: DoctorCheck[];
}

/** Paths the checks read; the CLI passes the same overrides as `profile`. */
export interface DoctorOptions {
  /** Powercap folder. */
  powercapPath: string;
  /** Folder of perf PMUs. */
  eventSourcePath: string;
  /** CPU topology folder. */
  cpuSysfsPath?: string;
  /** Path of the profiler binary, for `setcap` commands. */
  binaryPath: string;
}

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Reads the machine facts.
 *
 * @returns Kernel, CPU, virtualisation, privileges, perf paranoia.
 *
 * @example Usage
 * ```ts
 * import { readEnvironment } from "./doctor.ts";
 * console.log(readEnvironment().virtualMachine);
 * ```
 */
export function readEnvironment(): DoctorEnvironment {
  const cpuinfo = readText("/proc/cpuinfo") ?? "";
  const field = (name: string) =>
    new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(cpuinfo)?.[1]?.trim();
  const flags = field("flags") ?? "";
  return {
    kernel: Deno.osRelease(),
    cpu: [field("vendor_id"), field("model name")].filter(Boolean).join(", ") || "unknown",
    virtualMachine: /\bhypervisor\b/.test(flags),
    root: Deno.uid() === 0,
    perfEventParanoid: readPerfEventParanoid(),
    shortSlices: shortSliceAvailability(),
  };
}

function noRaplOnVm(environment: DoctorEnvironment): string[] {
  return environment.virtualMachine
    ? ["this is a virtual machine: hypervisors rarely expose RAPL; measure on bare metal"]
    : [];
}

/** How long the probes watch a counter for movement. */
const PROBE_MS = 100;

/**
 * Runs a source briefly, as a profile would, and returns the sensors whose
 * counters never moved (the source's own end-of-run check).
 */
async function staleSensors(source: Source): Promise<string[]> {
  const found: string[] = [];
  const probe = source instanceof PowercapSource
    ? new PowercapSource({ zones: [...source.zones], pollingSeconds: 0 })
    : source;
  await probe.init?.(Deno.pid);
  await probe.measure();
  await new Promise((resolve) => setTimeout(resolve, PROBE_MS));
  await probe.measure();
  await probe.retrieve();
  await probe.join?.();
  for (const metric of probe.toMetrics(1)) {
    if (metric.details?.not_updating === true) found.push(metric.name);
  }
  return found;
}

async function checkPerfRapl(
  options: DoctorOptions,
  environment: DoctorEnvironment,
): Promise<DoctorCheck> {
  const source = "RAPL (perf_event)";
  const pmu = discoverPowerPmu(options.eventSourcePath);
  if ("missing" in pmu) {
    return {
      source,
      status: "unavailable",
      summary: "no perf 'power' PMU",
      why: [pmu.missing, ...noRaplOnVm(environment)],
      fixes: environment.virtualMachine ? [] : [
        "load the kernel's RAPL perf driver: sudo modprobe rapl (Intel; AMD needs Linux ≥ 5.8)",
      ],
    };
  }
  try {
    const setup = setupRapl({
      backend: "perf",
      eventSourcePath: options.eventSourcePath,
      cpuSysfsPath: options.cpuSysfsPath,
      binaryPath: options.binaryPath,
    });
    const sensors = setup.source instanceof PerfRaplSource
      ? setup.source.plan.map((entry) => entry.sensor)
      : [];
    const stale = setup.source === undefined ? [] : await staleSensors(setup.source);
    return {
      source,
      status: stale.length === 0
        ? "available"
        : stale.length < sensors.length
        ? "partial"
        : "unavailable",
      summary: `${sensors.length} counters: ${sensors.join(", ")}`,
      why: [
        `PMU type ${pmu.type}, one CPU per package: ${pmu.cpus.join(", ")}`,
        ...stale.map((name) =>
          `${name} is exposed but did not move in ${PROBE_MS} ms (a virtual machine?)`
        ),
      ],
      fixes: [],
    };
  } catch (error) {
    const message = (error as Error).message;
    const denied = /refused/.test(message);
    return {
      source,
      status: "unavailable",
      summary: denied ? "the kernel refuses system-wide counters to this user" : "cannot open",
      why: [message],
      fixes: denied
        ? [
          `sudo setcap cap_perfmon=ep ${options.binaryPath}   # safer: only this binary (Linux ≥ 5.8)`,
          "sudo sysctl kernel.perf_event_paranoid=0   # or: every user, until reboot",
          "echo 'kernel.perf_event_paranoid = 0' | sudo tee /etc/sysctl.d/90-joule-profiler.conf",
        ]
        : [],
    };
  }
}

async function checkPowercap(
  options: DoctorOptions,
  environment: DoctorEnvironment,
): Promise<DoctorCheck> {
  const source = "RAPL (Powercap)";
  const { zones, unusable } = discoverPowercapZones(options.powercapPath);
  if (zones.length > 0) {
    const stale = await staleSensors(new PowercapSource({ zones, pollingSeconds: 0 }));
    return {
      source,
      status: stale.length === zones.length
        ? "unavailable"
        : unusable.length > 0 || stale.length > 0
        ? "partial"
        : "available",
      summary: `${zones.length} zones: ${zones.map((zone) => zone.sensor).join(", ")}`,
      why: [
        ...unusable.map((zone) => zone.problem),
        ...stale.map((name) =>
          `${name} is exposed but did not move in ${PROBE_MS} ms (a virtual machine?)`
        ),
      ],
      fixes: [],
    };
  }
  const denied = unusable.some((zone) => zone.denied);
  if (denied) {
    return {
      source,
      status: "unavailable",
      summary: "energy_uj is readable by root only",
      why: [
        ...unusable.map((zone) => zone.problem),
        "since CVE-2020-8694 the kernel makes energy_uj root-only",
      ],
      fixes: [
        "sudo chmod -R a+r /sys/class/powercap/intel-rapl   # until reboot",
        "sudo groupadd -f power && sudo usermod -aG power $USER   # then, persistently:",
        "printf 'z /sys/class/powercap/intel-rapl:*/energy_uj 0440 root power -\\n" +
        "z /sys/class/powercap/intel-rapl:*:*/energy_uj 0440 root power -\\n' | " +
        "sudo tee /etc/tmpfiles.d/joule-profiler.conf && sudo systemd-tmpfiles --create",
      ],
    };
  }
  return {
    source,
    status: "unavailable",
    summary: `no RAPL zones under ${options.powercapPath}`,
    why: [...unusable.map((zone) => zone.problem), ...noRaplOnVm(environment)],
    fixes: environment.virtualMachine
      ? []
      : ["sudo modprobe intel_rapl_msr   # the powercap RAPL driver (AMD too, Linux ≥ 5.8)"],
  };
}

function checkPerfCounters(environment: DoctorEnvironment, binaryPath: string): DoctorCheck {
  const source = "perf_event (--perf)";
  const sensors = new PerfEventSource({ warn: () => {} }).sensors();
  const missing = sensors.filter((sensor) => sensor.available === false);
  const limited = sensors.filter((sensor) => sensor.available !== false && sensor.note);
  const denied = missing.some((sensor) => /permission|refused/.test(sensor.note ?? ""));
  const hardwareMissing = missing.some((sensor) => /not supported/.test(sensor.note ?? ""));
  const fixes: string[] = [];
  if (denied || limited.length > 0) {
    fixes.push(
      `sudo setcap cap_perfmon=ep ${binaryPath}   # safer: only this binary (Linux ≥ 5.8)`,
      "sudo sysctl kernel.perf_event_paranoid=1   # or: every user may count the kernel too",
    );
  }
  return {
    source,
    status: missing.length === 0
      ? "available"
      : missing.length < sensors.length
      ? "partial"
      : "unavailable",
    summary: `${sensors.length - missing.length} of ${sensors.length} default events countable`,
    why: [
      ...missing.map((sensor) => `${sensor.name}: ${sensor.note ?? "not available"}`),
      ...limited.map((sensor) => `${sensor.name}: ${sensor.note}`),
      ...(hardwareMissing && environment.virtualMachine
        ? ["hardware events need a PMU, which this virtual machine does not expose"]
        : []),
    ],
    fixes,
  };
}

/** The `process` source: a cgroup of the program's own, else /proc and rusage. */
function checkProcess(environment: DoctorEnvironment): DoctorCheck {
  const source = "process";
  const why: string[] = [];
  const fixes: string[] = [];
  const missing = ["stat", "status", "io", "statm"].filter((file) =>
    readText(`/proc/self/${file}`) === undefined
  );
  if (missing.length > 0) {
    return {
      source,
      status: "unavailable",
      summary: `cannot read /proc/self/{${missing.join(",")}}`,
      why: ["/proc is not mounted, or hides processes (hidepid)"],
      fixes: ["mount /proc without hidepid (mount -o remount,hidepid=0 /proc)"],
    };
  }
  if (readText("/proc/self/schedstat") === undefined) {
    why.push("no /proc/<pid>/schedstat: every process of the tree is re-read at every boundary");
  }
  why.push(
    "storage bytes come from task I/O accounting (/proc/<pid>/io), which keeps the bytes of " +
      "reaped children; cgroup blkio counters are not used (they stay at 0 on kernels where " +
      "no I/O throttling is set up)",
    "network traffic per process needs eBPF: not measured (the system source has the machine's)",
  );
  let cgroup: ProgramCgroup | undefined;
  try {
    cgroup = ProgramCgroup.create();
    const folders = cgroup.folders.map((folder) =>
      `v${folder.version}${
        folder.controllers.length > 0 ? ` ${folder.controllers.join(",")}` : ""
      } (${folder.path.replace(/\/joule-profiler-[^/]+$/, "")})`
    );
    const counters = new CgroupCounters(cgroup);
    const summary = `a cgroup per program: CPU time from ${counters.cpuVia}, ` +
      "the rest from /proc";
    counters.close();
    why.unshift(`cgroup hierarchies: ${folders.join("; ")}`);
    return { source, status: "available", summary, why, fixes };
  } catch (error) {
    why.unshift(
      `no cgroup of the program's own: ${error instanceof Error ? error.message : error}`,
      "CPU time and faults of descendants are counted through the parents that reap them and " +
        "completed from getrusage at the end; orphans re-parented away from the tree are missed",
    );
    fixes.push(
      environment.root
        ? "mount cgroup v2 (mount -t cgroup2 none /sys/fs/cgroup) or the v1 cpuacct hierarchy"
        : "run as root, or from a delegated cgroup v2 subtree (systemd-run --user --scope -p " +
          "Delegate=yes joule-profiler …)",
    );
    return {
      source,
      status: "partial",
      summary: "no cgroup: the process tree is read from /proc",
      why,
      fixes,
    };
  } finally {
    cgroup?.remove();
  }
}

/** The `system` source: /proc/stat and /proc/net/dev. */
function checkSystem(): DoctorCheck {
  const source = "system";
  try {
    const system = new SystemSource();
    const network = readText("/proc/net/dev") !== undefined;
    return {
      source,
      status: network ? "available" : "partial",
      summary: `machine-wide CPU time of ${system.cpus} logical CPUs` +
        (network ? " and network traffic" : ""),
      why: network ? [] : ["/proc/net/dev is not readable: network counters read 0"],
      fixes: [],
    };
  } catch (error) {
    return {
      source,
      status: "unavailable",
      summary: "cannot read /proc/stat",
      why: [error instanceof Error ? error.message : String(error)],
      fixes: ["mount /proc"],
    };
  }
}

function checkNvml(): DoctorCheck {
  const source = "NVML";
  let nvml: NvmlSource | undefined;
  try {
    nvml = NvmlSource.open({});
    const gpus = nvml.gpus;
    const fallback = gpus.filter((gpu) => gpu.method !== "energy_counter");
    return {
      source,
      status: fallback.length > 0 ? "partial" : "available",
      summary: gpus.map((gpu) => `GPU ${gpu.index}: ${gpu.name}`).join("; "),
      why: fallback.map((gpu) =>
        `GPU ${gpu.index} has no energy counter (pre-Volta): its energy is integrated from ` +
        `power samples`
      ),
      fixes: [],
    };
  } catch (error) {
    const message = (error as Error).message;
    const missing = /cannot load|cannot open shared object/.test(message);
    return {
      source,
      status: "unavailable",
      summary: missing ? "libnvidia-ml.so.1 not found" : "NVML cannot be used",
      why: [message],
      fixes: missing
        ? [
          "install the NVIDIA driver (it provides libnvidia-ml.so.1), or",
          "export JOULE_PROFILER_NVML_PATH=/path/to/libnvidia-ml.so.1",
        ]
        : ["check that 'nvidia-smi' works: the driver must be loaded and see the GPU"],
    };
  } finally {
    nvml?.close();
  }
}

function checkAmdSmi(): DoctorCheck {
  const source = "AMD SMI";
  let amdsmi: AmdSmiSource | undefined;
  try {
    amdsmi = AmdSmiSource.open({});
    const gpus = amdsmi.gpus;
    const fallback = gpus.filter((gpu) => gpu.reading !== "energy_counter");
    return {
      source,
      status: fallback.length > 0 ? "partial" : "available",
      summary: gpus.map((gpu) => `AMD GPU ${gpu.index}: ${gpu.name} (${gpu.pciBusId})`).join(
        "; ",
      ),
      why: fallback.map((gpu) =>
        `AMD GPU ${gpu.index} has no energy counter (AMD SMI answers "not supported", as on ` +
        `virtual machine guests): its energy is integrated from power samples`
      ),
      fixes: [],
    };
  } catch (error) {
    const message = (error as Error).message;
    const missing = /cannot load|cannot open shared object/.test(message);
    return {
      source,
      status: "unavailable",
      summary: missing ? "libamd_smi.so not found" : "AMD SMI cannot be used",
      why: [message],
      fixes: missing
        ? [
          "install ROCm or its amd-smi-lib package (it provides /opt/rocm/lib/libamd_smi.so), or",
          "export JOULE_PROFILER_AMDSMI_PATH=/path/to/libamd_smi.so",
        ]
        : [
          "check that 'amd-smi list' works: the amdgpu driver must be loaded and see the GPU",
          "add the user to the render and video groups: sudo usermod -aG render,video $USER",
        ],
    };
  } finally {
    amdsmi?.close();
  }
}

/**
 * Checks every source. RAPL counters are also watched for 100 ms, as a
 * profile would read them, to catch counters that exist but never move.
 *
 * @param options Paths and extra checks.
 * @returns The report.
 *
 * @example Usage
 * ```ts
 * import { diagnose } from "./doctor.ts";
 * const report = await diagnose({
 *   powercapPath: "/sys/devices/virtual/powercap/intel-rapl",
 *   eventSourcePath: "/sys/bus/event_source/devices",
 *   binaryPath: "/usr/local/bin/joule-profiler",
 * });
 * console.log(report.checks.map((check) => `${check.source}: ${check.status}`));
 * ```
 */
export async function diagnose(options: DoctorOptions): Promise<DoctorReport> {
  const environment = readEnvironment();
  const checks = [
    await checkPerfRapl(options, environment),
    await checkPowercap(options, environment),
    checkPerfCounters(environment, options.binaryPath),
    checkNvml(),
    checkAmdSmi(),
    checkProcess(environment),
    checkSystem(),
  ];
  return { environment, checks };
}

const MARKS: Record<DoctorStatus, string> = {
  available: "✓ available",
  partial: "~ partly available",
  unavailable: "✗ not available",
};

/**
 * The report for people.
 *
 * @param report The report.
 * @returns Text ending with a newline.
 *
 * @example Usage
 * ```ts
 * import { formatDoctorReport } from "./doctor.ts";
 * console.log(formatDoctorReport({
 *   environment: { kernel: "6.1", cpu: "x", virtualMachine: false, root: true, perfEventParanoid: 2 },
 *   checks: [],
 * }));
 * ```
 */
export function formatDoctorReport(report: DoctorReport): string {
  const { environment } = report;
  const lines = [
    `Kernel ${environment.kernel}; CPU ${environment.cpu}` +
    (environment.virtualMachine ? " (virtual machine)" : ""),
    `Running as ${environment.root ? "root" : `uid ${Deno.uid()}`}; ` +
    `kernel.perf_event_paranoid = ${environment.perfEventParanoid ?? "unknown"}`,
  ];
  const slices = environment.shortSlices;
  if (slices !== undefined) {
    const ms = (ns: number) => `${ns / 1e6} ms`;
    lines.push(
      slices.available
        ? `Scheduler: profile runs its main thread with ${ms(SHORT_SLICE_NS)} slices (default ` +
          `${ms(slices.sliceNs!)}), so it wakes at once on a token even when every core is busy`
        : `Scheduler: default slices (${slices.reason}); when every core is busy, a token ` +
          "can wait for the running task's slice (about 1 ms)",
    );
  }
  lines.push("");
  for (const check of report.checks) {
    lines.push(`${check.source}: ${MARKS[check.status]} — ${check.summary}`);
    for (const why of check.why) lines.push(`    why: ${why}`);
    for (const fix of check.fixes) lines.push(`    fix: ${fix}`);
  }
  const rapl = report.checks.filter((check) => check.source.startsWith("RAPL"));
  if (rapl.every((check) => check.status === "unavailable")) {
    lines.push(
      "",
      "Without RAPL, profiles report durations and the other sources only; " +
        "--energy-model MODEL.json or --tdp WATTS give estimated energy.",
    );
  }
  return `${lines.join("\n")}\n`;
}
