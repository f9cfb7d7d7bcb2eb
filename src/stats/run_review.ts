/**
 * Warnings about results that should not be trusted as they are: outlier
 * runs and phases shorter than their energy counter's update interval.
 *
 * @module
 */

import { joulesPerUnit } from "../energy_units.ts";
import type { Logger } from "../logger.ts";
import type { ProfileResult } from "../result.ts";
import { phaseStatistics } from "./phase_statistics.ts";

/** Fewer runs make the median absolute deviation itself too uncertain to accuse one. */
const MIN_RUNS_FOR_OUTLIERS = 5;
/** RAPL counters update about every millisecond. */
const DEFAULT_UPDATE_MS = 1;

/**
 * What is questionable in a result, one message per phase and problem.
 *
 * - Phases whose mean duration is below an energy counter's update
 *   interval (`details.counter_update_ms`, else RAPL's ~1 ms): their energy
 *   is mostly quantisation.
 * - With five runs or more, runs whose duration or energy is an outlier by
 *   the median absolute deviation (as hyperfine warns).
 *
 * @param result A profile result.
 * @returns Messages, in phase order.
 *
 * @example Usage
 * ```ts
 * import { reviewMessages } from "./run_review.ts";
 * console.log(reviewMessages({
 *   command: ["true"], tokenPattern: "__X__", exitCode: 0, durationMs: 0,
 *   interrupted: false, runs: [],
 * })); // []
 * ```
 */
export function reviewMessages(result: ProfileResult): string[] {
  const messages: string[] = [];
  const label = result.name === undefined ? "" : `${result.name}: `;
  for (const phase of phaseStatistics(result)) {
    const intervals = new Map<string, number>();
    for (const run of result.runs) {
      for (const metric of run.phases[phase.index]?.metrics ?? []) {
        // Interpolated counters (NVML) are estimated between steps, not quantised.
        if (joulesPerUnit(metric.unit) === undefined || metric.details?.interpolated) continue;
        const update = metric.details?.counter_update_ms;
        const ms = typeof update === "number" && update > 0 ? update : DEFAULT_UPDATE_MS;
        intervals.set(metric.source, Math.max(intervals.get(metric.source) ?? 0, ms));
      }
    }
    for (const [source, interval] of intervals) {
      if (phase.durationMs.mean >= interval) continue;
      messages.push(
        `${label}phase ${phase.name} lasts ${phase.durationMs.mean.toFixed(3)} ms on average, ` +
          `shorter than the ~${interval} ms update interval of ${source}: its energy is mostly ` +
          `counter quantisation (lengthen the phase, or repeat the work inside it)`,
      );
    }
    if (phase.runs.length < MIN_RUNS_FOR_OUTLIERS) continue;
    const outliers = new Map<number, string[]>();
    const mark = (indices: number[], what: string) => {
      for (const index of indices) {
        const run = phase.runs[index]!;
        outliers.set(run, [...(outliers.get(run) ?? []), what]);
      }
    };
    mark(phase.durationMs.outliers, "duration");
    for (const metric of phase.metrics) {
      if (joulesPerUnit(metric.unit) !== undefined) mark(metric.value.outliers, metric.name);
    }
    if (outliers.size === 0) continue;
    const runs = [...outliers].sort(([a], [b]) => a - b)
      .map(([run, what]) => `run ${run + 1} (${what.join(", ")})`);
    messages.push(
      `${label}phase ${phase.name}: outliers by median absolute deviation: ${runs.join("; ")}. ` +
        `Background load or a cold start may have disturbed them; consider --warmup, ` +
        `more runs, or a quieter machine`,
    );
  }
  return messages;
}

/**
 * Logs {@linkcode reviewMessages} as warnings.
 *
 * @param result A profile result.
 * @param logger Where warnings go.
 *
 * @example Usage
 * ```ts
 * import { reviewRuns } from "./run_review.ts";
 * import { Logger } from "../logger.ts";
 * reviewRuns({
 *   command: ["true"], tokenPattern: "__X__", exitCode: 0, durationMs: 0,
 *   interrupted: false, runs: [],
 * }, new Logger());
 * ```
 */
export function reviewRuns(result: ProfileResult, logger: Logger): void {
  for (const message of reviewMessages(result)) logger.warn(message);
}
