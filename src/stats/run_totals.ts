/**
 * The whole run's figures: energy per domain summed over its phases, and
 * its duration; across iterations, their mean and spread.
 *
 * @module
 */

import { joulesPerUnit } from "../energy_units.ts";
import type { ProfileResult, RunResult } from "../result.ts";
import { describe, type Description } from "./descriptive.ts";
import { readPhaseMetrics } from "../phase/compact_metrics.ts";

/** One energy sensor's total over a run, in its raw unit. */
export interface EnergyTotal {
  /** Sensor name, e.g. `PACKAGE-0`. */
  name: string;
  /** Source name. */
  source: string;
  /** The sensor's unit (µJ, mJ, J). */
  unit: string;
  /** Sum over the run's phases. */
  value: number;
  /** `details.total` of the sensor (`cpu`, `platform`), when it marks a total. */
  total?: string;
  /**
   * `true` when the source marked the sensor's counter as never moving
   * (`details.not_updating`: exposed, not fed, as on many virtual
   * machines): its sum is no measurement.
   */
  notUpdating?: true;
}

/** A run's totals. */
export interface RunTotals {
  /** START to END, ms. */
  durationMs: number;
  /** Energy per sensor, sorted by source then sensor. */
  energy: EnergyTotal[];
}

/** Totals across iterations: each figure's description over the runs. */
export interface TotalsStatistics {
  /** Number of runs. */
  runs: number;
  /** Run duration, ms. */
  durationMs: Description;
  /** Energy per sensor (runs missing the sensor are left out of its figure). */
  energy: (Omit<EnergyTotal, "value"> & { value: Description })[];
}

function key(source: string, name: string): string {
  return `${source}\u0000${name}`;
}

/**
 * Sums a run's energy metrics (units µJ, mJ, J) over its phases. Phases
 * are walked once, in order, whatever holds them.
 *
 * @param run A run.
 * @returns Its duration and energy per sensor.
 *
 * @example Usage
 * ```ts
 * import { runTotals } from "./run_totals.ts";
 * const totals = runTotals({
 *   index: 0, exitCode: 0, signal: null, interrupted: false, startNs: 0n, endNs: 2n,
 *   timestamp: 0, durationMs: 2, phases: [],
 * });
 * console.log(totals.energy.length); // 0
 * ```
 */
export function runTotals(run: RunResult): RunTotals {
  const sums = new Map<string, EnergyTotal>();
  for (const phase of run.phases) {
    for (const metric of readPhaseMetrics(phase)) {
      if (joulesPerUnit(metric.unit) === undefined) continue;
      const id = key(metric.source, metric.name);
      const entry = sums.get(id);
      if (entry !== undefined) {
        entry.value += metric.value;
        if (metric.details?.not_updating === true) entry.notUpdating = true;
        continue;
      }
      const created: EnergyTotal = {
        name: metric.name,
        source: metric.source,
        unit: metric.unit,
        value: metric.value,
      };
      const total = metric.details?.total;
      if (typeof total === "string") created.total = total;
      if (metric.details?.not_updating === true) created.notUpdating = true;
      sums.set(id, created);
    }
  }
  const energy = [...sums.values()].sort((a, b) =>
    a.source === b.source ? (a.name < b.name ? -1 : 1) : a.source < b.source ? -1 : 1
  );
  return { durationMs: run.durationMs, energy };
}

/**
 * Totals of every run of a result, described across the runs (mean, σ,
 * range…). `undefined` without runs.
 *
 * @param result A profile result.
 * @returns The description, or `undefined`.
 *
 * @example Usage
 * ```ts
 * import { totalsStatistics } from "./run_totals.ts";
 * console.log(totalsStatistics({
 *   command: ["true"], tokenPattern: "x", exitCode: 0, durationMs: 0,
 *   interrupted: false, runs: [],
 * })); // undefined
 * ```
 */
export function totalsStatistics(result: ProfileResult): TotalsStatistics | undefined {
  if (result.runs.length === 0) return undefined;
  const perRun = result.runs.map(runTotals);
  const values = new Map<string, { first: EnergyTotal; values: number[] }>();
  for (const totals of perRun) {
    for (const entry of totals.energy) {
      const id = key(entry.source, entry.name);
      const found = values.get(id);
      if (found === undefined) values.set(id, { first: { ...entry }, values: [entry.value] });
      else {
        found.values.push(entry.value);
        // Frozen in any run: its figures across runs are no measurement either.
        if (entry.notUpdating) found.first.notUpdating = true;
      }
    }
  }
  return {
    runs: perRun.length,
    durationMs: describe(perRun.map((totals) => totals.durationMs)),
    energy: [...values.values()].map(({ first, values }) => {
      const { value: _, ...rest } = first;
      return { ...rest, value: describe(values) };
    }),
  };
}
