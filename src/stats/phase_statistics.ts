/**
 * Per-phase statistics across the runs of a profile, and the energy above
 * the machine's idle power.
 *
 * @module
 */

import type { Metric } from "../source.ts";
import { joulesPerUnit } from "../energy_units.ts";
import type { PhaseResult, ProfileResult } from "../result.ts";
import { describe, type Description } from "./descriptive.ts";
import { studentTQuantile } from "./student_t.ts";
import { readPhaseMetrics } from "../phase/compact_metrics.ts";

/** The machine at rest, measured before the runs (`--idle`). */
export interface IdleBaseline {
  /** Total length of the measurement, ms. */
  durationMs: number;
  /** Number of windows the power was measured over. */
  windows: number;
  /** Idle power of each energy metric. */
  power: IdlePower[];
}

/** One energy metric's idle power. */
export interface IdlePower {
  /** Sensor name. */
  name: string;
  /** Source name. */
  source: string;
  /** Mean power over the windows, W. */
  meanW: number;
  /** Standard deviation across windows, W. */
  stddevW: number;
  /** Number of windows. */
  n: number;
}

/** Energy above idle over the runs: raw − idle power × duration. */
export interface AboveIdle {
  /** Mean, in the metric's unit. */
  mean: number;
  /**
   * 95 % interval: the runs' own spread (Student's t) combined with the
   * idle power's uncertainty over the phase's mean duration.
   */
  ci95: [number, number];
}

/** Statistics of one metric of one phase. */
export interface MetricStatistics {
  /** Sensor name. */
  name: string;
  /** Unit. */
  unit: string;
  /** Source name. */
  source: string;
  /** The values across runs. */
  value: Description;
  /** Average power across runs (energy metrics), W. */
  averagePowerW?: Description;
  /** Energy above idle (energy metrics, with `--idle`). */
  aboveIdle?: AboveIdle;
}

/** Statistics of one phase across runs (matched by position and name). */
export interface PhaseStatistics {
  /** Position in the run. */
  index: number;
  /** `A -> B`. */
  name: string;
  /** Iteration indices that have this phase. */
  runs: number[];
  /** Duration across runs, ms. */
  durationMs: Description;
  /** Every metric's statistics. */
  metrics: MetricStatistics[];
}

function metricKey(metric: Pick<Metric, "name" | "source">): string {
  return `${metric.source}\u0000${metric.name}`;
}

/**
 * Statistics of every phase across the runs of a result; phases are
 * matched by their position and name (runs whose tokens differ give
 * separate entries).
 *
 * @param result A profile result.
 * @param idle The idle baseline, for energy above idle.
 * @returns One entry per phase, in order of first appearance.
 *
 * @example Usage
 * ```ts
 * import { phaseStatistics } from "./phase_statistics.ts";
 * const result = {
 *   command: ["true"], tokenPattern: "__X__", exitCode: 0, durationMs: 0,
 *   interrupted: false, runs: [],
 * };
 * console.log(phaseStatistics(result)); // []
 * ```
 */
export function phaseStatistics(result: ProfileResult, idle?: IdleBaseline): PhaseStatistics[] {
  const groups = new Map<
    string,
    { index: number; name: string; runs: number[]; phases: PhaseResult[] }
  >();
  for (const run of result.runs) {
    for (const phase of run.phases) {
      const key = `${phase.index}\u0000${phase.name}`;
      let group = groups.get(key);
      if (group === undefined) {
        group = { index: phase.index, name: phase.name, runs: [], phases: [] };
        groups.set(key, group);
      }
      group.runs.push(run.index);
      group.phases.push(phase);
    }
  }
  const idlePower = new Map((idle?.power ?? []).map((power) => [metricKey(power), power]));
  return [...groups.values()].map((group) => {
    const durations = group.phases.map((phase) => phase.durationMs);
    const byMetric = new Map<
      string,
      { metric: Metric; values: number[]; powers: number[]; durations: number[] }
    >();
    for (const phase of group.phases) {
      for (const metric of readPhaseMetrics(phase)) {
        const key = metricKey(metric);
        let entry = byMetric.get(key);
        if (entry === undefined) {
          entry = { metric, values: [], powers: [], durations: [] };
          byMetric.set(key, entry);
        }
        entry.values.push(metric.value);
        entry.durations.push(phase.durationMs);
        if (typeof metric.details?.average_power_w === "number") {
          entry.powers.push(metric.details.average_power_w);
        }
      }
    }
    const metrics = [...byMetric.values()].map(({ metric, values, powers, durations }) => {
      const statistics: MetricStatistics = {
        name: metric.name,
        unit: metric.unit,
        source: metric.source,
        value: describe(values),
      };
      if (powers.length === values.length && powers.length > 0) {
        statistics.averagePowerW = describe(powers);
      }
      const baseline = idlePower.get(metricKey(metric));
      if (baseline !== undefined && joulesPerUnit(metric.unit) !== undefined) {
        statistics.aboveIdle = aboveIdle(values, durations, baseline, metric.unit);
      }
      return statistics;
    });
    return {
      index: group.index,
      name: group.name,
      runs: group.runs,
      durationMs: describe(durations),
      metrics,
    };
  });
}

/**
 * Energy above idle: per run, raw − idle power × duration; its mean with a
 * 95 % interval combining the runs' spread and the idle power's standard
 * error (which shifts every run alike) over the mean duration.
 */
function aboveIdle(
  values: number[],
  durationsMs: number[],
  idle: IdlePower,
  unit: string,
): AboveIdle {
  const perUnit = joulesPerUnit(unit)!;
  const corrected = values.map((value, i) => value - idle.meanW * durationsMs[i]! / 1000 / perUnit);
  const runs = describe(corrected);
  const runsHalf = (runs.ci95[1] - runs.ci95[0]) / 2;
  const meanDurationS = durationsMs.reduce((sum, d) => sum + d, 0) / durationsMs.length / 1000;
  const idleHalf = idle.n > 1
    ? studentTQuantile(0.975, idle.n - 1) * idle.stddevW / Math.sqrt(idle.n) * meanDurationS /
      perUnit
    : 0;
  const half = Math.sqrt(runsHalf ** 2 + idleHalf ** 2);
  return { mean: runs.mean, ci95: [runs.mean - half, runs.mean + half] };
}
