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
import { sharedReadingMessage, tokenBurstMessage } from "./token_burst.ts";
import { readPhaseMetrics } from "../phase/compact_metrics.ts";

/** Fewer runs make the median absolute deviation itself too uncertain to accuse one. */
const MIN_RUNS_FOR_OUTLIERS = 5;
/** RAPL counters update about every millisecond. */
const DEFAULT_UPDATE_MS = 1;
/** Short phases named in a warning; the rest are counted. */
const NAMED_SHORT_PHASES = 3;

/** Phases shorter than a source's update interval, per source. */
interface ShortPhases {
  interval: number;
  count: number;
  examples: string[];
  lastIndex: number;
}

/**
 * Phases (matched by position across runs) whose mean duration is below an
 * energy counter's update interval: `details.counter_update_ms`, else
 * RAPL's ~1 ms. Interpolated counters (NVML) are estimated between steps,
 * not quantised, and are left out. One pass, no per-phase allocation: a
 * run may have 100,000 phases.
 */
function shortPhases(result: ProfileResult): Map<string, ShortPhases> {
  const bySource = new Map<string, ShortPhases>();
  const first = result.runs[0];
  if (first === undefined) return bySource;
  for (let index = 0; index < first.phases.length; index++) {
    const phase = first.phases[index]!;
    let total = 0;
    let runs = 0;
    for (const run of result.runs) {
      const same = run.phases[index];
      if (same === undefined || same.name !== phase.name) continue;
      total += same.durationMs;
      runs++;
    }
    const meanMs = total / runs;
    for (const metric of readPhaseMetrics(phase)) {
      if (joulesPerUnit(metric.unit) === undefined || metric.details?.interpolated) continue;
      const update = metric.details?.counter_update_ms;
      const interval = typeof update === "number" && update > 0 ? update : DEFAULT_UPDATE_MS;
      if (meanMs >= interval) continue;
      let entry = bySource.get(metric.source);
      if (entry === undefined) {
        entry = { interval, count: 0, examples: [], lastIndex: -1 };
        bySource.set(metric.source, entry);
      }
      // A phase counts once per source, whatever its number of metrics.
      if (entry.lastIndex === index) continue;
      entry.lastIndex = index;
      entry.count++;
      entry.interval = Math.max(entry.interval, interval);
      if (entry.examples.length < NAMED_SHORT_PHASES) {
        entry.examples.push(`${phase.name} (${meanMs.toFixed(3)} ms)`);
      }
    }
  }
  return bySource;
}

/**
 * What is questionable in a result.
 *
 * - Tokens that all arrived in one burst at the program's exit
 *   (block-buffered stdout): the phase times are wrong.
 * - Otherwise, phases whose two tokens arrived in one read (zero length).
 * - Phases whose mean duration is below an energy counter's update
 *   interval: their energy is mostly quantisation (one message per source,
 *   naming a few of them).
 * - With five runs or more, runs whose duration or energy is an outlier by
 *   the median absolute deviation (as hyperfine warns), one message per
 *   phase.
 *
 * @param result A profile result.
 * @returns Messages.
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
  const burst = tokenBurstMessage(result.runs);
  if (burst !== undefined) messages.push(`${label}${burst}`);
  // A burst at exit explains its zero-length phases already.
  const shared = burst === undefined ? sharedReadingMessage(result.runs) : undefined;
  if (shared !== undefined) messages.push(`${label}${shared}`);
  for (const [source, short] of shortPhases(result)) {
    const which = short.count === 1
      ? `phase ${short.examples[0]} lasts`
      : `${short.count} phases (e.g. ${short.examples.join(", ")}) last`;
    messages.push(
      `${label}${which} less than the ~${short.interval} ms update interval of ${source}` +
        `${result.runs.length > 1 ? " on average" : ""}: their energy is mostly counter ` +
        `quantisation (lengthen the phases, or repeat the work inside them)`,
    );
  }
  if (result.runs.length < MIN_RUNS_FOR_OUTLIERS) return messages;
  for (const phase of phaseStatistics(result)) {
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
