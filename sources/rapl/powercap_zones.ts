/**
 * Finding the RAPL zones of the Linux powercap framework.
 *
 * @module
 */

import { NumericFile } from "../../src/ffi/numeric_file.ts";
import { SyscallError } from "../../src/ffi/libc.ts";
import { domainOfZoneName, type RaplDomain, sensorName } from "./rapl_domain.ts";
import { compareNaturalNames } from "../../src/text/natural_name_order.ts";
import { pathMode } from "../../src/ffi/file_status.ts";

/** The default powercap RAPL control type folder. */
export const DEFAULT_POWERCAP_PATH = "/sys/devices/virtual/powercap/intel-rapl";

const ZONE_FOLDER = /^(intel-rapl(?:-mmio)?):(\d+(?::\d+)*)$/;

/** One powercap zone we can report. */
export interface PowercapZone {
  /** Folder of the zone. */
  path: string;
  /** Folder name, e.g. `intel-rapl:0:1`. */
  id: string;
  /** `intel-rapl` (MSR) or `intel-rapl-mmio`. */
  controlType: string;
  /** Content of its `name` file. */
  zoneName: string;
  /** The domain. */
  domain: RaplDomain;
  /** Package (socket) id, `undefined` for PSYS. */
  packageId: number | undefined;
  /** Die id on multi-die packages. */
  dieId: number | undefined;
  /** Reported sensor name (unique). */
  sensor: string;
  /** `max_energy_range_uj`: the counter runs 0 … this value, then wraps. */
  maxEnergyRangeUj: number;
  /** The same, exactly, when it is 2^53 or more. */
  maxEnergyRange?: bigint;
}

/** A zone that exists but cannot be used, and why. */
export interface UnusableZone {
  /** Folder of the zone. */
  path: string;
  /** What is wrong (e.g. `energy_uj` not readable). */
  problem: string;
  /** `true` when the problem is a permission. */
  denied: boolean;
}

/** What discovery found. */
export interface PowercapDiscovery {
  /** Usable zones, one per domain and package. */
  zones: PowercapZone[];
  /** Zones that exist but cannot be read. */
  unusable: UnusableZone[];
  /** Diagnostics for `-vv` (unknown names, duplicates). */
  notes: string[];
}

interface Candidate {
  path: string;
  realPath: string;
  controlType: string;
  indices: number[];
}

function readText(path: string): string | undefined {
  if (pathMode(path) < 0) return undefined;
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return undefined;
  }
}

function listCandidates(root: string, depth: number, into: Map<string, Candidate>): void {
  let entries: Deno.DirEntry[];
  // Missing on machines without RAPL: said by one statx, not by an exception (the first a
  // process throws costs about 1 ms here).
  if (pathMode(root) < 0) return;
  try {
    entries = [...Deno.readDirSync(root)];
  } catch {
    return;
  }
  for (const entry of entries) {
    const match = ZONE_FOLDER.exec(entry.name);
    if (match === null) continue;
    const path = `${root}/${entry.name}`;
    let realPath: string;
    try {
      if (!Deno.statSync(path).isDirectory) continue;
      realPath = Deno.realPathSync(path);
    } catch {
      continue;
    }
    if (!into.has(realPath)) {
      into.set(realPath, {
        path,
        realPath,
        controlType: match[1]!,
        indices: match[2]!.split(":").map(Number),
      });
    }
    if (depth > 0) listCandidates(path, depth - 1, into);
  }
}

/**
 * Finds the RAPL zones under a powercap folder, and under its sibling
 * `intel-rapl-mmio` folder when there is one.
 *
 * Zone names are mapped tolerantly; an unknown one is skipped (noted for
 * `-vv`), never fatal. A domain exposed both through `intel-rapl` (MSR) and
 * `intel-rapl-mmio` is counted once, from the MSR zone unless it cannot be
 * read. Two different zones never share a sensor name: a second one gets a
 * `_2` suffix. Subzones inherit their parent's package.
 *
 * @param basePath The control type folder (or `/sys/class/powercap`).
 * @returns The usable zones, the unusable ones, and notes.
 *
 * @example Usage
 * ```ts
 * import { discoverPowercapZones } from "./powercap_zones.ts";
 * const { zones, unusable } = discoverPowercapZones("/sys/devices/virtual/powercap/intel-rapl");
 * console.log(zones.map((zone) => zone.sensor), unusable.length);
 * ```
 */
