/**
 * Finding the perf `power` PMU (RAPL through perf_event): its type, the CPU
 * of each package it counts on, and its energy events.
 *
 * @module
 */

import { domainOfPerfEvent, type RaplDomain } from "./rapl_domain.ts";
import { pathMode } from "../../src/ffi/file_status.ts";

/** Default folder of perf PMUs. */
export const DEFAULT_EVENT_SOURCE_PATH = "/sys/bus/event_source/devices";
/** Default folder of CPU topology. */
export const DEFAULT_CPU_SYSFS_PATH = "/sys/devices/system/cpu";

/** One energy event of the PMU. */
export interface PowerPmuEvent {
  /** File name under `events/`, e.g. `energy-pkg`. */
  event: string;
  /** The domain. */
  domain: RaplDomain;
  /** `perf_event_attr.config`. */
  config: bigint;
  /** Joules per count (from `<event>.scale`). */
  scale: number;
}

/** The `power` PMU. */
export interface PowerPmu {
  /** Its folder. */
  path: string;
  /** `perf_event_attr.type` for its events. */
  type: number;
  /** One CPU per package (die) to open events on, from `cpumask`. */
  cpus: number[];
  /** Its energy events. */
  events: PowerPmuEvent[];
  /** Diagnostics for `-vv` (skipped events). */
  notes: string[];
}

/**
 * Parses a kernel CPU list such as `0,28` or `0-3,8`.
 *
 * @param text The list.
 * @returns CPU numbers in order.
 *
 * @example Usage
 * ```ts
 * import { parseCpuList } from "./power_pmu.ts";
 * console.log(parseCpuList("0-2,8")); // [0, 1, 2, 8]
 * ```
 */
export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(",")) {
    if (part === "") continue;
    const [from, to] = part.split("-").map((value) => Number.parseInt(value, 10));
    if (from === undefined || Number.isNaN(from)) continue;
    const last = to === undefined || Number.isNaN(to) ? from : to;
    for (let cpu = from; cpu <= last; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/**
 * Turns an event description (`event=0x02`, `event=0x1,umask=0x3`) into a
 * `config` value, using the PMU's `format/` files (`config:0-7`) when they
 * exist, else placing `event` at bit 0.
 *
 * @param description Content of the event file.
 * @param formatPath The PMU's `format` folder.
 * @returns The config.
 *
 * @example Usage
 * ```ts
 * import { parseEventConfig } from "./power_pmu.ts";
 * console.log(parseEventConfig("event=0x02", "/nonexistent")); // 2n
 * ```
 */
export function parseEventConfig(description: string, formatPath: string): bigint {
  let config = 0n;
  for (const term of description.trim().split(",")) {
    const [name, raw] = term.split("=");
    if (name === undefined || name === "") continue;
    const value = raw === undefined ? 1n : BigInt(raw.trim());
    let shift = 0n;
    try {
      const format = Deno.readTextFileSync(`${formatPath}/${name.trim()}`).trim();
      const bits = /^config:(\d+)/.exec(format);
      if (bits) shift = BigInt(bits[1]!);
    } catch {
      if (name.trim() !== "event") continue;
    }
    config |= value << shift;
  }
  return config;
}

function readText(path: string): string | undefined {
  // Missing on machines without RAPL: said by one statx, not by an exception (the first a
  // process throws costs about 1 ms here).
  if (pathMode(path) < 0) return undefined;
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return undefined;
  }
}

/**
 * Reads the `power` PMU under an event source folder.
 *
 * @param eventSourcePath Folder of PMUs (default `/sys/bus/event_source/devices`).
 * @returns The PMU, or why there is none.
 *
 * @example Usage
 * ```ts
 * import { discoverPowerPmu } from "./power_pmu.ts";
 * const found = discoverPowerPmu();
 * console.log("missing" in found ? found.missing : found.events.map((e) => e.event));
 * ```
 */
export function discoverPowerPmu(
  eventSourcePath = DEFAULT_EVENT_SOURCE_PATH,
): PowerPmu | { missing: string } {
  const path = `${eventSourcePath.replace(/\/+$/, "")}/power`;
  const typeText = readText(`${path}/type`);
  if (typeText === undefined) {
    return {
      missing: `no perf 'power' PMU (${path}/type not found: no RAPL in this kernel or VM)`,
    };
  }
  const type = /^\d{1,9}$/.test(typeText) ? Number(typeText) : Number.NaN;
  if (Number.isNaN(type)) return { missing: `${path}/type is not a plain decimal number` };
  const cpus = parseCpuList(readText(`${path}/cpumask`) ?? "0");
  if (cpus.length === 0) return { missing: `${path}/cpumask lists no CPU` };

  const notes: string[] = [];
  const events: PowerPmuEvent[] = [];
  let names: string[] = [];
  try {
    names = [...Deno.readDirSync(`${path}/events`)].map((entry) => entry.name).sort();
  } catch {
    return { missing: `${path}/events cannot be listed` };
  }
  for (const event of names) {
    if (event.includes(".")) continue;
    const domain = domainOfPerfEvent(event);
    if (domain === undefined) {
      notes.push(`power PMU event '${event}' is not a RAPL domain we know, skipped`);
      continue;
    }
    const description = readText(`${path}/events/${event}`);
    const scale = Number(readText(`${path}/events/${event}.scale`));
    const unit = readText(`${path}/events/${event}.unit`) ?? "Joules";
    if (description === undefined || !Number.isFinite(scale) || scale <= 0) {
      notes.push(`power PMU event '${event}' has no usable description or scale, skipped`);
      continue;
    }
    if (unit !== "Joules") {
      notes.push(`power PMU event '${event}' counts in '${unit}', not Joules, skipped`);
      continue;
    }
    let config: bigint;
    try {
      config = parseEventConfig(description, `${path}/format`);
    } catch {
      notes.push(`power PMU event '${event}' has an unreadable description '${description}'`);
      continue;
    }
    events.push({ event, domain, config, scale });
  }
  if (events.length === 0) return { missing: `${path} has no RAPL energy events` };
  return { path, type, cpus, events, notes };
}

/**
 * The package (and die) a CPU belongs to, from its sysfs topology.
 *
 * @param cpu CPU number.
 * @param cpuSysfsPath Topology folder (default `/sys/devices/system/cpu`).
 * @returns Package id and die id, or `undefined` when unreadable.
 *
 * @example Usage
 * ```ts
 * import { topologyOfCpu } from "./power_pmu.ts";
 * console.log(topologyOfCpu(0)); // e.g. { packageId: 0, dieId: 0 }
 * ```
 */
export function topologyOfCpu(
  cpu: number,
  cpuSysfsPath = DEFAULT_CPU_SYSFS_PATH,
): { packageId: number; dieId: number | undefined } | undefined {
  const base = `${cpuSysfsPath}/cpu${cpu}/topology`;
  const packageId = Number.parseInt(readText(`${base}/physical_package_id`) ?? "", 10);
  if (Number.isNaN(packageId)) return undefined;
  const die = Number.parseInt(readText(`${base}/die_id`) ?? "", 10);
  return { packageId, dieId: Number.isNaN(die) ? undefined : die };
}
