/**
 * Choosing and preparing the RAPL backend: perf_event when the `power` PMU
 * exists and opens, else powercap, else none (with the reasons).
 *
 * @module
 */

import { UsageError } from "../../src/errors.ts";
import { PerfEventOpenError, readPerfEventParanoid } from "../../src/ffi/perf_event.ts";
import type { Source } from "../../src/source.ts";
import { PerfRaplSource, planPerfRaplCounters } from "./perf_rapl_source.ts";
import {
  DEFAULT_CPU_SYSFS_PATH,
  DEFAULT_EVENT_SOURCE_PATH,
  discoverPowerPmu,
  topologyOfCpu,
} from "./power_pmu.ts";
import { PowercapSource } from "./powercap_source.ts";
import { DEFAULT_POWERCAP_PATH, discoverPowercapZones } from "./powercap_zones.ts";

/** The two RAPL backends. */
export type RaplBackend = "perf" | "powercap";

/** Options of {@linkcode setupRapl}. */
export interface RaplSetupOptions {
  /** Force a backend; without it, perf is tried first, then powercap. */
  backend?: RaplBackend;
  /** Powercap control type folder (default `/sys/devices/virtual/powercap/intel-rapl`). */
  powercapPath?: string;
  /** Folder of perf PMUs (default `/sys/bus/event_source/devices`). */
  eventSourcePath?: string;
  /** CPU topology folder (default `/sys/devices/system/cpu`). */
  cpuSysfsPath?: string;
  /** Packages to measure (default all); PSYS is always measured. */
  sockets?: readonly number[];
  /** Powercap polling period in seconds (0: off; default: derived from the counters). */
  pollingSeconds?: number;
  /** Path of the profiler binary, for the `setcap` hint. */
  binaryPath?: string;
  /** Diagnostics. */
  log?: { warn?: (message: string) => void; debug?: (message: string) => void };
}

/** The outcome: a ready source, or why none could be made. */
export type RaplSetup =
  | { source: Source; backend: RaplBackend }
  | { source: undefined; reasons: { backend: RaplBackend; reason: string }[] };

/** Thrown when a backend was asked for explicitly and cannot work. */
class BackendUnavailable extends Error {
  constructor(readonly backend: RaplBackend, message: string) {
    super(message);
    this.name = "BackendUnavailable";
  }
}

function checkSockets(requested: readonly number[] | undefined, existing: number[]): void {
  if (requested === undefined) return;
  const missing = requested.filter((socket) => !existing.includes(socket));
  if (missing.length === 0) return;
  const have = existing.length === 0
    ? "this machine reports no CPU package"
    : `this machine has socket${existing.length > 1 ? "s" : ""} ${existing.join(", ")}`;
  throw new UsageError(
    `--sockets ${missing.join(",")}: no such socket${missing.length > 1 ? "s" : ""}; ${have}`,
  );
}

function permissionHint(binaryPath: string | undefined): string {
  const paranoid = readPerfEventParanoid();
  const now = paranoid === undefined ? "" : `kernel.perf_event_paranoid is ${paranoid}; `;
  return `${now}system-wide RAPL counters need perf_event_paranoid ≤ 0 without privileges: ` +
    `run as root, or 'sudo sysctl kernel.perf_event_paranoid=0', or (safer) ` +
    `'sudo setcap cap_perfmon=ep ${binaryPath ?? "<path to joule-profiler>"}'`;
}

function setupPerf(options: RaplSetupOptions): PerfRaplSource {
  const pmu = discoverPowerPmu(options.eventSourcePath ?? DEFAULT_EVENT_SOURCE_PATH);
  if ("missing" in pmu) throw new BackendUnavailable("perf", pmu.missing);
  for (const note of pmu.notes) options.log?.debug?.(note);
  const cpuPath = options.cpuSysfsPath ?? DEFAULT_CPU_SYSFS_PATH;
  const packageOfCpu = (cpu: number) => {
    const topology = topologyOfCpu(cpu, cpuPath);
    return topology ?? pmu.cpus.indexOf(cpu);
  };
  const packages = [
    ...new Set(pmu.cpus.map((cpu) => {
      const found = packageOfCpu(cpu);
      return typeof found === "number" ? found : found.packageId;
    })),
  ].sort((a, b) => a - b);
  checkSockets(options.sockets, packages);
  const source = new PerfRaplSource(
    pmu,
    planPerfRaplCounters(pmu, { packageOfCpu, sockets: options.sockets }),
    { warn: options.log?.warn },
  );
  try {
    source.open();
  } catch (error) {
    if (error instanceof PerfEventOpenError) {
      const reason = error.denied
        ? `opening ${error.event} was refused (${error.code}); ${
          permissionHint(options.binaryPath)
        }`
        : `${error.message}`;
      throw new BackendUnavailable("perf", reason);
    }
    throw error;
  } finally {
    source.close();
  }
  return source;
}

