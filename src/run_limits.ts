/**
 * The limits of a profile's settings, in one small module so the option
 * table can name them without loading the profiler.
 *
 * @module
 */

import { DEFAULT_MAX_PHASES } from "./setting_defaults.ts";

export { DEFAULT_MAX_PHASES };

/** Memory the phases of one run may take until the results are written. */
const PHASE_BUDGET_BYTES = 200 * 1024 * 1024;
/**
 * Measured peak per phase (JSON and CSV): a base and a share per sensor.
 * Past 1,000 phases a run keeps its metrics compactly (numbers in a typed
 * array, `phase/compact_metrics.ts`), so a sensor costs tens of bytes per
 * phase, plus the collector's slack when attribution and the outputs rebuild
 * them (measured: 7 RAPL sensors, 120,000 phases, CSV 348 MiB; process and
 * system, 50,000 phases, CSV 300 MiB; 2 M tokens with process and system, JSON without
 * the runtime flags: 286 MiB at 27,594 phases, 251 to 342 MiB at 23,967 with the machine's
 * load, as the collector's slack varies), and a phase costs more than its metrics.
 */
const BYTES_PER_PHASE = 700;
const BYTES_PER_SENSOR = 450;
/**
 * Peak per sensor per phase for the terminal's full listing (`--all-phases`),
 * which builds the lines of every phase and metric at once (as every metric
 * cost when kept as objects: 2.5 M tokens with two RAPL sockets, process and
 * system peaked at 406 MiB with 8,490 phases, and 896 MiB with 21,620; its
 * summary, the default past 50 phases, took 172 MiB with 11,781).
 */
const BYTES_PER_SENSOR_TERMINAL = 800;
/** Never fewer than this by default, however many sensors (2 RAPL sockets, process, system: 11,781). */
const MIN_DEFAULT_MAX_PHASES = 1_000;

/**
 * The default phase limit for a run with this many sensors: each metric of
 * each phase is kept until the results are written (about 450 bytes at peak),
 * so two RAPL sockets with the process and system sources (38 metrics) allow
 * about 11,800 phases in 300 MB, and two RAPL sockets alone (15) about 28,000.
 *
 * @param sensors Sensors across the sources (metrics per phase).
 * @param options `terminal`: the results are listed phase by phase for the
 *   terminal, which costs more per metric (about 0.8 KB).
 * @returns The limit.
 *
 * @example Usage
 * ```ts
 * import { defaultMaxPhases } from "./run_limits.ts";
 * console.log(defaultMaxPhases(0), defaultMaxPhases(38)); // 150000 11781
 * ```
 */
export function defaultMaxPhases(sensors: number, options: { terminal?: boolean } = {}): number {
  const perSensor = options.terminal ? BYTES_PER_SENSOR_TERMINAL : BYTES_PER_SENSOR;
  const fit = Math.floor(PHASE_BUDGET_BYTES / (BYTES_PER_PHASE + perSensor * sensors));
  return Math.max(MIN_DEFAULT_MAX_PHASES, Math.min(DEFAULT_MAX_PHASES, fit));
}

/** The largest phase limit accepted: past it the boundary arrays alone outgrow memory. */
export const MAX_PHASES_LIMIT = 100_000_000;

/**
 * The largest sample limit accepted (`--max-samples`): a million points of
 * a dozen series already make a JSON document of about 200 MB.
 */
export const MAX_SAMPLES_LIMIT = 1_000_000;

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
