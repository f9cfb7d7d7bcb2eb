/**
 * Grams of CO₂-equivalent from energy: energy (kWh) × the grid's carbon
 * intensity (gCO₂e/kWh) × the data centre's PUE. The intensity is a figure
 * the user gives; nothing is looked up over the network.
 *
 * Carbon figures are added to a result after the run as metrics of their
 * own (unit `gCO2e`), so every output format, the statistics and `compare`
 * carry them like any metric. Each keeps the method label (`measured`,
 * `attributed`, `estimated`) of the energy it was computed from.
 *
 * @module
 */

import { energyJoules } from "../energy_units.ts";
import type { PhaseResult, ProfileResult } from "../result.ts";
import type { Metric } from "../source.ts";

/** Joules in one kilowatt-hour. */
const JOULES_PER_KWH = 3_600_000;

/** Unit of every carbon metric. */
export const CARBON_UNIT = "gCO2e";

/** Source name of the per-phase carbon totals. */
export const CARBON_SOURCE = "carbon";

/** What the conversion needs. */
export interface CarbonSettings {
  /** Grid carbon intensity, grams of CO₂e per kWh (> 0). */
  intensityGPerKwh: number;
  /** Power usage effectiveness of the facility (≥ 1; default 1). */
  pue?: number;
}

/**
 * Grams of CO₂e for an energy in joules.
 *
 * @param joules Energy, J.
 * @param settings Intensity and PUE.
 * @returns Grams of CO₂e.
 *
 * @example One kWh at 400 g/kWh in a facility with PUE 1.5
 * ```ts
 * import { carbonGrams } from "./carbon.ts";
 * console.log(carbonGrams(3_600_000, { intensityGPerKwh: 400, pue: 1.5 })); // 600
 * ```
 */
export function carbonGrams(joules: number, settings: CarbonSettings): number {
  return joules / JOULES_PER_KWH * settings.intensityGPerKwh * (settings.pue ?? 1);
}

/**
 * The method label of an energy value (unlabelled values come from counters).
 *
 * @param metric An energy metric.
 * @returns `measured`, `attributed` or `estimated`.
 *
 * @example Usage
 * ```ts
 * import { energyMethod } from "./carbon.ts";
 * console.log(energyMethod({ name: "GPU-0", value: 1, unit: "J", source: "NVML" })); // measured
 * ```
 */
export function energyMethod(metric: Metric): string {
  const method = metric.details?.method;
  return typeof method === "string" ? method : "measured";
}

/**
 * The energies of a phase that add up to the whole without counting any
 * joule twice, per method label: a platform total (PSYS) when there is one,
 * else the CPU total plus DRAM, plus every other source's energies (GPUs).
 * RAPL's nested domains (package ⊇ core, uncore) are never summed.
 *
 * @param metrics A phase's metrics.
 * @returns Energy metrics grouped by method label.
 *
 * @example Usage
 * ```ts
 * import { additiveEnergies } from "./carbon.ts";
 * const groups = additiveEnergies([
 *   { name: "PACKAGE-0", value: 5, unit: "J", source: "RAPL (Powercap)", details: { total: "cpu" } },
 *   { name: "CORE-0", value: 3, unit: "J", source: "RAPL (Powercap)" },
 *   { name: "GPU-0", value: 7, unit: "J", source: "NVML" },
 * ]);
 * console.log(groups.get("measured")!.map((m) => m.name)); // ["PACKAGE-0", "GPU-0"]
 * ```
 */