export function discoverPowercapZones(basePath: string): PowercapDiscovery {
  const base = basePath.replace(/\/+$/, "") || "/";
  const candidates = new Map<string, Candidate>();
  listCandidates(base, 2, candidates);
  const parent = base.slice(0, base.lastIndexOf("/")) || "/";
  listCandidates(`${parent}/intel-rapl-mmio`, 2, candidates);

  const notes: string[] = [];
  const unusable: UnusableZone[] = [];
  const byId = new Map<string, { zoneName?: string }>();
  const sorted = [...candidates.values()].sort((a, b) =>
    a.controlType === b.controlType
      ? compareNaturalNames(a.indices.join(":"), b.indices.join(":"))
      : a.controlType === "intel-rapl"
      ? -1
      : 1
  );
  for (const candidate of sorted) {
    byId.set(`${candidate.controlType}:${candidate.indices.join(":")}`, {
      zoneName: readText(`${candidate.path}/name`),
    });
  }

  const zones: PowercapZone[] = [];
  for (const candidate of sorted) {
    const id = `${candidate.controlType}:${candidate.indices.join(":")}`;
    const zoneName = byId.get(id)?.zoneName;
    if (zoneName === undefined) {
      notes.push(`${candidate.path}: no readable 'name', skipped`);
      continue;
    }
    const domain = domainOfZoneName(zoneName);
    if (domain === undefined) {
      notes.push(`${candidate.path}: unknown RAPL zone '${zoneName}', skipped`);
      continue;
    }
    const topName = byId.get(`${candidate.controlType}:${candidate.indices[0]}`)?.zoneName ?? "";
    const top = /^package-(\d+)(?:-die-(\d+))?$/.exec(topName.toLowerCase());
    const packageId = domain === "PSYS" ? undefined : top ? Number(top[1]) : candidate.indices[0]!;
    const dieId = domain !== "PSYS" && top?.[2] !== undefined ? Number(top[2]) : undefined;

    const problem = checkReadable(`${candidate.path}/energy_uj`);
    if (problem !== undefined) {
      unusable.push({ path: candidate.path, problem: problem.message, denied: problem.denied });
      continue;
    }
    // A plain decimal integer only: Number() would also take " 1e3", "0x10" or "".
    const rangeText = readText(`${candidate.path}/max_energy_range_uj`)?.replace(/\n$/, "");
    const exactRange = rangeText !== undefined && /^\d+$/.test(rangeText)
      ? BigInt(rangeText)
      : undefined;
    const maxEnergyRangeUj = exactRange === undefined ? Number.NaN : Number(exactRange);
    if (exactRange === undefined || exactRange <= 0n) {
      unusable.push({
        path: candidate.path,
        problem: "max_energy_range_uj is missing or not a positive number",
        denied: false,
      });
      continue;
    }
    const sensor = sensorName(domain, packageId ?? 0, dieId);
    const duplicate = zones.find((zone) =>
      zone.domain === domain && zone.packageId === packageId && zone.dieId === dieId
    );
    if (duplicate !== undefined && duplicate.controlType !== candidate.controlType) {
      notes.push(`${candidate.path}: same domain as ${duplicate.path} (${sensor}), counted once`);
      continue;
    }
    let unique = sensor;
    for (let n = 2; zones.some((zone) => zone.sensor === unique); n++) unique = `${sensor}_${n}`;
    if (unique !== sensor) {
      notes.push(`${candidate.path}: a second ${sensor} zone, reported as ${unique}`);
    }
    zones.push({
      path: candidate.path,
      id: candidate.path.slice(candidate.path.lastIndexOf("/") + 1),
      controlType: candidate.controlType,
      zoneName,
      domain,
      packageId,
      dieId,
      sensor: unique,
      maxEnergyRangeUj,
      ...(exactRange > BigInt(Number.MAX_SAFE_INTEGER) ? { maxEnergyRange: exactRange } : {}),
    });
  }
  return { zones, unusable, notes };
}

/** Tries to open and read `energy_uj`; returns the problem, if any. */
function checkReadable(path: string): { message: string; denied: boolean } | undefined {
  let file: NumericFile | undefined;
  try {
    file = NumericFile.open(path);
    file.readExact();
    return undefined;
  } catch (error) {
    if (error instanceof SyscallError) {
      const denied = error.code === "EACCES" || error.code === "EPERM";
      return { message: `${path} is not readable: ${error.message}`, denied };
    }
    throw error;
  } finally {
    file?.close();
  }
}
