/**
 * The limits of a profile's settings, in one small module so the option
 * table can name them without loading the profiler.
 *
 * @module
 */

/**
 * Phases measured per run unless `maxPhases` says otherwise, with no
 * sensor (see {@linkcode defaultMaxPhases} for fewer with sensors): until
 * the results are written each phase is kept in memory, so this keeps the
 * profiler under 300 MB in JSON and CSV however many tokens a program
 * prints (figures in docs/PERFORMANCE.md); raise it for programs with more
 * phases.
 */
export const DEFAULT_MAX_PHASES = 150_000;

/** Memory the phases of one run may take until the results are written. */
const PHASE_BUDGET_BYTES = 200 * 1024 * 1024;
/** Measured peak per phase (CSV, the costlier format): a base and a share per sensor. */
const BYTES_PER_PHASE = 700;
const BYTES_PER_SENSOR = 800;
/** Never fewer than this by default, however many sensors (2 RAPL sockets, process, system: 8,490). */
const MIN_DEFAULT_MAX_PHASES = 1_000;

/**
 * The default phase limit for a run with this many sensors: each metric of
 * each phase is kept until the results are written (about 0.8 KB at peak in CSV),
 * so two RAPL sockets (7 sensors) allow about 33,000 phases in 300 MB.
 *
 * @param sensors Sensors across the sources (metrics per phase).
 * @returns The limit.
 *
 * @example Usage
 * ```ts
 * import { defaultMaxPhases } from "./run_limits.ts";
 * console.log(defaultMaxPhases(0), defaultMaxPhases(7)); // 150000 33288
 * ```
 */
export function defaultMaxPhases(sensors: number): number {
  const fit = Math.floor(PHASE_BUDGET_BYTES / (BYTES_PER_PHASE + BYTES_PER_SENSOR * sensors));
  return Math.max(MIN_DEFAULT_MAX_PHASES, Math.min(DEFAULT_MAX_PHASES, fit));
}

/** The largest phase limit accepted: past it the boundary arrays alone outgrow memory. */
export const MAX_PHASES_LIMIT = 100_000_000;

/**
 * The largest values the run settings accept: beyond them a value is a
 * typo (a week of runs, an hour of idle), not a plan.
 */
export const RUN_SETTING_LIMITS = {
  /** `iterations`, `minRuns`, `warmup`. */
  maxRuns: 1_000_000,
  /** `minTimeSeconds`: 7 days. */
  maxMinTimeSeconds: 604_800,
  /** `idleSeconds`: 1 hour. */
  maxIdleSeconds: 3_600,
  /** `sampleIntervalMs`: 1 hour. */
  maxSampleIntervalMs: 3_600_000,
} as const;