export function additiveEnergies(metrics: readonly Metric[]): Map<string, Metric[]> {
  const byMethod = new Map<string, Metric[]>();
  for (const metric of metrics) {
    if (energyJoules(metric) === undefined || metric.unit === CARBON_UNIT) continue;
    const method = energyMethod(metric);
    const list = byMethod.get(method);
    if (list) list.push(metric);
    else byMethod.set(method, [metric]);
  }
  const chosen = new Map<string, Metric[]>();
  for (const [method, energies] of byMethod) {
    const bySource = new Map<string, Metric[]>();
    for (const metric of energies) {
      const list = bySource.get(metric.source);
      if (list) list.push(metric);
      else bySource.set(metric.source, [metric]);
    }
    const picked: Metric[] = [];
    for (const group of bySource.values()) {
      const platform = group.filter((metric) => metric.details?.total === "platform");
      const cpu = group.filter((metric) => metric.details?.total === "cpu");
      if (platform.length > 0) picked.push(...platform);
      else if (cpu.length > 0) {
        picked.push(...cpu, ...group.filter((metric) => /^DRAM/.test(metric.name)));
      } else if (group.some((metric) => /^(PACKAGE|CORE|UNCORE|PSYS|DRAM)/.test(metric.name))) {
        // RAPL without marks: packages and DRAM are disjoint; cores and uncore lie inside packages.
        picked.push(...group.filter((metric) => /^(PACKAGE|DRAM)/.test(metric.name)));
      } else {
        picked.push(...group);
      }
    }
    if (picked.length > 0) chosen.set(method, picked);
  }
  return chosen;
}

function carbonMetricsOf(phase: PhaseResult, settings: CarbonSettings): Metric[] {
  const details = (method: string) => ({
    method,
    intensity_g_per_kwh: settings.intensityGPerKwh,
    pue: settings.pue ?? 1,
  });
  const added: Metric[] = [];
  for (const metric of phase.metrics) {
    const joules = energyJoules(metric);
    if (joules === undefined) continue;
    added.push({
      name: `${metric.name}_CO2E`,
      value: carbonGrams(joules, settings),
      unit: CARBON_UNIT,
      source: metric.source,
      details: { ...details(energyMethod(metric)), of: metric.name },
    });
  }
  for (const [method, energies] of additiveEnergies(phase.metrics)) {
    const joules = energies.reduce((sum, metric) => sum + energyJoules(metric)!, 0);
    added.push({
      name: method === "measured" ? "TOTAL_CO2E" : `TOTAL_CO2E_${method.toUpperCase()}`,
      value: carbonGrams(joules, settings),
      unit: CARBON_UNIT,
      source: CARBON_SOURCE,
      details: { ...details(method), of: energies.map((metric) => metric.name).join("+") },
    });
  }
  return added;
}

/**
 * Adds carbon metrics to every phase of a result: `<NAME>_CO2E` beside each
 * energy metric (same source), and per phase `TOTAL_CO2E` (source
 * `carbon`) over the energies that do not overlap (see
 * {@linkcode additiveEnergies}); an attributed or estimated total is named
 * `TOTAL_CO2E_ATTRIBUTED` / `TOTAL_CO2E_ESTIMATED`.
 *
 * @param result A profile result; its phases are extended in place.
 * @param settings Intensity and PUE.
 * @returns The same result.
 *
 * @example Usage
 * ```ts
 * import { addCarbon } from "./carbon.ts";
 * const phase = {
 *   index: 0, name: "START -> END", startToken: "START", endToken: "END",
 *   startNs: 0n, endNs: 1_000_000_000n, timestamp: 0, durationMs: 1000, failures: [],
 *   metrics: [{ name: "GPU-0", value: 3_600_000, unit: "J", source: "NVML" }],
 * };
 * const run = {
 *   index: 0, exitCode: 0, signal: null, interrupted: false, startNs: 0n,
 *   endNs: 1_000_000_000n, timestamp: 0, durationMs: 1000, phases: [phase],
 * };
 * addCarbon({
 *   command: ["x"], tokenPattern: "", exitCode: 0, durationMs: 1000, interrupted: false,
 *   runs: [run],
 * }, { intensityGPerKwh: 100 });
 * console.log(phase.metrics.map((m) => `${m.name} ${m.value}`));
 * // ["GPU-0 3600000", "GPU-0_CO2E 100", "TOTAL_CO2E 100"]
 * ```
 */
export function addCarbon(result: ProfileResult, settings: CarbonSettings): ProfileResult {
  for (const run of result.runs) {
    for (const phase of run.phases) {
      const added = carbonMetricsOf(phase, settings);
      // Phases without metrics share one frozen empty list: give them their own.
      if (added.length > 0) phase.metrics = [...phase.metrics, ...added];
    }
  }
  result.carbon = { intensityGPerKwh: settings.intensityGPerKwh, pue: settings.pue ?? 1 };
  return result;
}
