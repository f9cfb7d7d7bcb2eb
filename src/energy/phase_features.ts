/**
 * What an energy model reads from a phase: its features (metrics of the
 * process, system and perf sources, and its duration) and its measured
 * energies.
 *
 * @module
 */

import { joulesPerUnit } from "../energy_units.ts";
import type { PhaseResult } from "../result.ts";
import type { Metric } from "../source.ts";
import { DURATION_FEATURE, featureKey, type ModelFeature } from "./energy_model.ts";

/**
 * Metric names a fit considers by default, in the order they are tried:
 * cumulative quantities (times, counts, bytes) whose energy cost adds up
 * over a phase. Peaks and percentages are left out: energy does not grow
 * with them. `CPU_USER_TIME`/`CPU_SYSTEM_TIME` are left out because they
 * add up to `CPU_TIME` (collinear).
 */
export const DEFAULT_FEATURE_NAMES: readonly string[] = [
  "CPU_TIME",
  // perf_event (--perf): TASK_CLOCK is the tree's CPU time when the process source is off
  "TASK_CLOCK",
  "INSTRUCTIONS",
  "CACHE_MISSES",
  "PAGE_FAULTS_MINOR",
  "DISK_WRITE_BYTES",
  "DISK_READ_BYTES",
  // system source (machine-wide)
  "SYSTEM_CPU_BUSY_TIME",
  "CONTEXT_SWITCHES_VOLUNTARY",
  "CONTEXT_SWITCHES_INVOLUNTARY",
  "WRITE_CHARS",
  "READ_CHARS",
  "NET_RX_BYTES",
  "NET_TX_BYTES",
  "PAGE_FAULTS_MAJOR",
  "CPU_CYCLES",
];

/** Methods of energy values that are not measurements. */
const NOT_MEASURED = new Set(["attributed", "estimated"]);

/**
 * Whether a metric is an energy that was measured (not attributed, not
 * estimated, not from a counter that never moved).
 *
 * @param metric A metric.
 * @returns `true` for measured energy.
 *
 * @example Usage
 * ```ts
 * import { isMeasuredEnergy } from "./phase_features.ts";
 * console.log(isMeasuredEnergy({ name: "PSYS", value: 1, unit: "µJ", source: "RAPL" })); // true
 * ```
 */
export function isMeasuredEnergy(metric: Metric): boolean {
  if (joulesPerUnit(metric.unit) === undefined) return false;
  // A counter the source found frozen for the whole run (a VM exposing RAPL) measured nothing.
  if (metric.details?.not_updating === true) return false;
  return !NOT_MEASURED.has(String(metric.details?.method));
}

/**
 * Whether a metric can be a model feature: not an energy.
 *
 * @param metric A metric.
 * @returns `true` for non-energy metrics.
 */
export function isFeatureMetric(metric: Metric): boolean {
  return joulesPerUnit(metric.unit) === undefined;
}

/**
 * A phase's metrics by feature key (`source/NAME`), plus `DURATION` in s.
 *
 * @param phase A phase.
 * @returns Feature values, in the metrics' own units.
 *
 * @example Usage
 * ```ts
 * import { phaseFeatureValues } from "./phase_features.ts";
 * const values = phaseFeatureValues({
 *   index: 0, name: "START -> END", startToken: "START", endToken: "END",
 *   startNs: 0n, endNs: 2_000_000_000n, timestamp: 0, durationMs: 2000, failures: [],
 *   metrics: [{ name: "CPU_TIME", value: 1e9, unit: "ns", source: "process" }],
 * });
 * console.log(values.get("DURATION"), values.get("process/CPU_TIME")); // 2 1000000000
 * ```
 */
export function phaseFeatureValues(phase: PhaseResult): Map<string, number> {
  const values = new Map<string, number>([[DURATION_FEATURE.name, phase.durationMs / 1e3]]);
  for (const metric of phase.metrics) {
    if (isFeatureMetric(metric)) values.set(featureKey(metricFeature(metric)), metric.value);
  }
  return values;
}

/**
 * The feature a metric stands for.
 *
 * @param metric A non-energy metric.
 * @returns Its feature.
 */
export function metricFeature(metric: Metric): ModelFeature {
  return { name: metric.name, source: metric.source, unit: metric.unit };
}
