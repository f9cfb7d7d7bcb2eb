/**
 * RAPL domains: the names the kernel uses, the sensor names we report, and
 * which figure is a total (domains overlap: psys ⊇ package ⊇ core, uncore).
 *
 * @module
 */

/** The RAPL domains we report. */
export type RaplDomain = "PACKAGE" | "CORE" | "UNCORE" | "DRAM" | "PSYS";

/** The unit of every RAPL metric. */
export const RAPL_UNIT = "µJ";

/** Source name of the powercap backend. */
export const POWERCAP_SOURCE_NAME = "RAPL (Powercap)";
/** Source name of the perf_event backend. */
export const PERF_RAPL_SOURCE_NAME = "RAPL (perf_event)";

/**
 * Maps a powercap zone `name` (`package-0`, `core`, `pp0`, `uncore`,
 * `pp1`, `dram`, `ram`, `psys`, `platform`, ...) to its domain.
 *
 * @param zoneName The content of the zone's `name` file.
 * @returns The domain, or `undefined` for names we do not know.
 *
 * @example Usage
 * ```ts
 * import { domainOfZoneName } from "./rapl_domain.ts";
 * console.log(domainOfZoneName("package-1"), domainOfZoneName("pp0")); // "PACKAGE" "CORE"
 * ```
 */
export function domainOfZoneName(zoneName: string): RaplDomain | undefined {
  const name = zoneName.trim().toLowerCase();
  if (/^package(-\d+)?(-die-\d+)?$/.test(name)) return "PACKAGE";
  if (name === "core" || name === "cores" || name === "pp0") return "CORE";
  if (name === "uncore" || name === "pp1" || name === "gpu") return "UNCORE";
  if (name === "dram" || name === "ram") return "DRAM";
  if (name === "psys" || name === "platform") return "PSYS";
  return undefined;
}

/**
 * Maps a perf `power` PMU event name (`energy-pkg`, `energy-cores`,
 * `energy-gpu`, `energy-ram`, `energy-psys`) to its domain.
 *
 * @param eventName The event's file name under `events/`.
 * @returns The domain, or `undefined` for others.
 *
 * @example Usage
 * ```ts
 * import { domainOfPerfEvent } from "./rapl_domain.ts";
 * console.log(domainOfPerfEvent("energy-ram")); // "DRAM"
 * ```
 */
export function domainOfPerfEvent(eventName: string): RaplDomain | undefined {
  switch (eventName) {
    case "energy-pkg":
      return "PACKAGE";
    case "energy-cores":
      return "CORE";
    case "energy-gpu":
      return "UNCORE";
    case "energy-ram":
      return "DRAM";
    case "energy-psys":
      return "PSYS";
    default:
      return undefined;
  }
}

/**
 * The reported name of a domain: `PACKAGE-0`, `DRAM-1`, `PSYS`; with a die
 * index on multi-die packages, `PACKAGE-0-DIE-1`.
 *
 * @param domain The domain.
 * @param packageId The package (socket) id; ignored for PSYS.
 * @param dieId The die within the package, when the kernel reports one.
 * @returns The sensor name.
 *
 * @example Usage
 * ```ts
 * import { sensorName } from "./rapl_domain.ts";
 * console.log(sensorName("CORE", 1)); // "CORE-1"
 * ```
 */
export function sensorName(domain: RaplDomain, packageId: number, dieId?: number): string {
  if (domain === "PSYS") return "PSYS";
  return dieId === undefined ? `${domain}-${packageId}` : `${domain}-${packageId}-DIE-${dieId}`;
}

/** One measured domain's energy for a phase, before the total is marked. */
export interface DomainEnergy {
  /** Sensor name. */
  name: string;
  /** Domain. */
  domain: RaplDomain;
  /** Energy in µJ. */
  microjoules: number;
}

/**
 * A RAPL metric's extra facts: `domain` (lower case), `total` (`"cpu"` on
 * the one whole-CPU figure, `"platform"` on PSYS) and `derived` (`true` on
 * a figure computed from others: the sum of several packages).
 */
export type RaplMetricDetails = Record<string, string | number | boolean>;

/** Name of the sum of several packages, reported when there is more than one. */
export const PACKAGE_TOTAL_NAME = "PACKAGE-TOTAL";

/**
 * Adds the "which figure is the total" marks to a phase's domain energies.
 * Domains overlap, so they must never be added up; instead exactly one
 * figure is marked as the whole-CPU total (the package, or the sum of the
 * packages on multi-socket machines, which do not overlap), and PSYS, when
 * present, as the whole-platform total.
 *
 * @param energies The phase's domain energies.
 * @returns The energies with details, plus `PACKAGE-TOTAL` when there are
 * several packages.
 *
 * @example Usage
 * ```ts
 * import { markTotals } from "./rapl_domain.ts";
 * const marked = markTotals([{ name: "PACKAGE-0", domain: "PACKAGE", microjoules: 5 }]);
 * console.log(marked[0]!.details.total); // "cpu"
 * ```
 */
export function markTotals(
  energies: readonly DomainEnergy[],
): { name: string; microjoules: number; details: RaplMetricDetails }[] {
  const packages = energies.filter((energy) => energy.domain === "PACKAGE");
  const marked = energies.map((energy) => {
    const details: RaplMetricDetails = { domain: energy.domain.toLowerCase() };
    if (energy.domain === "PSYS") details.total = "platform";
    if (energy.domain === "PACKAGE" && packages.length === 1) details.total = "cpu";
    return { name: energy.name, microjoules: energy.microjoules, details };
  });
  if (packages.length > 1) {
    marked.push({
      name: PACKAGE_TOTAL_NAME,
      microjoules: packages.reduce((sum, energy) => sum + energy.microjoules, 0),
      details: { domain: "package", total: "cpu", derived: true },
    });
  }
  return marked;
}