function setupPowercap(options: RaplSetupOptions): PowercapSource {
  const path = options.powercapPath ?? DEFAULT_POWERCAP_PATH;
  const { zones, unusable, notes } = discoverPowercapZones(path);
  for (const note of notes) options.log?.debug?.(note);
  if (zones.length === 0) {
    const denied = unusable.find((zone) => zone.denied);
    if (denied !== undefined) {
      throw new BackendUnavailable(
        "powercap",
        `${denied.path}/energy_uj is readable by root only (since CVE-2020-8694): run as root, ` +
          `or 'sudo chmod -R a+r /sys/class/powercap/intel-rapl' (until reboot), or grant a group ` +
          `read access at boot (see README: Granting access without root)`,
      );
    }
    const first = unusable[0];
    throw new BackendUnavailable(
      "powercap",
      first !== undefined ? first.problem : `no RAPL zones under ${path}`,
    );
  }
  for (const zone of unusable) options.log?.warn?.(`RAPL (Powercap): skipped ${zone.problem}`);
  const packages = [
    ...new Set(zones.flatMap((zone) => zone.packageId === undefined ? [] : [zone.packageId])),
  ].sort((a, b) => a - b);
  checkSockets(options.sockets, packages);
  const selected = options.sockets === undefined
    ? zones
    : zones.filter((zone) =>
      zone.packageId === undefined || options.sockets!.includes(zone.packageId)
    );
  const source = new PowercapSource({
    zones: selected,
    pollingSeconds: options.pollingSeconds,
    warn: options.log?.warn,
  });
  options.log?.debug?.(
    `RAPL (Powercap): ${selected.map((zone) => `${zone.sensor}=${zone.path}`).join(", ")}; ` +
      (source.pollingSeconds > 0 ? `polling every ${source.pollingSeconds} s` : "no polling"),
  );
  return source;
}

/**
 * Prepares the RAPL source. With `backend` set, that backend must work
 * (else this throws the reason); without it, perf is preferred, then
 * powercap, and when neither works the reasons are returned so the caller
 * can warn and go on.
 *
 * @param options Paths, backend, sockets, polling.
 * @returns The source and its backend, or the reasons there is none.
 * @throws {UsageError} For sockets that do not exist.
 * @throws {Error} When the requested backend cannot work (message says why).
 *
 * @example Usage
 * ```ts
 * import { setupRapl } from "./rapl_setup.ts";
 * const setup = setupRapl({});
 * if (setup.source === undefined) console.log(setup.reasons);
 * ```
 */
export function setupRapl(options: RaplSetupOptions): RaplSetup {
  const polling = options.pollingSeconds;
  // Timers clamp delays past 2^31 ms to 1 ms: an absurd period would poll constantly.
  if (polling !== undefined && polling !== 0 && !(polling >= 0.001 && polling <= 3600)) {
    throw new UsageError(
      `--rapl-polling must be 0 (off) or from 0.001 to 3600 seconds, got ${polling}`,
    );
  }
  const order: RaplBackend[] = options.backend ? [options.backend] : ["perf", "powercap"];
  const reasons: { backend: RaplBackend; reason: string }[] = [];
  for (const backend of order) {
    try {
      const source = backend === "perf" ? setupPerf(options) : setupPowercap(options);
      return { source, backend };
    } catch (error) {
      if (!(error instanceof BackendUnavailable)) throw error;
      if (options.backend) throw new Error(error.message);
      reasons.push({ backend, reason: error.message });
    }
  }
  return { source: undefined, reasons };
}
